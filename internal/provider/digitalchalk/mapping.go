package digitalchalk

import (
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
)

// DigitalChalk registration statuses (seed 000, §3.3).
const (
	remoteActive  = "active"
	remotePassed  = "passed"
	remoteFailed  = "failed"
	remoteEjected = "ejected"
)

// unifiedStatus is the one status table of DESIGN.md for DigitalChalk: an
// active registration is in progress once the learner began (beginDate set),
// else merely enrolled; passed and failed are the LMS's verdicts; an ejected
// learner is withdrawn; anything else is unknown rather than guessed.
func unifiedStatus(remoteStatus, beginDate string) lms.Status {
	switch remoteStatus {
	case remoteActive:
		if beginDate != "" {
			return lms.StatusInProgress
		}
		return lms.StatusEnrolled
	case remotePassed:
		return lms.StatusPassed
	case remoteFailed:
		return lms.StatusFailed
	case remoteEjected:
		return lms.StatusWithdrawn
	}
	return lms.StatusUnknown
}

// attempts places one registration among all of a user's registrations of
// the same offering (retakes, §3.3).
type attempts struct {
	number, count int
}

// toEnrollment maps a registration. who is the learner as GET /users knows
// them, nil when not looked up; try is nil when attempts were not counted.
func toEnrollment(r registration, who *lms.User, try *attempts) lms.CourseEnrollment {
	e := lms.CourseEnrollment{
		ID:           r.ID,
		Status:       unifiedStatus(r.Status, r.BeginDate),
		Provider:     Name,
		RemoteStatus: r.Status,
		// A registration is always a learner's seat in an offering; DigitalChalk
		// has no instructor registrations.
		Role:       lms.RoleLearner,
		RemoteData: r.raw,
	}
	if r.UserID != "" {
		e.User = &lms.User{ID: r.UserID}
		if who != nil && who.ID == r.UserID {
			u := *who
			e.User = &u
		}
	}
	if r.OfferingID != "" || r.Title != "" {
		e.Course = &lms.Course{ID: r.OfferingID, Title: r.Title}
	}
	created := parseTime(r.CreatedDate)
	e.EnrolledAt = created
	e.CreatedAt = created
	e.StartedAt = parseTime(r.BeginDate)
	e.LastActivityAt = parseTime(r.LastActiveDate)
	// endDate is also set at ejection (§3.3); an ejected learner did not
	// complete, so only a verdict makes it a completion. remote_data keeps it.
	if r.Status == remotePassed || r.Status == remoteFailed {
		e.CompletedAt = parseTime(r.EndDate)
	}
	if r.Grade != nil {
		e.Score = lms.Ptr(float64(*r.Grade))
	}
	// graderId is who assigned the grade (or the API token's user), not who
	// assigned the course, so it is not assigned_by.
	if r.GraderID != "" || r.GraderComment != "" {
		e.CustomFields = map[string]any{}
		if r.GraderID != "" {
			e.CustomFields["grader_id"] = r.GraderID
		}
		if r.GraderComment != "" {
			e.CustomFields["grader_comment"] = r.GraderComment
		}
	}
	if try != nil && try.number > 0 {
		e.AttemptNumber = lms.Ptr(try.number)
		e.AttemptsCount = lms.Ptr(try.count)
		e.IsCurrent = lms.Ptr(try.number == try.count)
	}
	return e
}

// toUser maps a DigitalChalk user.
func toUser(u user) lms.User {
	out := lms.User{ID: u.ID, Name: strings.TrimSpace(u.FirstName + " " + u.LastName)}
	if u.Email != "" {
		// DigitalChalk keeps one address per user, so it is the primary one.
		out.Emails = []lms.Email{{Email: u.Email, IsPrimary: lms.Ptr(true)}}
	}
	return out
}

// timeLayouts are the forms a DigitalChalk date may take: the documented
// ISO-8601 UTC form with Z (§3.3), with or without fractions, and, since the
// Date/Time Format page was not read, a zone-less form taken as UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"}

// parseTime returns the instant in UTC, or nil when the value is absent or in
// no known form (the raw value stays in remote_data).
func parseTime(v string) *time.Time {
	if v == "" {
		return nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return lms.UTC(t)
		}
	}
	return nil
}
