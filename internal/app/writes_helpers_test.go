package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
)

// startWriteServer is startServer with connector retries cut short, so that
// an LMS outage answers within a test's patience instead of httpx's minute,
// and with the given clock (nil: the real one).
func startWriteServer(t *testing.T, now func() time.Time) *server {
	t.Helper()
	return startServerWith(t, app.Config{Now: now, HTTP: httpx.Options{MaxAttempts: 2, BaseBackoff: time.Millisecond,
		MaxBackoff: 5 * time.Millisecond, MaxElapsed: 5 * time.Second, Timeout: 5 * time.Second},
		// The first sync of a new connection runs at once (connectSynced
		// waits for it); no scheduled sync comes during a test.
		Sync: app.SyncConfig{PollEvery: 20 * time.Millisecond, ScheduleEvery: time.Hour}})
}

// startSim serves a simulator on loopback for the length of the test.
func startSim(t *testing.T, h http.Handler) string {
	t.Helper()
	srv, err := simkit.Start("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL
}

// connect creates a connection through the API and returns its id.
func (s *server) connect(t *testing.T, body map[string]any) string {
	t.Helper()
	res := s.do("POST", "/v1/connections", s.Key, body)
	if res.Status != 201 {
		t.Fatalf("create connection: %d %s", res.Status, res.Body)
	}
	return res.JSON(t)["id"].(string)
}

// connectSynced creates a connection and waits for the first sync that its
// creation starts, so that the writes of a test run alone: a sync page read
// before a write and stored after it would otherwise race the write's
// events. Without a sync engine no run appears, and it returns soon.
func (s *server) connectSynced(t *testing.T, body map[string]any) string {
	t.Helper()
	cid := s.connect(t, body)
	deadline := time.Now().Add(30 * time.Second)
	for seen := false; time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var runs struct {
			Data []struct{ Status, Error string }
		}
		res := s.do("GET", "/v1/connections/"+cid+"/sync-runs", s.ReadKey, nil)
		if res.Status != http.StatusOK || json.Unmarshal(res.Body, &runs) != nil {
			t.Fatalf("sync runs: %d %s", res.Status, res.Body)
		}
		if len(runs.Data) == 0 {
			if !seen && time.Until(deadline) < 27*time.Second {
				return cid // no sync engine
			}
			continue
		}
		seen = true
		switch runs.Data[0].Status {
		case "succeeded":
			return cid
		case "failed":
			t.Fatalf("the first sync failed: %s", runs.Data[0].Error)
		}
	}
	t.Fatal("the first sync did not finish in 30 s")
	return ""
}

// want checks an answer's status and returns its body as an object.
func want(t *testing.T, res *response, status int) map[string]any {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d\n%s", res.Status, status, res.Body)
	}
	return res.JSON(t)
}

// wantProblem checks a problem answer: status, type and content type.
func wantProblem(t *testing.T, res *response, status int, typ string) map[string]any {
	t.Helper()
	m := want(t, res, status)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	if m["type"] != "https://registrar.dev/problems/"+typ {
		t.Fatalf("problem type %v, want %s\n%s", m["type"], typ, res.Body)
	}
	return m
}

// apiEvents returns the write-back events of one enrollment, oldest first.
func apiEvents(t *testing.T, s *server, connID, enrollmentID string) []string {
	t.Helper()
	evs, err := s.App.Store.EventList(context.Background(), store.EventListParams{ConnectionID: connID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.EnrollmentID != enrollmentID {
			continue
		}
		var d events.Data
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Source == "api" {
			out = append(out, e.Type+":"+string(d.Status))
		}
	}
	return out
}

// wantEvents checks that the write-back events of a record are exactly these.
func wantEvents(t *testing.T, s *server, connID, enrollmentID string, want ...string) {
	t.Helper()
	got := apiEvents(t, s, connID, enrollmentID)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events of %s: %v, want %v", enrollmentID, got, want)
	}
}

// vendor reads a simulator through its own API with plain HTTP, so that a
// test confirms what the LMS holds without the connector's help.
type vendor struct {
	t      *testing.T
	base   string
	header func() http.Header
}

func (v *vendor) get(path string, out any) int {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	for k, vals := range v.header() {
		req.Header[k] = vals
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && out != nil {
		// Numbers stay as written: vendor ids overflow float64 formatting.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			v.t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return res.StatusCode
}

func (v *vendor) mustGet(path string, out any) {
	v.t.Helper()
	if st := v.get(path, out); st != http.StatusOK {
		v.t.Fatalf("vendor GET %s: %d", path, st)
	}
}

func bearer(token string) func() http.Header {
	return func() http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
}

// absorbHeader signs in to the Absorb simulator for each read (a token per
// read: Absorb revokes a user's previous token, and the connector renews its
// own on the next 401).
func absorbHeader(t *testing.T, base, apiKey, username, password string) func() http.Header {
	return func() http.Header {
		body, _ := json.Marshal(map[string]string{"username": username, "password": password, "privateKey": apiKey})
		req, _ := http.NewRequest(http.MethodPost, base+"/authenticate", bytes.NewReader(body))
		req.Header.Set("x-api-key", apiKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var token string
		if err := json.NewDecoder(res.Body).Decode(&token); err != nil || res.StatusCode != 200 {
			t.Fatalf("absorb authenticate: %d %v", res.StatusCode, err)
		}
		return http.Header{"x-api-key": {apiKey}, "Authorization": {"Bearer " + token}}
	}
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	switch v := cur.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}
