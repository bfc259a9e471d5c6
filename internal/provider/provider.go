// Package provider is the contract between Registrar and an LMS connector.
//
// Every connector implements Reader. Each write it supports is one more small
// interface (Enroller, Scorer, Withdrawer, ...); Capabilities derives the
// capability matrix from which of them a connector implements, so the matrix
// can never drift from the code. A connector implements only what its LMS can
// do: no stub methods returning "not supported".
//
// Semantics shared by every method:
//   - calls block until the LMS answered (after the retries of package httpx)
//     or ctx is done; a cancelled ctx stops a call promptly and returns
//     ctx.Err() (possibly wrapped);
//   - failures are *Error values with a Kind (see errors.go), so callers decide
//     on retries and HTTP statuses without knowing the vendor.
package provider

import (
	"context"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
)

// Reader lists and reads one LMS account's enrollments, users and courses.
type Reader interface {
	// Provider names the connector ("canvas", "absorb", "digitalchalk").
	Provider() string

	// EnrollmentPage returns one page of enrollments. An empty Cursor starts
	// from the beginning; the page's NextCursor resumes right after it, also in
	// a new process (cursors are opaque strings the caller stores and hands
	// back verbatim). NextCursor is "" after the last page. Every enrollment
	// appears exactly once across the pages of one walk.
	EnrollmentPage(ctx context.Context, params EnrollmentPageParams) (*EnrollmentPage, error)

	// EnrollmentGet reads one enrollment by its id (lms.CourseEnrollment.ID).
	// An unknown id is an *Error of KindNotFound.
	EnrollmentGet(ctx context.Context, id string) (*lms.CourseEnrollment, error)

	// UserPage and CoursePage list the people and courses enrollments point at.
	UserPage(ctx context.Context, cursor string) (*UserPage, error)
	CoursePage(ctx context.Context, cursor string) (*CoursePage, error)
}

// EnrollmentPageParams selects a page of enrollments.
type EnrollmentPageParams struct {
	Cursor string
	// ChangedSince, when set, asks only for records modified at or after it.
	// Only connectors implementing IncrementalReader honour it; others must
	// return an *Error of KindInvalidRequest rather than silently list all.
	ChangedSince *time.Time
}

// EnrollmentPage is one page of a walk.
type EnrollmentPage struct {
	Enrollments []lms.CourseEnrollment
	// NextCursor resumes after this page; "" means the walk is complete.
	NextCursor string
	// Total is the number of records of the whole walk when the LMS says so,
	// else -1. Progress bars use it; correctness never does.
	Total int
}

// UserPage is one page of users.
type UserPage struct {
	Users      []lms.User
	NextCursor string
}

// CoursePage is one page of courses.
type CoursePage struct {
	Courses    []lms.Course
	NextCursor string
}

// IncrementalReader marks a connector whose LMS can filter enrollments by
// modification time, so EnrollmentPage honours ChangedSince.
type IncrementalReader interface {
	Reader
	SupportsChangedSince() bool
}

// ConnectionTester checks settings and credentials against the LMS with the
// fewest calls that prove reading works. Its error says exactly what failed.
type ConnectionTester interface {
	ConnectionTest(ctx context.Context) error
}

// EnrollParams asks for a new enrollment.
type EnrollParams struct {
	UserID    string
	CourseID  string
	SectionID string   // Canvas section or Absorb ILC session; "" for none
	Role      lms.Role // "" means learner
	DueAt     *time.Time
}

// Enroller enrolls a user in a course. On success it returns the enrollment as
// the LMS now has it (read back, not guessed).
type Enroller interface {
	Enroll(ctx context.Context, params EnrollParams) (*lms.CourseEnrollment, error)
}

// ReEnroller starts a new attempt of a course the user took before, keeping
// the old attempt as history (is_current=false).
type ReEnroller interface {
	ReEnroll(ctx context.Context, params EnrollParams) (*lms.CourseEnrollment, error)
}

