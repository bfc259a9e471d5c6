package canvassim

import (
	"errors"
	"strconv"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Change describes one change Mutate made.
type Change struct {
	ID     string `json:"id"`
	Change string `json:"change"` // created, state, grade, withdrawn
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

// maxMutations bounds one admin call, so a typo cannot stall the simulator.
const maxMutations = 100000

// Mutate implements simkit.Backend: count realistic changes made "behind a
// connector's back", reproducible from seed. Each bumps updated_at.
func (s *Sim) Mutate(count int, seed uint64) (any, error) {
	if count <= 0 || count > maxMutations {
		return nil, errors.New("count must be between 1 and 100000")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if len(st.users) == 0 || len(st.courses) == 0 {
		return nil, errors.New("the data set has no users or courses")
	}
	r := simkit.RNG(seed, "canvas-mutate")
	now := s.kit.Clock.Now().Unix()
	changes := make([]Change, 0, count)
	// Some draws are not possible changes (a concluded course, a state
	// with no exit); the cap keeps a data set with none from looping.
	for attempt := 0; len(changes) < count && attempt < 100*count; attempt++ {
		var ch Change
		var ok bool
		switch n := r.IntN(100); {
		case n < 25 || st.live == 0:
			ch, ok = s.mutateCreate(r, now)
		case n < 60:
			ch, ok = s.mutateState(r, now)
		case n < 85:
			ch, ok = s.mutateGrade(r, now)
		default:
			ch, ok = s.mutateWithdraw(r, now)
		}
		if ok {
			changes = append(changes, ch)
		}
	}
	return changes, nil
}

// randomLive picks an enrollment that still exists.
func (s *Sim) randomLive(r rng) (int32, *enrollment) {
	for {
		pos := int32(r.IntN(len(s.st.enrollments)))
		if e := &s.st.enrollments[pos]; !e.gone {
			return pos, e
		}
	}
}

func (s *Sim) mutateCreate(r rng, now int64) (Change, bool) {
	st := s.st
	co := int32(r.IntN(len(st.courses)))
	course := &st.courses[co]
	if course.state == courseCompleted {
		return Change{}, false // Canvas refuses enrollments in concluded courses
	}
	e := enrollment{
		id:             enrollmentIDBase + int64(len(st.enrollments)),
		user:           int32(r.IntN(len(st.users))),
		course:         co,
		section:        course.sections[r.IntN(len(course.sections))],
		associatedUser: -1,
		typ:            studentEnrollment,
		state:          defaultState(course, studentEnrollment, ""),
		created:        now,
		updated:        now,
		currentScore:   noScore,
		finalScore:     noScore,
	}
	if course.state == courseAvailable && r.IntN(2) == 0 {
		e.state = stateActive
	}
	for _, pos := range st.userEnrolls[e.user] {
		if o := &st.enrollments[pos]; o.section == e.section && o.typ == e.typ {
			return Change{}, false // would be a duplicate (providers.md §1.7)
		}
	}
	st.enrollments = append(st.enrollments, e)
	st.index(int32(len(st.enrollments) - 1))
	return Change{ID: strconv.FormatInt(e.id, 10), Change: "created", To: e.state.String()}, true
}

// stateMoves are the transitions a school makes through Canvas's UI or
// API (providers.md §1.5).
var stateMoves = map[workflowState][]workflowState{
	stateInvited:         {stateActive, stateActive, stateRejected},
	stateCreationPending: {stateInvited},
	stateActive:          {stateCompleted, stateInactive},
	stateInactive:        {stateActive},
	stateCompleted:       {stateActive},
	stateRejected:        {stateInvited},
}

func (s *Sim) mutateState(r rng, now int64) (Change, bool) {
	_, e := s.randomLive(r)
	moves := stateMoves[e.state]
	if len(moves) == 0 || s.st.courses[e.course].state != courseAvailable {
		return Change{}, false
	}
	from := e.state
	e.state = moves[r.IntN(len(moves))]
	e.completedAt = 0
	if e.state == stateCompleted {
		e.completedAt = now
	}
	if e.state == stateActive && e.lastActivity == 0 && r.IntN(2) == 0 {
		e.lastActivity = now
		e.totalActivity = int32(60 + r.IntN(3600))
	}
	e.updated = now
	return Change{ID: strconv.FormatInt(e.id, 10), Change: "state", From: from.String(), To: e.state.String()}, true
}

// mutateGrade records new work by a student: activity and a new score.
func (s *Sim) mutateGrade(r rng, now int64) (Change, bool) {
	_, e := s.randomLive(r)
	if e.typ != studentEnrollment || e.state != stateActive {
		return Change{}, false
	}
	from := scoreText(e.currentScore)
	e.currentScore = int32(r.IntN(10001))
	e.finalScore = e.currentScore * int32(50+r.IntN(51)) / 100
	e.lastActivity = now
	e.totalActivity += int32(60 + r.IntN(7200))
	e.updated = now
	return Change{ID: strconv.FormatInt(e.id, 10), Change: "grade", From: from, To: scoreText(e.currentScore)}, true
}

func scoreText(v int32) string {
	if v == noScore {
		return ""
	}
	return strconv.FormatFloat(float64(v)/100, 'f', -1, 64)
}

// mutateWithdraw is a school removing someone: DELETE task=delete or
// task=deactivate (providers.md §1.8).
func (s *Sim) mutateWithdraw(r rng, now int64) (Change, bool) {
	_, e := s.randomLive(r)
	if e.state == stateDeleted || e.state == stateInactive {
		return Change{}, false
	}
	from := e.state
	e.state = stateDeleted
	if r.IntN(3) == 0 {
		e.state = stateInactive
	}
	e.updated = now
	return Change{ID: strconv.FormatInt(e.id, 10), Change: "withdrawn", From: from.String(), To: e.state.String()}, true
}
