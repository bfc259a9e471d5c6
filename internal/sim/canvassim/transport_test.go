package canvassim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got non-JSON %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q", want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body\n got %s\nwant %s", strings.TrimSpace(got), want)
	}
}

func TestAuthentication(t *testing.T) {
	_, base := startSim(t, Config{Seed: 1})
	list := base + "/api/v1/courses/10001/enrollments"
	unauthenticated := `{"status":"unauthenticated","errors":[{"message":"user authorization required"}]}`
	cases := []struct {
		name       string
		url        string
		opts       []reqOpt
		wantStatus int
		wantBody   string // JSON, compared when set
		wantWWW    bool
	}{
		// providers.md §1.1: Bearer header.
		{name: "bearer token", url: list, wantStatus: 200},
		// providers.md §1.1: access_token parameter when there is no header.
		{name: "access_token param", url: list + "?access_token=" + testToken, opts: []reqOpt{withoutToken()}, wantStatus: 200},
		// providers.md §1.13: no credentials.
		{name: "no token", url: list, opts: []reqOpt{withoutToken()}, wantStatus: 401, wantBody: unauthenticated, wantWWW: true},
		// providers.md §1.13: a scheme other than Bearer is no token.
		{name: "basic scheme", url: list, opts: []reqOpt{withHeader("Authorization", "Basic eDp5")}, wantStatus: 401, wantBody: unauthenticated, wantWWW: true},
		// providers.md §1.13: invalid token.
		{name: "bad token", url: list, opts: []reqOpt{withToken("nope")}, wantStatus: 401, wantBody: `{"errors":[{"message":"Invalid access token."}]}`, wantWWW: true},
		{name: "bad access_token param", url: list + "?access_token=nope", opts: []reqOpt{withoutToken()}, wantStatus: 401, wantBody: `{"errors":[{"message":"Invalid access token."}]}`, wantWWW: true},
		// providers.md §1.1: no User-Agent is refused with 403.
		{name: "no user agent", url: list, opts: []reqOpt{withHeader("User-Agent", "")}, wantStatus: 403},
		// providers.md §1.13: unknown routes and ids are 404 with Canvas's body.
		{name: "unknown course", url: base + "/api/v1/courses/999/enrollments", wantStatus: 404, wantBody: `{"errors":[{"message":"The specified resource does not exist."}]}`},
		{name: "unknown route", url: base + "/api/v1/nothing/here", wantStatus: 404, wantBody: `{"errors":[{"message":"The specified resource does not exist."}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "GET", tc.url, nil, tc.opts...)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantBody != "" {
				sameJSON(t, r.body, tc.wantBody)
			}
			if got := r.header.Get("WWW-Authenticate"); tc.wantWWW && got != `Bearer realm="canvas-lms"` {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		})
	}
}

func TestRateHeadersAndThrottling(t *testing.T) {
	s, base := startSim(t, Config{Seed: 1})
	list := base + "/api/v1/courses/10001/enrollments"

	// providers.md §1.12: every answer carries the cost and the remaining
	// budget; with no limit the bucket is at the 600 high-water mark.
	r := send(t, "GET", list, nil)
	if r.header.Get("X-Request-Cost") == "" || r.header.Get("X-Rate-Limit-Remaining") != "600.0" {
		t.Fatalf("headers: cost %q remaining %q", r.header.Get("X-Request-Cost"), r.header.Get("X-Rate-Limit-Remaining"))
	}

	cases := []struct {
		name     string
		status   int // ThrottleStatus
		want     int
		wantBody string
	}{
		// providers.md §1.12: 403 text/plain by default.
		{"default 403", 0, 403, "403 Forbidden (Rate Limit Exceeded)\n"},
		// providers.md §1.12: the 429 variant.
		{"429 variant", 429, 429, "429 Too Many Requests (Rate Limit Exceeded)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Kit().SetFaults(simkit.Faults{RateLimit: 0.001, ThrottleStatus: tc.status}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Kit().SetFaults(simkit.Faults{}) })
			first := send(t, "GET", list, nil)
			if first.status != 200 {
				t.Fatalf("first request: %d", first.status)
			}
			if got := first.header.Get("X-Rate-Limit-Remaining"); got == "600.0" {
				t.Fatalf("remaining did not drop after spending the bucket: %q", got)
			}
			r := send(t, "GET", list, nil)
			if r.status != tc.want || r.body != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tc.want, tc.wantBody)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
			if r.header.Get("X-Rate-Limit-Remaining") != "0.0" || r.header.Get("X-Request-Cost") != "" {
				t.Fatalf("throttled headers: %v", r.header)
			}
		})
	}

	t.Run("internal error", func(t *testing.T) {
		// providers.md §1.13: Canvas's 500 body.
		s.Kit().SetFaults(simkit.Faults{FailRate: 1})
		t.Cleanup(func() { s.Kit().SetFaults(simkit.Faults{}) })
		r := send(t, "GET", list, nil)
		var body struct {
			Errors []struct {
				Message   string `json:"message"`
				ErrorCode string `json:"error_code"`
			} `json:"errors"`
			ErrorReportID int64 `json:"error_report_id"`
		}
		r.json(t, &body)
		if r.status != 500 || len(body.Errors) != 1 || body.Errors[0].Message != "An error occurred." ||
			body.Errors[0].ErrorCode != "internal_server_error" || body.ErrorReportID == 0 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
}

func TestStringIDs(t *testing.T) {
	_, base := startSim(t, Config{Seed: 2})
	cases := []struct {
		name   string
		accept string
		isStr  bool
	}{
		// providers.md §1.2: ids are JSON integers by default.
		{"integers", "application/json", false},
		// providers.md §1.2: the string-ids Accept header makes every id a string.
		{"strings", "application/json+canvas-string-ids", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "GET", base+"/api/v1/courses/10001/enrollments?type[]=StudentEnrollment", nil, withHeader("Accept", tc.accept))
			var rows []map[string]any
			r.json(t, &rows)
			if len(rows) == 0 {
				t.Fatal("no rows")
			}
			row := rows[0]
			user := row["user"].(map[string]any)
			for name, v := range map[string]any{"id": row["id"], "user_id": row["user_id"], "course_id": row["course_id"],
				"course_section_id": row["course_section_id"], "role_id": row["role_id"], "root_account_id": row["root_account_id"], "user.id": user["id"]} {
				_, isStr := v.(string)
				_, isNum := v.(float64)
				if isStr != tc.isStr || isNum == tc.isStr {
					t.Errorf("%s = %#v", name, v)
				}
			}
		})
	}
}

func TestIDForms(t *testing.T) {
	_, base := startSim(t, Config{Seed: 3})
	cases := []struct {
		name string
		path string
		want int
	}{
		// providers.md §1.2: SIS ids and hex SIS ids in URL segments.
		{"course by sis id", "/api/v1/courses/sis_course_id:SIS-C0001/enrollments", 200},
		{"course by hex sis id", "/api/v1/courses/hex:sis_course_id:" + fmt.Sprintf("%x", "SIS-C0001") + "/enrollments", 200},
		{"section by sis id", "/api/v1/sections/sis_section_id:SIS-S0001-0/enrollments", 200},
		{"user by sis id", "/api/v1/users/sis_user_id:U0000001/enrollments", 200},
		{"user by login", "/api/v1/users/sis_login_id:" + url.PathEscape(simkit.PersonAt(3, 0).Login) + "/enrollments", 200},
		{"user self", "/api/v1/users/self/enrollments", 200},
		// providers.md §1.2: shard-qualified ids (?:\d+~)?\d+.
		{"shard-qualified course", "/api/v1/courses/1~10001/enrollments", 200},
		{"course on another shard", "/api/v1/courses/2~10001/enrollments", 404},
		{"shard-qualified enrollment", "/api/v1/accounts/1/enrollments/1~100000001", 200},
		// providers.md §1.2: a SIS id that does not resolve is a 404.
		{"unknown sis course", "/api/v1/courses/sis_course_id:nope/enrollments", 404},
		{"unknown sis prefix", "/api/v1/courses/sis_nothing:1/enrollments", 404},
		{"course show by sis", "/api/v1/courses/sis_course_id:SIS-C0002", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := send(t, "GET", base+tc.path, nil); r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"negative users", Config{Users: -1}, false},
		// providers.md §1.13: the not-permitted status is 401 or 403.
		{"unauthorized 418", Config{UnauthorizedStatus: 418}, false},
		{"unauthorized 403", Config{UnauthorizedStatus: 403}, true},
		{"account not a number", Config{AccountID: "abc"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestDeterministicAndIDs(t *testing.T) {
	a, _ := New(Config{Seed: 9, Clock: simkit.NewFixedClock(testNow)})
	b, _ := New(Config{Seed: 9, Clock: simkit.NewFixedClock(testNow)})
	c, _ := New(Config{Seed: 10, Clock: simkit.NewFixedClock(testNow)})
	if !reflect.DeepEqual(a.st.enrollments, b.st.enrollments) {
		t.Fatal("same seed gave different enrollments")
	}
	if reflect.DeepEqual(a.st.enrollments, c.st.enrollments) {
		t.Fatal("different seeds gave the same enrollments")
	}
	ids := a.EnrollmentIDs()
	if len(ids) != 2000 || !slices.IsSorted(ids) || a.Counts()["enrollments"] != 2000 {
		t.Fatalf("%d ids, sorted %v, counts %v", len(ids), slices.IsSorted(ids), a.Counts())
	}
	// The data set has every type and every stored state (the brief's
	// data requirements; providers.md §1.5).
	seenType, seenState := map[enrollmentType]bool{}, map[workflowState]bool{}
	for _, e := range a.st.enrollments {
		seenType[e.typ], seenState[e.state] = true, true
	}
	if len(seenType) != int(numTypes) || len(seenState) != int(numStates) {
		t.Fatalf("types %v states %v", seenType, seenState)
	}
	if want := []simkit.Credential{{Name: "token", Value: testToken}, {Name: "account_id", Value: "1"}}; !reflect.DeepEqual(a.Credentials(), want) {
		t.Fatalf("credentials %v", a.Credentials())
	}
}
