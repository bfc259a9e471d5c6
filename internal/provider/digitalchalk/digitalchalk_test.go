package digitalchalk

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/providertest"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

const simToken = "dc-test-token"

// fastHTTP keeps retries quick so that the fault cases stay well under a
// second; the retry policy itself is httpx's.
var fastHTTP = httpx.Options{BaseBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, Timeout: 10 * time.Second}

// simEnv is a dcsim organisation and a way to build connectors against it.
type simEnv struct {
	sim     *dcsim.Sim
	baseURL string // the API base, with the /dc/api/v5 prefix
	srvURL  string
}

func startSim(t *testing.T, cfg dcsim.Config) *simEnv {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = simToken
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	sim, err := dcsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	prefix := cfg.PathPrefix
	if prefix == "" {
		prefix = "/dc/api/v5"
	}
	return &simEnv{sim: sim, baseURL: srv.URL + prefix, srvURL: srv.URL}
}

// connector builds a connector against the simulator; settings override the
// test defaults.
func (s *simEnv) connector(t *testing.T, token string, settings map[string]string) *Connector {
	t.Helper()
	all := map[string]string{settingBaseURL: s.baseURL, settingPageSize: "25"}
	for k, v := range settings {
		all[k] = v
	}
	c, err := New(provider.Config{Settings: all, Secrets: map[string]string{settingToken: token}, HTTP: fastHTTP})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConformance runs the shared provider suite against dcsim.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{Start: func(t *testing.T, n int, faults simkit.Faults) *providertest.Env {
		s := startSim(t, dcsim.Config{Enrollments: n, Faults: faults})
		c := s.connector(t, simToken, nil)
		targets := &writeTargets{env: s, reader: c, taken: map[string]bool{}}
		return &providertest.Env{
			Reader:         c,
			Kit:            s.sim.Kit(),
			BaseURL:        s.srvURL,
			WantIDs:        s.sim.EnrollmentIDs,
			NewReader:      func() provider.Reader { return s.connector(t, simToken, nil) },
			BadCredentials: func() provider.Reader { return s.connector(t, "not-the-token", nil) },
			// A single read numbers the learner's attempts of the offering
			// (one more request); a bulk listing does not, see Notes.
			GetIgnores: []string{"attempt_number", "attempts_count", "is_current"},
			Mutate: func(count int, seed uint64) {
				if _, err := s.sim.Mutate(count, seed); err != nil {
					t.Fatal(err)
				}
			},
			Delete:         s.sim.DeleteEnrollment,
			EnrollTarget:   targets.enroll,
			ReEnrollTarget: targets.reEnroll,
			WithdrawTarget: targets.withdraw,
			ScoreTarget:    targets.score,
		}
	}})
}

// writeTargets picks records for the write cases from what the connector
// lists, so each target is used once.
type writeTargets struct {
	env    *simEnv
	reader provider.Reader
	mu     sync.Mutex
	taken  map[string]bool
}

func (w *writeTargets) list(t *testing.T) []lms.CourseEnrollment {
	t.Helper()
	all, _, err := providertest.ListAll(context.Background(), w.reader, "")
	if err != nil {
		t.Fatalf("listing for a write target: %v", err)
	}
	return all
}

// active returns an active registration not used by another case.
func (w *writeTargets) active(t *testing.T) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.list(t) {
		if e.RemoteStatus == remoteActive && !w.taken[e.ID] {
			w.taken[e.ID] = true
			return e.ID
		}
	}
	t.Fatal("no active registration left for a write case")
	return ""
}

func (w *writeTargets) withdraw(t *testing.T) provider.WithdrawParams {
	return provider.WithdrawParams{EnrollmentID: w.active(t)}
}

func (w *writeTargets) score(t *testing.T) provider.ScoreParams {
	return provider.ScoreParams{EnrollmentID: w.active(t), Score: 87.5}
}

// enroll returns a user and an offering between which no registration exists.
func (w *writeTargets) enroll(t *testing.T) provider.EnrollParams {
	t.Helper()
	registered := map[[2]string]bool{}
	offerings := map[string]bool{}
	users := map[string]bool{}
	for _, e := range w.list(t) {
		registered[[2]string{e.User.ID, e.Course.ID}] = true
		users[e.User.ID] = true
		offerings[e.Course.ID] = true
	}
	for _, u := range simkit.SortedKeys(users) {
		open := w.env.openFor(t, u)
		for _, o := range simkit.SortedKeys(offerings) {
			if !registered[[2]string{u, o}] && open[o] {
				return provider.EnrollParams{UserID: u, CourseID: o}
			}
		}
	}
	t.Fatal("every user is registered in every offering")
	return provider.EnrollParams{}
}

// reEnroll returns a learner who finished an offering that allows retakes
// and holds no active registration in it.
func (w *writeTargets) reEnroll(t *testing.T) provider.EnrollParams {
	t.Helper()
	all := w.list(t)
	activeIn := map[[2]string]bool{}
	for _, e := range all {
		if e.RemoteStatus == remoteActive {
			activeIn[[2]string{e.User.ID, e.Course.ID}] = true
		}
	}
	for _, e := range all {
		key := [2]string{e.User.ID, e.Course.ID}
		if e.RemoteStatus != remotePassed && e.RemoteStatus != remoteFailed || activeIn[key] {
			continue
		}
		if _, retake, ok := w.env.sim.OfferingRules(e.Course.ID); ok && retake && w.env.openFor(t, e.User.ID)[e.Course.ID] {
			return provider.EnrollParams{UserID: e.User.ID, CourseID: e.Course.ID}
		}
	}
	t.Fatal("no finished registration in an offering that allows retakes")
	return provider.EnrollParams{}
}

// openFor lists the offerings open for registration for a user, as
// DigitalChalk tells with GET /offerings?userId= (§3.5): registration windows
// and retake rules decide, and the connector does not expose them.
func (s *simEnv) openFor(t *testing.T, userID string) map[string]bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.baseURL+"/offerings?limit=100&userId="+userID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+simToken)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p page[offering]
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open offerings for %s: HTTP %d: %v", userID, resp.StatusCode, err)
	}
	open := map[string]bool{}
	for _, o := range p.Results {
		open[o.ID] = true
	}
	return open
}
