package canvas

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
)

// TestErrorMessage covers every error body shape of providers.md §1.13.
func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name, body, msg, status string
	}{
		{"message (create validation)", `{"message":"Invalid type, Invalid role"}`, "Invalid type, Invalid role", ""},
		{"error (accept/reject/reactivate)", `{"error":"enrollment not inactive"}`, "enrollment not inactive", ""},
		{"errors array of message (401)", `{"status":"unauthenticated","errors":[{"message":"user authorization required"}]}`, "user authorization required", "unauthenticated"},
		{"errors array, two", `{"errors":[{"message":"a"},{"message":"b"}]}`, "a; b", ""},
		{"errors string (bulk enrollment)", `{"errors":"Too many users to enroll at once."}`, "Too many users to enroll at once.", ""},
		{"errors object (model errors)", `{"errors":{"user_id":[{"message":"is invalid"}],"type":["must be set"]}}`, "type: must be set; user_id: is invalid", ""},
		{"500 with error report", `{"errors":[{"message":"An error occurred.","error_code":"internal_server_error"}],"error_report_id":7}`, "An error occurred.", ""},
		{"plain text throttle", "403 Forbidden (Rate Limit Exceeded)\n", "403 Forbidden (Rate Limit Exceeded)", ""},
		{"HTML page", "<html><body>Bad gateway</body></html>", "", ""},
		{"empty", "", "", ""},
		{"unauthorized status", `{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}`, "user not authorized to perform that action", "unauthorized"},
	}
	for _, tt := range tests {
		msg, status := errorMessage([]byte(tt.body))
		if msg != tt.msg || status != tt.status {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", tt.name, msg, status, tt.msg, tt.status)
		}
	}
}

// TestStatusErrorKinds classifies answers as providers.md §1.12-§1.13 list.
func TestStatusErrorKinds(t *testing.T) {
	c := newTestConnector(t, "http://canvas.test", nil)
	tests := []struct {
		status int
		body   string
		want   provider.Kind
	}{
		{401, `{"errors":[{"message":"Invalid access token."}]}`, provider.KindAuthentication},
		{401, `{"status":"unauthenticated","errors":[{"message":"user authorization required"}]}`, provider.KindAuthentication},
		{401, `{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}`, provider.KindPermission},
		{401, `{"errors":[{"message":"Insufficient scopes on access token."}]}`, provider.KindPermission},
		{403, `{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}`, provider.KindPermission},
		{403, "403 Forbidden (Rate Limit Exceeded)\n", provider.KindThrottled},
		{429, "429 Too Many Requests (Rate Limit Exceeded)\n", provider.KindThrottled},
		{404, `{"errors":[{"message":"The specified resource does not exist."}]}`, provider.KindNotFound},
		{400, `{"message":"Can't add an enrollment to a concluded course."}`, provider.KindInvalidRequest},
		{422, `{"errors":[{"message":"nope"}]}`, provider.KindInvalidRequest},
		{500, `{"errors":[{"message":"An error occurred."}]}`, provider.KindUnavailable},
		{302, ``, provider.KindUpstream},
	}
	for _, tt := range tests {
		e := c.statusError("GET", "http://canvas.test/api/v1/x?access_token=secret", &httpx.Response{Status: tt.status, Body: []byte(tt.body), Header: http.Header{}})
		if e.Kind != tt.want {
			t.Errorf("%d %s: kind %s, want %s", tt.status, tt.body, e.Kind, tt.want)
		}
		if strings.Contains(e.Error(), "secret") {
			t.Errorf("error leaks the token: %v", e)
		}
		if e.Message == "" {
			t.Errorf("%d: empty message", tt.status)
		}
	}
}

