package absorbsim

import (
	"fmt"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// The write side of the data set. Callers hold Sim.mu for writing.

// remove makes a row vanish from every index (un-enroll and admin delete).
func (d *dataset) remove(e *enrollment) {
	delete(d.enrollments, e.id)
	e.user.enrollments = removeSorted(e.user.enrollments, e)
	e.course.enrollments = removeSorted(e.course.enrollments, e)
	if e.session != nil {
		e.session.enrollments = removeSorted(e.session.enrollments, e)
	}
	for _, lp := range e.lessons {
		for _, a := range lp.attemptList {
			delete(d.attempts, a.id)
		}
	}
}

// enroll creates a new current row for u in c at now.
func (d *dataset) enroll(u *user, c *course, now int64) *enrollment {
	e := &enrollment{
		id:              newGUID(d.ids),
		user:            u,
		course:          c,
		status:          statusNotStarted,
		isActive:        true,
		dateAdded:       now,
		dateEdited:      now,
		courseVersionID: c.versionID,
	}
	d.enrollments[e.id] = e
	u.enrollments = insertSorted(u.enrollments, e)
	c.enrollments = insertSorted(c.enrollments, e)
	return e
}

// reEnroll keeps old as history (isActive=false) and creates the new
// current row (providers.md §2.6: the history reading of isActive is
// UNCERTAIN, but it is what the field's description implies).
func (d *dataset) reEnroll(old *enrollment, now int64) *enrollment {
	old.isActive = false
	old.dateEdited = now
	return d.enroll(old.user, old.course, now)
}

// setSession gives e a session enrollment in ses (nil cancels it).
func (d *dataset) setSession(e *enrollment, ses *session, now int64) {
	if e.session != nil {
		e.session.enrollments = removeSorted(e.session.enrollments, e)
	}
	e.session = ses
	e.sessionEnrollID = guid{}
	if ses != nil {
		e.sessionEnrollID = newGUID(d.ids)
		ses.enrollments = insertSorted(ses.enrollments, e)
	}
	e.sessionEdited = now
	e.dateEdited = now
}

// setStatus moves e to status and keeps the dates that go with it in step.
func setStatus(e *enrollment, status int8, now int64) {
	e.status = status
	switch status {
	case statusComplete:
		if e.dateStarted == 0 {
			e.dateStarted = now
		}
		if e.dateCompleted == 0 {
			e.dateCompleted = now
		}
		e.progress = 100
		if e.course.hasCertificate && e.certificateID.isZero() {
			e.certificateID = newGUIDFrom(e.id, 0xce)
		}
		if e.course.credits > 0 && !e.hasCredits {
			e.credits, e.hasCredits = e.course.credits, true
		}
		if e.course.validityDays > 0 && e.dateExpires == 0 {
			e.dateExpires = e.dateCompleted + e.course.validityDays*day
		}
	case statusInProgress, statusNotComplete, statusFailed, statusPendingEvaluationRequired,
		statusPendingProctor, statusReadyForReview:
		if e.dateStarted == 0 {
			e.dateStarted = now
		}
		e.dateCompleted = 0
	default:
		e.dateCompleted = 0
	}
	e.dateEdited = now
}

// newGUIDFrom derives a stable GUID from another (for rows the simulator
// computes on demand, such as lesson enrollments), so repeated reads agree.
func newGUIDFrom(base guid, salt uint64) guid {
	var a, b uint64
	for i := 0; i < 8; i++ {
		a |= uint64(base[i]) << (8 * i)
		b |= uint64(base[8+i]) << (8 * i)
	}
	a, b = splitmix(a^salt*0x9e3779b97f4a7c15), splitmix(b+salt)
	var g guid
	for i := 0; i < 8; i++ {
		g[i] = byte(a >> (8 * i))
		g[8+i] = byte(b >> (8 * i))
	}
	g[6] = g[6]&0x0f | 0x50
	g[8] = g[8]&0x3f | 0x80
	return g
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// change is one entry of Mutate's answer.
type change struct {
	ID     string `json:"id"`
	Change string `json:"change"`
}

// Mutate makes count realistic changes reproducible from seed. Each bumps
// dateEdited to the simulator's now, so incremental syncs see them.
func (s *Sim) Mutate(count int, seed uint64) (any, error) {
	if count > 100_000 {
		return nil, fmt.Errorf("count %d is too large (max 100000)", count)
	}
	r := simkit.RNG(seed, "absorb/mutate")
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data
	now := s.now()
	out := make([]change, 0, count+count/8)
	made := 0
	pickCurrent := func() *enrollment {
		for tries := 0; tries < 50; tries++ {
			c := d.courses[r.IntN(len(d.courses))]
			if len(c.enrollments) == 0 {
				continue
			}
			if e := c.enrollments[r.IntN(len(c.enrollments))]; e.isActive {
				return e
			}
		}
		return nil
	}
	for ; made < count; made++ {
		switch kind := r.IntN(10); {
		case kind < 2: // a new enrollment, or a re-enrollment where one exists
			u, c := d.users[r.IntN(len(d.users))], d.courses[r.IntN(len(d.courses))]
			if old := u.currentIn(c); old != nil {
				e := d.reEnroll(old, now)
				// The superseded row is listed too: it changed (isActive
				// and dateEdited), but it is part of one change.
				out = append(out, change{old.id.String(), "history"}, change{e.id.String(), "re-enrolled"})
				continue
			}
			e := d.enroll(u, c, now)
			out = append(out, change{e.id.String(), "enrolled"})
		case kind < 3:
			e := pickCurrent()
			if e == nil {
				made--
				continue
			}
			d.remove(e)
			out = append(out, change{e.id.String(), "unenrolled"})
		default:
			e := pickCurrent()
			if e == nil {
				made--
				continue
			}
			switch r.IntN(4) {
			case 0:
				setStatus(e, statusComplete, now)
				out = append(out, change{e.id.String(), "completed"})
			case 1:
				e.score = float64(r.IntN(1001)) / 10
				e.dateEdited = now
				out = append(out, change{e.id.String(), "score"})
			case 2:
				setStatus(e, statusInProgress, now)
				e.progress = float64(5 + r.IntN(90))
				out = append(out, change{e.id.String(), "status"})
			default:
				setStatus(e, []int8{statusFailed, statusNotComplete, statusDeclined, statusPendingApproval}[r.IntN(4)], now)
				out = append(out, change{e.id.String(), "status"})
			}
		}
	}
	return out, nil
}
