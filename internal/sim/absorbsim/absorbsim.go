// Package absorbsim is a local Absorb LMS Integration API v2 (seed 003,
// providers.md §2): x-api-key plus /authenticate tokens, page-index paging,
// `_sort` and an OData `_filter`, course, ILC session, chapter and lesson
// enrollments, lesson attempts, writes, and the vendor's error body. It
// speaks only Absorb's dialect and never imports Registrar's model or
// connectors, so that it can catch a connector's misunderstanding.
//
// Paths that the reference could not confirm live in one table
// (DefaultRoutes) and can be replaced through Config.Routes.
package absorbsim

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Config sets up a simulator. Zero values take the documented defaults.
type Config struct {
	Seed        uint64 // data set seed; same seed → same data (dates are relative to the day the set is made)
	Users       int    // default 200, or enough for every enrollment to have its own user and course pair
	Courses     int    // default 20 (every 7th, from the 4th, is an instructor-led course with sessions)
	Enrollments int    // default 2000 current rows; history rows from re-enrollments come on top
	APIKey      string // default DefaultAPIKey
	Username    string // default "admin"
	Password    string // default "absorb-sim-password"
	// TokenTTL is how long an /authenticate token lives: 4 h (providers.md
	// §2.2, VERIFIED [A2]).
	TokenTTL time.Duration
	Faults   simkit.Faults
	Clock    *simkit.Clock // nil → simkit.NewClock()
	// RetryAfter is the Retry-After header sent with a 429 (default 1 s).
	// Whether Absorb sends one is UNCERTAIN (providers.md §5 q5), so it can
	// be switched off with NoRetryAfter.
	RetryAfter   time.Duration
	NoRetryAfter bool
	// QueryErrorStatus answers a bad `_filter`, `_sort`, `_limit` or
	// `_offset`: 400 (default) or 422. Seed 003 lists 200/404/422 for the
	// paged lists and no 400, so the vendor may well answer 422; UNCERTAIN.
	QueryErrorStatus int
	// Routes replaces the path table (nil → DefaultRoutes()), so a path
	// found in the real OpenAPI file can be corrected without code changes
	// (providers.md §2.8 "make every path configurable").
	Routes []Route
}

// DefaultAPIKey is the private key the simulator accepts by default.
const DefaultAPIKey = "5c0c9e2a-8f4b-4d7e-9a61-3b2f1d0e4c7a"

func (c Config) withDefaults() Config {
	c.Courses = cmp.Or(c.Courses, 20)
	c.Enrollments = cmp.Or(c.Enrollments, 2000)
	if c.Users == 0 {
		// Half of the courses per user on average keeps realistic density
		// and leaves room for every row to have its own pair.
		c.Users = max(200, (2*c.Enrollments+c.Courses-1)/c.Courses)
	}
	c.APIKey = cmp.Or(c.APIKey, DefaultAPIKey)
	c.Username = cmp.Or(c.Username, "admin")
	c.Password = cmp.Or(c.Password, "absorb-sim-password")
	c.TokenTTL = cmp.Or(c.TokenTTL, 4*time.Hour)
	c.RetryAfter = cmp.Or(c.RetryAfter, time.Second)
	c.QueryErrorStatus = cmp.Or(c.QueryErrorStatus, http.StatusBadRequest)
	if c.Routes == nil {
		c.Routes = DefaultRoutes()
	}
	if c.Clock == nil {
		c.Clock = simkit.NewClock()
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Users < 1 || c.Courses < 1 || c.Enrollments < 0 {
		errs = append(errs, errors.New("users and courses must be positive and enrollments not negative"))
	}
	if c.Users*c.Courses < c.Enrollments {
		errs = append(errs, fmt.Errorf("%d enrollments need at least that many user×course pairs, have %d×%d", c.Enrollments, c.Users, c.Courses))
	}
	if _, ok := parseGUID(c.APIKey); !ok {
		errs = append(errs, errors.New("api key must be a GUID (it doubles as /authenticate's privateKey)"))
	}
	if c.TokenTTL < 0 || c.RetryAfter < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.QueryErrorStatus != http.StatusBadRequest && c.QueryErrorStatus != http.StatusUnprocessableEntity {
		errs = append(errs, errors.New("query error status must be 400 or 422"))
	}
	if err := checkRoutes(c.Routes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Sim is one simulated Absorb tenant.
type Sim struct {
	cfg     Config
	kit     *simkit.Kit
	handler http.Handler

	mu   sync.RWMutex
	data *dataset

	auth tokens
}

// New generates the data set in memory.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("absorbsim: %w", err)
	}
	kit, err := simkit.New(simkit.Options{Faults: cfg.Faults, Clock: cfg.Clock, Seed: cfg.Seed})
	if err != nil {
		return nil, fmt.Errorf("absorbsim: %w", err)
	}
	// Generated times end at the start of today, so that anything changed
	// later (through the API or Mutate) is strictly newer than the data set.
	end := cfg.Clock.Now().Truncate(24 * time.Hour)
	data, err := generate(cfg, end)
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, kit: kit, data: data, auth: tokens{byToken: map[string]issuedToken{}, byUser: map[string]string{}}}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = kit.Handler(mux, s, simkit.Vendor{Throttled: s.throttled, Failed: s.failed})
	return s, nil
}

// Handler serves the vendor API wrapped with faults, stats and /_sim/.
func (s *Sim) Handler() http.Handler { return s.handler }

// Kit is the simulator's fault, clock and stats kit.
func (s *Sim) Kit() *simkit.Kit { return s.kit }

// Credentials are what a client needs, in print order.
func (s *Sim) Credentials() []simkit.Credential {
	return []simkit.Credential{
		{Name: "api_key", Value: s.cfg.APIKey},
		{Name: "username", Value: s.cfg.Username},
		{Name: "password", Value: s.cfg.Password},
	}
}

// EnrollmentIDs returns every course-enrollment id a complete listing
// returns (history rows included), sorted.
func (s *Sim) EnrollmentIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.data.enrollments))
	for id := range s.data.enrollments {
		ids = append(ids, id.String())
	}
	slices.Sort(ids)
	return ids
}

// Counts reports record counts for /_sim/stats.
func (s *Sim) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	history := 0
	for _, e := range s.data.enrollments {
		if !e.isActive {
			history++
		}
	}
	return map[string]int{
		"enrollments":         len(s.data.enrollments),
		"history_enrollments": history,
		"users":               len(s.data.users),
		"courses":             len(s.data.courses),
		"attempts":            len(s.data.attempts),
	}
}

// DeleteEnrollment makes a course enrollment vanish from every route, as an
// un-enroll does.
func (s *Sim) DeleteEnrollment(id string) bool {
	g, ok := parseGUID(id)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.data.enrollments[g]
	if e == nil {
		return false
	}
	s.data.remove(e)
	return true
}

func (s *Sim) now() int64 { return s.kit.Clock.Now().Unix() }

func foldUsername(u string) string { return strings.ToLower(u) }
