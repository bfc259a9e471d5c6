package dcsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Config describes a simulated DigitalChalk organisation.
type Config struct {
	// Seed selects the data set: the same seed (and clock day) gives the
	// same data.
	Seed uint64
	// Users, Courses (offerings) and Enrollments (registrations) size the
	// data set. Zero means a default: 2000 registrations, and 200 users and
	// 20 offerings, scaled up with the registrations (one user per 10 and one
	// offering per 100) so that big data sets keep realistic retake counts.
	Users       int
	Courses     int
	Enrollments int
	// Token is the bearer token the API accepts; default "dc-sim-token".
	Token string
	// PathPrefix is where the API lives; default "/dc/api/v5". The vendor's
	// docs show both "/dc/api/v5" and "/api/v5" (providers.md §3.1,
	// UNCERTAIN), hence configurable.
	PathPrefix string
	Faults     simkit.Faults
	// Clock is the simulated time; nil means the real time.
	Clock *simkit.Clock
}

const (
	defaultToken  = "dc-sim-token"
	defaultPrefix = "/dc/api/v5"
	// maxRecords bounds the data set so int32 indexes cannot overflow.
	maxRecords = 1 << 30
)

func (c Config) withDefaults() Config {
	if c.Enrollments == 0 {
		c.Enrollments = 2000
	}
	if c.Users == 0 {
		c.Users = max(200, c.Enrollments/10)
	}
	if c.Courses == 0 {
		c.Courses = max(20, c.Enrollments/100)
	}
	if c.Token == "" {
		c.Token = defaultToken
	}
	if c.PathPrefix == "" {
		c.PathPrefix = defaultPrefix
	}
	c.PathPrefix = strings.TrimRight(c.PathPrefix, "/")
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Users < 2 || c.Users > maxRecords {
		errs = append(errs, fmt.Errorf("users must be between 2 and %d (one is the API account)", maxRecords))
	}
	if c.Courses < 1 || c.Courses > maxRecords {
		errs = append(errs, fmt.Errorf("courses must be between 1 and %d", maxRecords))
	}
	if c.Enrollments < 0 || c.Enrollments > maxRecords {
		errs = append(errs, fmt.Errorf("enrollments must be between 0 and %d", maxRecords))
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		errs = append(errs, errors.New("token must not contain white space"))
	}
	if c.PathPrefix != "" && !strings.HasPrefix(c.PathPrefix, "/") {
		errs = append(errs, errors.New("path prefix must start with /"))
	}
	if strings.ContainsAny(c.PathPrefix, "{}?# ") {
		errs = append(errs, errors.New("path prefix must be a plain path"))
	}
	return errors.Join(errs...)
}

// Sim is a simulated DigitalChalk organisation. It implements
// simkit.Backend. All its methods are safe for concurrent use.
type Sim struct {
	cfg Config
	kit *simkit.Kit

	mu            sync.RWMutex
	users         []user
	userIndex     map[vendorID]int32
	offerings     []offering
	offeringIndex map[vendorID]int32
	regs          []registration // every registration ever made, deleted ones flagged
	regIndex      map[vendorID]int32
	live          []int32   // listing order: indexes of live registrations, ascending
	byUser        [][]int32 // per user, ascending
	byOffering    [][]int32 // per offering, ascending
	nextEnd       int64     // earliest end of an unsettled offering
	newIDs        *rand.Rand
}

// New generates the data set in memory.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dcsim: invalid config: %w", err)
	}
	kit, err := simkit.New(simkit.Options{Faults: cfg.Faults, Clock: cfg.Clock, Seed: cfg.Seed})
	if err != nil {
		return nil, fmt.Errorf("dcsim: %w", err)
	}
	s := &Sim{cfg: cfg, kit: kit, newIDs: simkit.RNG(cfg.Seed, "dcsim/new-ids")}
	now := kit.Clock.Now()
	s.generate(now)
	s.settle(now.Unix())
	return s, nil
}

// Kit returns the fault injection, statistics and clock of the simulator.
func (s *Sim) Kit() *simkit.Kit { return s.kit }

// Handler serves the vendor API under the path prefix, wrapped with fault
// injection, statistics and the /_sim/ admin API.
func (s *Sim) Handler() http.Handler {
	return s.kit.Handler(s.vendorMux(), s, simkit.Vendor{Throttled: throttled, Failed: failed})
}

// Credentials returns what a client needs, in print order.
func (s *Sim) Credentials() []simkit.Credential {
	return []simkit.Credential{
		{Name: "Bearer token", Value: s.cfg.Token},
		{Name: "Base path", Value: s.cfg.PathPrefix},
	}
}

// EnrollmentIDs returns the id of every registration a complete listing
// returns, sorted.
func (s *Sim) EnrollmentIDs() []string {
	s.settleNow()
	s.mu.RLock()
	ids := make([]string, len(s.live))
	for i, ri := range s.live {
		ids[i] = s.regs[ri].id.String()
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// OfferingRules reports the passing grade and retake rule of an offering.
// The vendor configures both in its UI and shows neither in the API
// (providers.md §3.5), so tests read them here.
func (s *Sim) OfferingRules(offeringID string) (passingGrade float64, allowRetake bool, ok bool) {
	id, valid := parseVendorID(offeringID)
	if !valid {
		return 0, false, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	oi, found := s.offeringIndex[id]
	if !found {
		return 0, false, false
	}
	o := &s.offerings[oi]
	return o.passingGrade, o.allowRetake, true
}

// APIUserID is the id of the user the token belongs to: the graderId of
// grades assigned through the API (seed 000).
func (s *Sim) APIUserID() string { return s.users[0].id.String() }

// Counts implements simkit.Backend.
func (s *Sim) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]int{"enrollments": len(s.live), "users": len(s.users), "offerings": len(s.offerings)}
}

// settleNow applies offering ends that the clock has passed.
func (s *Sim) settleNow() {
	now := s.kit.Clock.Now().Unix()
	s.mu.RLock()
	due := now >= s.nextEnd
	s.mu.RUnlock()
	if !due {
		return
	}
	s.mu.Lock()
	s.settle(now)
	s.mu.Unlock()
}
