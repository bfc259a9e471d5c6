package simkit_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

type fakeBackend struct{ deleted []string }

func (f *fakeBackend) Counts() map[string]int { return map[string]int{"enrollments": 3} }
func (f *fakeBackend) Mutate(n int, seed uint64) (any, error) {
	return map[string]int{"changed": n}, nil
}
func (f *fakeBackend) DeleteEnrollment(id string) bool {
	f.deleted = append(f.deleted, id)
	return id == "e1"
}

func start(t *testing.T, faults simkit.Faults) (*simkit.Kit, string) {
	t.Helper()
	kit, err := simkit.New(simkit.Options{Faults: faults, Clock: simkit.NewFixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things", func(w http.ResponseWriter, r *http.Request) {
		simkit.WriteJSON(w, 200, map[string]any{"items": []int{1, 2, 3, 4, 5, 6, 7, 8}})
	})
	h := kit.Handler(mux, &fakeBackend{}, simkit.Vendor{
		Throttled: func(w http.ResponseWriter, r *http.Request, status int) { http.Error(w, "slow down", 429) },
		Failed:    func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
	})
	srv, err := simkit.Start("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return kit, srv.URL
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestFaultsAndStats(t *testing.T) {
	kit, url := start(t, simkit.Faults{})
	if code, _ := get(t, url+"/things"); code != 200 {
		t.Fatalf("plain request: %d", code)
	}
	if err := kit.SetFaults(simkit.Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, url+"/things"); code != 500 {
		t.Fatalf("fail rate 1: got %d", code)
	}
	kit.SetFaults(simkit.Faults{MalformedRate: 1})
	_, body := get(t, url+"/things")
	if json.Valid([]byte(body)) {
		t.Fatalf("malformed rate 1 gave valid JSON %q", body)
	}
	kit.SetFaults(simkit.Faults{RateLimit: 1})
	throttled := 0
	for i := 0; i < 5; i++ {
		if code, _ := get(t, url+"/things"); code == 429 {
			throttled++
		}
	}
	if throttled < 3 {
		t.Fatalf("rate limit 1/s: only %d of 5 throttled", throttled)
	}
	kit.SetFaults(simkit.Faults{DropRate: 1})
	if _, err := http.Get(url + "/things"); err == nil {
		t.Fatal("drop rate 1: request succeeded")
	}
	st := kit.Stats(nil)
	if st.Failed != 1 || st.Malformed != 1 || st.Throttled < 3 || st.Dropped < 1 || st.Requests["GET /things"] != st.Total {
		t.Fatalf("stats: %+v", st)
	}
}

func TestAdminAPI(t *testing.T) {
	_, url := start(t, simkit.Faults{})
	post := func(path, body string) (int, string) {
		res, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("/_sim/faults", `{"latency":"5ms","fail_rate":0.5}`); code != 200 || !strings.Contains(body, `"latency":"5ms"`) {
		t.Fatalf("faults: %d %s", code, body)
	}
	if code, _ := post("/_sim/faults", `{"fail_rate":2}`); code != 400 {
		t.Fatalf("bad fail rate accepted: %d", code)
	}
	if code, _ := post("/_sim/faults", `{"nope":1}`); code != 400 {
		t.Fatalf("unknown field accepted: %d", code)
	}
	if code, body := post("/_sim/clock", `{"advance":"720h"}`); code != 200 || !strings.Contains(body, "2026-01-31") {
		t.Fatalf("clock: %d %s", code, body)
	}
	if code, body := post("/_sim/mutate", `{"count":4,"seed":1}`); code != 200 || !strings.Contains(body, `"changed":4`) {
		t.Fatalf("mutate: %d %s", code, body)
	}
	req, _ := http.NewRequest("DELETE", url+"/_sim/enrollments/nope", nil)
	res, _ := http.DefaultClient.Do(req)
	if res.StatusCode != 404 {
		t.Fatalf("delete unknown: %d", res.StatusCode)
	}
	if code, body := get(t, url+"/_sim/stats"); code != 200 || !strings.Contains(body, `"enrollments":3`) {
		t.Fatalf("stats: %d %s", code, body)
	}
}

func TestPersonAtIsDeterministic(t *testing.T) {
	a, b := simkit.PersonAt(1, 42), simkit.PersonAt(1, 42)
	if a != b {
		t.Fatalf("%v != %v", a, b)
	}
	if simkit.PersonAt(1, 43).Email == a.Email {
		t.Fatal("emails must be unique per index")
	}
	for _, r := range a.Email {
		if r > 127 {
			t.Fatalf("email %q is not ASCII", a.Email)
		}
	}
}
