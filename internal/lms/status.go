package lms

import (
	"fmt"
	"strings"
	"time"
)

// Status is the lifecycle status of a learner in a course: one of the ten
// values of seed 002.
type Status string

// The ten statuses of seed 002.
const (
	StatusAssigned   Status = "assigned"
	StatusEnrolled   Status = "enrolled"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusPassed     Status = "passed"
	StatusFailed     Status = "failed"
	StatusWithdrawn  Status = "withdrawn"
	StatusExpired    Status = "expired"
	StatusOverdue    Status = "overdue"
	StatusUnknown    Status = "unknown"
)

// Statuses lists every status in the order of seed 002.
var Statuses = []Status{
	StatusAssigned, StatusEnrolled, StatusInProgress, StatusCompleted, StatusPassed,
	StatusFailed, StatusWithdrawn, StatusExpired, StatusOverdue, StatusUnknown,
}

// ParseStatus accepts exactly one of the ten values; anything else, including
// a different case, is an error.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	allowed := make([]string, len(Statuses))
	for i, st := range Statuses {
		allowed[i] = string(st)
	}
	return "", &ValueError{Field: "status", Value: s, Allowed: allowed}
}

// IsOpen reports whether a learner with this stored status still has the
// course to finish, which is what makes a passed due date "overdue".
func (s Status) IsOpen() bool {
	switch s {
	case StatusAssigned, StatusEnrolled, StatusInProgress:
		return true
	}
	return false
}

// OpenStatuses are the stored statuses that can become overdue.
var OpenStatuses = []Status{StatusAssigned, StatusEnrolled, StatusInProgress}

// IsDerived reports whether the status is computed from the clock rather than
// stored: connectors never produce these.
func (s Status) IsDerived() bool { return s == StatusOverdue || s == StatusExpired }

// EffectiveStatus is the status a reader sees at time now: the stored status,
// unless a date has passed.
//
//   - expired: expires_at is at or before now and the learner was not
//     withdrawn (an expired certification must show, whatever its grade);
//   - overdue: due_at is before now and the stored status is still open
//     (assigned, enrolled or in progress).
//
// It is a pure function of the record and the clock, so it is right even when
// nothing was synced since the date passed.
func EffectiveStatus(stored Status, dueAt, expiresAt *time.Time, now time.Time) Status {
	if stored == StatusWithdrawn {
		return stored
	}
	if expiresAt != nil && !expiresAt.After(now) {
		return StatusExpired
	}
	if dueAt != nil && dueAt.Before(now) && stored.IsOpen() {
		return StatusOverdue
	}
	return stored
}

// Effective returns a copy of e whose Status is EffectiveStatus at now.
func (e CourseEnrollment) Effective(now time.Time) CourseEnrollment {
	e.Status = EffectiveStatus(e.Status, e.DueAt, e.ExpiresAt, now)
	return e
}

// ValueError reports a value outside an enumeration.
type ValueError struct {
	Field   string
	Value   string
	Allowed []string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("invalid %s %q: must be one of %s", e.Field, e.Value, strings.Join(e.Allowed, ", "))
}