// TestNextLink parses RFC 5988 Link headers (providers.md §1.11): the next URL
// is taken verbatim, bookmarks are opaque, rels may be missing or combined.
func TestNextLink(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"canvas shape",
			[]string{`<https://c.test/api/v1/courses/1/enrollments?page=bookmark:WyJTdHVkZW50IiwxXQ&per_page=10>; rel="current",<https://c.test/api/v1/courses/1/enrollments?page=bookmark:WyJTdHVkZW50IiwyXQ&per_page=10>; rel="next",<https://c.test/api/v1/courses/1/enrollments?page=first&per_page=10>; rel="first"`},
			"https://c.test/api/v1/courses/1/enrollments?page=bookmark:WyJTdHVkZW50IiwyXQ&per_page=10"},
		{"no next (last page)", []string{`<https://c.test/a?page=1>; rel="current", <https://c.test/a?page=1>; rel="first"`}, ""},
		{"comma inside the URL", []string{`<https://c.test/a?page=x,y&per_page=2>; rel="next"`}, "https://c.test/a?page=x,y&per_page=2"},
		{"unquoted rel and several headers", []string{`<https://c.test/a?page=1>; rel=first`, `<https://c.test/a?page=2>; rel=next`}, "https://c.test/a?page=2"},
		{"combined rels", []string{`<https://c.test/a?page=2>; rel="next last"`}, "https://c.test/a?page=2"},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, v := range tt.header {
			h.Add("Link", v)
		}
		if got := nextLink(h); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNewValidatesSettings(t *testing.T) {
	good := map[string]string{SettingBaseURL: "https://canvas.test"}
	secrets := map[string]string{SettingToken: "t"}
	tests := []struct {
		name     string
		settings map[string]string
		secrets  map[string]string
		field    string
	}{
		{"no base_url", map[string]string{}, secrets, SettingBaseURL},
		{"relative base_url", map[string]string{SettingBaseURL: "canvas.test"}, secrets, SettingBaseURL},
		{"no token", good, map[string]string{}, SettingToken},
		{"token as a setting", map[string]string{SettingBaseURL: "https://canvas.test", SettingToken: "t"}, map[string]string{}, SettingToken},
		{"per_page too big", map[string]string{SettingBaseURL: "https://canvas.test", SettingPerPage: "500"}, secrets, SettingPerPage},
		{"per_page not a number", map[string]string{SettingBaseURL: "https://canvas.test", SettingPerPage: "ten"}, secrets, SettingPerPage},
		{"unknown enrollment type", map[string]string{SettingBaseURL: "https://canvas.test", SettingEnrollmentTypes: "StudentEnrollment,Janitor"}, secrets, SettingEnrollmentTypes},
		{"bad enroll_state", map[string]string{SettingBaseURL: "https://canvas.test", SettingEnrollState: "deleted"}, secrets, SettingEnrollState},
		{"account with a slash", map[string]string{SettingBaseURL: "https://canvas.test", SettingAccountID: "1/../2"}, secrets, SettingAccountID},
	}
	for _, tt := range tests {
		_, err := New(provider.Config{Settings: tt.settings, Secrets: tt.secrets})
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: got %v, want an error naming %s", tt.name, err, tt.field)
		}
	}
	if _, err := New(provider.Config{Settings: good, Secrets: secrets}); err != nil {
		t.Errorf("minimal settings refused: %v", err)
	}
}

// newTestConnector builds a connector against url with fast retries.
func newTestConnector(t *testing.T, url string, settings map[string]string) *Connector {
	t.Helper()
	s := map[string]string{SettingBaseURL: url}
	for k, v := range settings {
		s[k] = v
	}
	c, err := New(provider.Config{Settings: s, Secrets: map[string]string{SettingToken: "good-token"},
		HTTP: httpx.Options{BaseBackoff: 1, MaxBackoff: 1, MaxAttempts: 4}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConnectionTestSaysWhatFailed: each failure of the connection test
// names the cause a person must fix.
func TestConnectionTestSaysWhatFailed(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    provider.Kind
		says    string
	}{
		{"token refused", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"errors":[{"message":"Invalid access token."}]}`))
		}, provider.KindAuthentication, "token refused by Canvas at http://"},
		{"no permission on the account", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}`))
		}, provider.KindPermission, "token lacks permission to list courses of account self"},
		{"no permission on the roster", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/courses") {
				_, _ = w.Write([]byte(`[{"id":"5","name":"Safety"}]`))
				return
			}
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}`))
		}, provider.KindPermission, "token lacks permission to list enrollments of course 5"},
		{"not Canvas", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
		}, provider.KindNotFound, "check base_url and account_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			err := newTestConnector(t, srv.URL, nil).ConnectionTest(context.Background())
			if !provider.IsKind(err, tt.kind) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, want %s saying %q", err, tt.kind, tt.says)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		c, err := New(provider.Config{Settings: map[string]string{SettingBaseURL: u}, Secrets: map[string]string{SettingToken: "x"},
			HTTP: httpx.Options{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		err = c.ConnectionTest(context.Background())
		if !provider.IsKind(err, provider.KindUnavailable) || !strings.Contains(err.Error(), "cannot reach Canvas at "+u) {
			t.Errorf("got %v", err)
		}
	})
}

// TestRefusesForeignLinks: the token is never sent to a host other than
// base_url, even if a Link header points there.
func TestRefusesForeignLinks(t *testing.T) {
	var foreignHits int
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHits++ }))
	defer foreign.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "<"+foreign.URL+"/api/v1/accounts/self/courses?page=2>; rel=\"next\"")
		_, _ = w.Write([]byte(`[{"id":"1","name":"A"}]`))
	}))
	defer srv.Close()
	c := newTestConnector(t, srv.URL, nil)
	page, err := c.CoursePage(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoursePage(context.Background(), page.NextCursor)
	if !provider.IsKind(err, provider.KindUpstream) || foreignHits != 0 {
		t.Errorf("got %v with %d foreign requests, want KindUpstream and none", err, foreignHits)
	}
}

// TestStripsJSONPrefix: the while(1); prefix (providers.md §1.1, UNCERTAIN) is
// stripped by default and kept when the setting says so.
func TestStripsJSONPrefix(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`while(1);[{"id":"1","name":"A"}]`))
	}))
	defer srv.Close()
	if _, err := newTestConnector(t, srv.URL, nil).CoursePage(context.Background(), ""); err != nil {
		t.Errorf("default: %v", err)
	}
	_, err := newTestConnector(t, srv.URL, map[string]string{SettingStripJSONPrefix: "false"}).CoursePage(context.Background(), "")
	if !provider.IsKind(err, provider.KindUpstream) || !strings.Contains(err.Error(), "canvas") || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("without stripping: got %v, want KindUpstream naming canvas and the URL", err)
	}
}
