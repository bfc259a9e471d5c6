package dcsim

import (
	"errors"
	"math/rand/v2"
	"slices"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Change describes one change Mutate made.
type Change struct {
	ID     string `json:"id"`
	Change string `json:"change"` // registered, retake, began, activity, passed, failed, ejected
	Status string `json:"status"` // the registration's status afterwards
}

// maxMutations bounds one Mutate call; the admin API is for tests.
const maxMutations = 100_000

// Mutate makes count realistic changes behind the API's back, as learners
// and the vendor's own course logic would: new registrations (retakes where
// the offering allows them), learners starting and working, the course
// grading them passed or failed, admins ejecting them. The same seed on the
// same data set gives the same changes. It implements simkit.Backend.
func (s *Sim) Mutate(count int, seed uint64) (any, error) {
	if count <= 0 || count > maxMutations {
		return nil, errors.New("count must be between 1 and 100000")
	}
	now := s.kit.Clock.Now().Unix()
	r := simkit.RNG(seed, "dcsim/mutate")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(now)
	changes := make([]Change, 0, count)
	for len(changes) < count {
		c, ok := s.mutateOne(r, now)
		if !ok {
			// Nothing of the drawn kind to change; try another kind, but stop
			// if the data set offers nothing at all.
			if c, ok = s.mutateAny(r, now); !ok {
				break
			}
		}
		changes = append(changes, c)
	}
	if len(changes) == 0 {
		return nil, errors.New("the data set has nothing left to change")
	}
	return changes, nil
}

var mutationKinds = []string{"registered", "registered", "retake", "began", "activity", "activity", "passed", "failed", "ejected"}

func (s *Sim) mutateOne(r *rand.Rand, now int64) (Change, bool) {
	return s.mutateKind(r, mutationKinds[r.IntN(len(mutationKinds))], now)
}

func (s *Sim) mutateAny(r *rand.Rand, now int64) (Change, bool) {
	for _, kind := range []string{"activity", "began", "registered", "passed"} {
		if c, ok := s.mutateKind(r, kind, now); ok {
			return c, true
		}
	}
	return Change{}, false
}

// attempts bounds the random search for a candidate, so Mutate stays fast
// on a million rows even when candidates are rare.
const attempts = 64

func (s *Sim) mutateKind(r *rand.Rand, kind string, now int64) (Change, bool) {
	switch kind {
	case "registered":
		for range attempts {
			ui := int32(1 + r.IntN(len(s.users)-1))
			oi := int32(r.IntN(len(s.offerings)))
			if s.available(ui, oi, now) {
				id := s.insert(ui, oi, now)
				return Change{ID: id.String(), Change: kind, Status: statusActive.String()}, true
			}
		}
	case "retake":
		reg, ok := s.pick(r, func(reg *registration) bool {
			return reg.status != statusActive && s.offerings[reg.offering].allowRetake && s.available(reg.user, reg.offering, now)
		})
		if ok {
			id := s.insert(reg.user, reg.offering, now)
			return Change{ID: id.String(), Change: kind, Status: statusActive.String()}, true
		}
	case "began":
		if reg, ok := s.pick(r, func(reg *registration) bool { return reg.status == statusActive && reg.begin == 0 }); ok {
			reg.begin, reg.lastActive = now, now
			return Change{ID: reg.id.String(), Change: kind, Status: reg.status.String()}, true
		}
	case "activity":
		if reg, ok := s.pick(r, func(reg *registration) bool { return reg.status == statusActive && reg.begin != 0 }); ok {
			reg.lastActive = now
			return Change{ID: reg.id.String(), Change: kind, Status: reg.status.String()}, true
		}
	case "passed", "failed":
		if reg, ok := s.pick(r, func(reg *registration) bool { return reg.status == statusActive && reg.begin != 0 }); ok {
			pass := s.offerings[reg.offering].passingGrade
			grade := roundGrade(pass + r.Float64()*(100-pass))
			if kind == "failed" {
				grade = roundGrade(r.Float64() * (pass - 0.1))
			}
			reg.lastActive = now
			s.assignGrade(reg, grade, now, -1, "") // graded by the course, not by hand
			return Change{ID: reg.id.String(), Change: kind, Status: reg.status.String()}, true
		}
	case "ejected":
		if reg, ok := s.pick(r, func(reg *registration) bool { return reg.status == statusActive }); ok {
			reg.status, reg.end = statusEjected, now
			return Change{ID: reg.id.String(), Change: kind, Status: reg.status.String()}, true
		}
	}
	return Change{}, false
}

// pick returns a random live registration that fits: a few random probes,
// then a scan from a random start so a rare candidate is still found.
// Caller holds s.mu.
func (s *Sim) pick(r *rand.Rand, fits func(*registration) bool) (*registration, bool) {
	if len(s.live) == 0 {
		return nil, false
	}
	for range attempts {
		reg := &s.regs[s.live[r.IntN(len(s.live))]]
		if fits(reg) {
			return reg, true
		}
	}
	start := r.IntN(len(s.live))
	for k := range s.live {
		reg := &s.regs[s.live[(start+k)%len(s.live)]]
		if fits(reg) {
			return reg, true
		}
	}
	return nil, false
}

// DeleteEnrollment makes a registration vanish from every route, as if the
// vendor had purged it. It implements simkit.Backend.
func (s *Sim) DeleteEnrollment(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg, ok := s.lookupRegistration(id)
	if !ok {
		return false
	}
	i := s.regIndex[reg.id]
	reg.deleted = true
	delete(s.regIndex, reg.id)
	s.live = removeSorted(s.live, i)
	s.byUser[reg.user] = removeSorted(s.byUser[reg.user], i)
	s.byOffering[reg.offering] = removeSorted(s.byOffering[reg.offering], i)
	return true
}

func removeSorted(list []int32, v int32) []int32 {
	if at, found := slices.BinarySearch(list, v); found {
		return slices.Delete(list, at, at+1)
	}
	return list
}