// ScoreParams records a score (0-100) on an enrollment.
type ScoreParams struct {
	EnrollmentID string
	Score        float64
	// Status optionally sets the outcome together with the score where the LMS
	// takes both in one call (Absorb). "" lets the LMS decide (DigitalChalk
	// derives passed/failed from the pass mark).
	Status      lms.Status
	CompletedAt *time.Time
}

// Scorer records scores.
type Scorer interface {
	Score(ctx context.Context, params ScoreParams) (*lms.CourseEnrollment, error)
}

// StatusParams moves an enrollment to a target status the LMS supports.
type StatusParams struct {
	EnrollmentID string
	Status       lms.Status
	CompletedAt  *time.Time
}

// StatusSetter sets an enrollment's status directly (Absorb create-or-update).
// SettableStatuses lists the targets it accepts.
type StatusSetter interface {
	SetStatus(ctx context.Context, params StatusParams) (*lms.CourseEnrollment, error)
	SettableStatuses() []lms.Status
}

// Completer marks an enrollment completed (Canvas conclude).
type Completer interface {
	Complete(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error)
}

// WithdrawParams withdraws a learner.
type WithdrawParams struct {
	EnrollmentID string
	// Mode picks among the LMS's ways to withdraw; "" is the connector's
	// default (its first WithdrawModes entry).
	Mode string
}

// Withdrawer withdraws learners. WithdrawModes lists the modes it accepts.
type Withdrawer interface {
	Withdraw(ctx context.Context, params WithdrawParams) (*lms.CourseEnrollment, error)
	WithdrawModes() []string
}

// Reactivator brings a deactivated enrollment back (Canvas reactivate).
type Reactivator interface {
	Reactivate(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error)
}

// InvitationResponder accepts or rejects a pending invitation (Canvas).
type InvitationResponder interface {
	InvitationAccept(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error)
	InvitationReject(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error)
}

// LessonAttemptParams addresses a lesson of a user's course enrollment.
type LessonAttemptParams struct {
	UserID   string
	CourseID string
	LessonID string
}

// LessonAttemptFinishParams finishes an attempt with status 1 (in progress),
// 3 (complete) or 5 (failed), as Absorb defines them.
type LessonAttemptFinishParams struct {
	AttemptID   string
	Status      int
	Score       *float64
	StartedAt   *time.Time
	CompletedAt *time.Time
}

// LessonAttempter starts and finishes lesson attempts (Absorb).
type LessonAttempter interface {
	LessonAttemptStart(ctx context.Context, params LessonAttemptParams) (attemptID string, err error)
	LessonAttemptFinish(ctx context.Context, params LessonAttemptFinishParams) error
}

// Capabilities derives what a connector can do from the interfaces it
// implements, in a stable order.
func Capabilities(r Reader) []lms.Capability {
	var caps []lms.Capability
	add := func(ok bool, c lms.Capability) {
		if ok {
			caps = append(caps, c)
		}
	}
	_, enroll := r.(Enroller)
	_, reenroll := r.(ReEnroller)
	_, score := r.(Scorer)
	_, complete := r.(Completer)
	_, setStatus := r.(StatusSetter)
	_, withdraw := r.(Withdrawer)
	_, reactivate := r.(Reactivator)
	_, invitation := r.(InvitationResponder)
	_, lessons := r.(LessonAttempter)
	inc, incremental := r.(IncrementalReader)
	add(enroll, lms.CapabilityEnroll)
	add(reenroll, lms.CapabilityReEnroll)
	add(score, lms.CapabilityScore)
	add(complete, lms.CapabilityComplete)
	add(setStatus, lms.CapabilitySetStatus)
	add(withdraw, lms.CapabilityWithdraw)
	add(reactivate, lms.CapabilityReactivate)
	add(invitation, lms.CapabilityInvitation)
	add(lessons, lms.CapabilityLessonAttempts)
	add(incremental && inc.SupportsChangedSince(), lms.CapabilityIncrementalSync)
	return caps
}

// Has reports whether r has capability c.
func Has(r Reader, c lms.Capability) bool {
	for _, have := range Capabilities(r) {
		if have == c {
			return true
		}
	}
	return false
}
