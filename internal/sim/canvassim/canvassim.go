// Package canvassim is a local, faithful Canvas LMS Enrollments API (seed 004
// and providers.md §1): the same paths, auth, bookmark paging, default state
// filters, state machine, error bodies and throttling answers as Canvas, over
// a seeded in-memory data set that scales to millions of enrollments.
//
// It speaks only the Canvas dialect and imports no Registrar model or
// connector code, so that it can catch a connector's misunderstanding.
//
// Simplifications (each a choice where Canvas is richer than a test needs):
//   - One token, an account admin with read_as_admin; `as_user_id`
//     masquerading changes who the current user is (for accept/reject, `self`
//     and the own-user list) but keeps the admin's rights elsewhere.
//   - Only the built-in roles exist (no custom roles), and one root account.
//   - There are no grading periods (any grading_period_id is unknown), terms,
//     custom roles, temporary enrollments or self-enrollment codes; other
//     unknown parameters are ignored as Canvas ignores them.
package canvassim

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Config describes a simulated Canvas account.
type Config struct {
	Seed        uint64 // data set seed; same seed → same data
	Users       int    // default 200
	Courses     int    // default 20
	Enrollments int    // default 2000
	Token       string // default "canvas-sim-token"
	AccountID   string // default "1"
	Faults      simkit.Faults
	Clock       *simkit.Clock // nil → simkit.NewClock()

	// UnauthorizedStatus is the status of "authenticated but not permitted"
	// answers: 401 (legacy, the default) or 403 (the site-admin flag
	// api_auth_error_updates), providers.md §1.13.
	UnauthorizedStatus int
}

func (c Config) withDefaults() Config {
	c.Users = cmp.Or(c.Users, 200)
	c.Courses = cmp.Or(c.Courses, 20)
	c.Enrollments = cmp.Or(c.Enrollments, 2000)
	c.Token = cmp.Or(c.Token, "canvas-sim-token")
	c.AccountID = cmp.Or(c.AccountID, "1")
	c.UnauthorizedStatus = cmp.Or(c.UnauthorizedStatus, http.StatusUnauthorized)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Users < 0 || c.Courses < 0 || c.Enrollments < 0:
		return errors.New("canvassim: users, courses and enrollments must not be negative")
	case c.Enrollments > 1<<31-1:
		return errors.New("canvassim: too many enrollments")
	case c.UnauthorizedStatus != http.StatusUnauthorized && c.UnauthorizedStatus != http.StatusForbidden:
		return errors.New("canvassim: UnauthorizedStatus must be 401 or 403")
	case c.AccountID == "self":
		return errors.New(`canvassim: AccountID "self" is an alias, not an id`)
	}
	if _, err := strconv.ParseInt(c.AccountID, 10, 64); err != nil {
		return errors.New("canvassim: AccountID must be a number")
	}
	return nil
}

// Sim is a simulated Canvas account. It is safe for concurrent use.
type Sim struct {
	cfg       Config
	kit       *simkit.Kit
	accountID int64

	mu sync.RWMutex
	st *store

	errorReports atomic.Int64
}

// New generates the data set in memory.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	kit, err := simkit.New(simkit.Options{Faults: cfg.Faults, Clock: cfg.Clock, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	accountID, _ := strconv.ParseInt(cfg.AccountID, 10, 64)
	s := &Sim{cfg: cfg, kit: kit, accountID: accountID}
	s.st = generate(cfg, kit.Clock.Now())
	return s, nil
}

// Kit returns the fault, statistics and clock scaffolding.
func (s *Sim) Kit() *simkit.Kit { return s.kit }

// Credentials returns what a client needs to connect, in print order.
func (s *Sim) Credentials() []simkit.Credential {
	return []simkit.Credential{
		{Name: "token", Value: s.cfg.Token},
		{Name: "account_id", Value: s.cfg.AccountID},
	}
}

// EnrollmentIDs returns the id of every enrollment that a complete listing
// (all states, soft-deleted included) returns, sorted. Ids have one width,
// so string order is numeric order.
func (s *Sim) EnrollmentIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, s.st.live)
	for i := range s.st.enrollments {
		if e := &s.st.enrollments[i]; !e.gone {
			ids = append(ids, strconv.FormatInt(e.id, 10))
		}
	}
	return ids
}

// Counts implements simkit.Backend.
func (s *Sim) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]int{
		"enrollments": s.st.live,
		"users":       len(s.st.users),
		"courses":     len(s.st.courses),
		"sections":    len(s.st.sections),
	}
}

// DeleteEnrollment implements simkit.Backend: a hard delete, after which the
// enrollment is on no route at all (unlike Canvas's soft `deleted` state).
func (s *Sim) DeleteEnrollment(id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, e := s.st.enrollmentByID(n)
	if e == nil {
		return false
	}
	s.st.unindex(pos)
	e.gone = true
	return true
}
