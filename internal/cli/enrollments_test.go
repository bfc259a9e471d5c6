package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/cli"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

type testServer struct {
	URL, Key string
	Conns    map[string]string // name → id
}

// startServer runs a real Registrar with two connections and stored
// enrollments: 12 on "acme" (Canvas) and 3 on "globex" (DigitalChalk).
func startServer(t *testing.T) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// The connections point nowhere: their first sync stays queued.
	a, err := app.New(ctx, app.Config{DataDir: t.TempDir(), Sync: app.SyncConfig{PollEvery: time.Hour, ScheduleEvery: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	key, _, err := app.APIKeyCreate(ctx, a.Store, "cli", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rw, _, err := app.APIKeyCreate(ctx, a.Store, "setup", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{URL: "http://" + ln.Addr().String(), Key: key, Conns: map[string]string{}}
	for _, c := range []struct{ name, provider, base string }{
		{"acme", "canvas", "https://acme.instructure.com"}, {"globex", "digitalchalk", "https://api.digitalchalk.com/dc/api/v5"},
	} {
		body, _ := json.Marshal(map[string]any{"provider": c.provider, "name": c.name,
			"settings": map[string]string{"base_url": c.base}, "credentials": map[string]string{"token": "t"}})
		req, _ := http.NewRequest("POST", s.URL+"/v1/connections", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+rw)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ ID string }
		json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("create connection: %d", res.StatusCode)
		}
		s.Conns[c.name] = out.ID
	}
	past := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	var rows []store.Enrollment
	add := func(conn, provider string, i int, st lms.Status) {
		e := lms.CourseEnrollment{ID: fmt.Sprintf("e%02d", i), ConnectionID: conn, Provider: provider, Status: st,
			User:   &lms.User{ID: fmt.Sprintf("u%d", i%4), Name: fmt.Sprintf("Zoë Learner %d", i%4), Emails: []lms.Email{{Email: fmt.Sprintf("u%d@example.com", i%4)}}},
			Course: &lms.Course{ID: fmt.Sprintf("c%d", i%2), Title: "Fire safety, part " + fmt.Sprint(i%2)}}
		if st == lms.StatusPassed {
			e.Score = lms.Ptr(92.5)
		}
		if i == 3 {
			e.DueAt = &past // enrolled and past due: reads as overdue
		}
		rows = append(rows, store.Enrollment{Record: e, ContentHash: "h" + e.ID, ChangedAt: time.Now()})
	}
	for i := 0; i < 12; i++ {
		st := lms.StatusEnrolled
		if i%3 == 0 && i != 3 {
			st = lms.StatusPassed
		}
		add(s.Conns["acme"], "canvas", i, st)
	}
	for i := 0; i < 3; i++ {
		add(s.Conns["globex"], "digitalchalk", i, lms.StatusFailed)
	}
	if err := a.Store.InTx(ctx, func(tx store.Tx) error { return tx.EnrollmentUpsertMany(ctx, rows) }); err != nil {
		t.Fatal(err)
	}
	return s
}

func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestEnrollmentsList(t *testing.T) {
	s := startServer(t)
	base := []string{"enrollments", "list", "--server", s.URL, "--api-key", s.Key}
	lines := func(out string) int { return strings.Count(strings.TrimRight(out, "\n"), "\n") } // rows after the header

	cases := []struct {
		name       string
		args       []string
		wantRows   int
		contain    []string
		absent     []string
		wantStderr string
	}{
		{name: "table of the first page", args: nil, wantRows: 15,
			contain: []string{"USER", "EMAIL", "COURSE", "STATUS", "DUE", "SCORE", "PROVIDER", "CONNECTION",
				"Zoë Learner 1", "u1@example.com", "Fire safety, part 1", "92.5", "acme", "globex", "digitalchalk", "overdue"}},
		{name: "status filter", args: []string{"--status", "passed"}, wantRows: 3, absent: []string{"enrolled", "failed"}},
		{name: "repeated and comma-separated statuses", args: []string{"--status", "passed,failed", "--status", "overdue"}, wantRows: 7},
		{name: "connection by name", args: []string{"--connection", "globex"}, wantRows: 3, absent: []string{"acme"}},
		{name: "connection by id", args: []string{"--connection", s.Conns["acme"]}, wantRows: 12, absent: []string{"globex"}},
		{name: "user and course", args: []string{"--user", "u1", "--course", "c1"}, wantRows: 4},
		{name: "one page", args: []string{"--limit", "4"}, wantRows: 4, wantStderr: "more enrollments exist"},
		{name: "every page", args: []string{"--limit", "4", "--all"}, wantRows: 15},
		{name: "nothing matches", args: []string{"--user", "nobody"}, contain: []string{"no enrollments match"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(append(base, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if tc.wantRows > 0 && lines(out) != tc.wantRows {
				t.Errorf("%d rows, want %d:\n%s", lines(out), tc.wantRows, out)
			}
			for _, c := range tc.contain {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
			for _, c := range tc.absent {
				if strings.Contains(out, c) {
					t.Errorf("output has %q:\n%s", c, out)
				}
			}
			if !strings.Contains(errOut, tc.wantStderr) || (tc.wantStderr == "" && errOut != "") {
				t.Errorf("stderr %q, want %q", errOut, tc.wantStderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		_, out, _ := run(append(base, "--format", "json", "--all", "--limit", "5")...)
		var got []lms.CourseEnrollment
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 15 {
			t.Fatalf("%d records, %v:\n%s", len(got), err, out)
		}
	})
	t.Run("csv", func(t *testing.T) {
		_, out, _ := run(append(base, "--format", "csv", "--status", "passed")...)
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(recs) != 4 || recs[0][0] != "connection" || recs[1][0] != "acme" || recs[1][9] != "passed" {
			t.Fatalf("csv %v %v", recs, err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("REGISTRAR_SERVER", s.URL)
		t.Setenv("REGISTRAR_API_KEY", s.Key)
		code, out, errOut := run("enrollments", "list", "--status", "failed")
		if code != 0 || lines(out) != 3 {
			t.Fatalf("exit %d, %d rows: %s %s", code, lines(out), out, errOut)
		}
	})

	failures := []struct {
		name string
		args []string
		want string
	}{
		{"a problem becomes one line", []string{"--api-key", "rk_wrong"}, "unknown API key (HTTP 401)"},
		{"unknown status", []string{"--status", "done"}, "--status"},
		{"unknown connection", []string{"--connection", "initech"}, `no connection named "initech"`},
		{"unknown format", []string{"--format", "xml"}, "--format"},
		{"no server", []string{"--server", "http://127.0.0.1:1"}, "cannot reach Registrar"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(append(base, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want a non-zero exit and one line with %q", code, out, errOut, tc.want)
			}
		})
	}
	t.Run("no key", func(t *testing.T) {
		t.Setenv("REGISTRAR_API_KEY", "")
		code, _, errOut := run("enrollments", "list", "--server", s.URL)
		if code == 0 || !strings.Contains(errOut, "no API key") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}
