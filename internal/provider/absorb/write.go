package absorb

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// withdrawModeUnenroll is Absorb's only way to withdraw: un-enroll by
// enrollment ids (§2.3 #7).
const withdrawModeUnenroll = "unenroll"

// isAttemptStatus: a finish accepts 1, 3 and 5 only (seed 003).
func isAttemptStatus(status int) bool {
	return status == statusInProgress || status == statusComplete || status == statusFailed
}

// Enroll creates an enrollment of a user in a course (§2.3 #4), or, with a
// SectionID, an ILC enrollment into that session (§2.3 #11), and returns it
// as Absorb now has it.
func (c *Connector) Enroll(ctx context.Context, params provider.EnrollParams) (*lms.CourseEnrollment, error) {
	return c.create(ctx, params, false)
}

// ReEnroll creates a new attempt with reEnroll=true; Absorb keeps the old one
// as a historical enrollment (isActive=false → is_current=false).
func (c *Connector) ReEnroll(ctx context.Context, params provider.EnrollParams) (*lms.CourseEnrollment, error) {
	return c.create(ctx, params, true)
}

func (c *Connector) create(ctx context.Context, params provider.EnrollParams, reEnroll bool) (*lms.CourseEnrollment, error) {
	if strings.TrimSpace(params.UserID) == "" || strings.TrimSpace(params.CourseID) == "" {
		return nil, invalid("enrolling needs a user id and a course id")
	}
	if params.Role != "" && params.Role != lms.RoleLearner {
		return nil, invalid("Absorb enrolls learners only; role %q cannot be set", params.Role)
	}
	if params.DueAt != nil {
		return nil, invalid("Absorb's create operations take no due date (dateDue is not settable, seed 003)")
	}
	var query url.Values
	if reEnroll {
		query = url.Values{"reEnroll": {"true"}}
	}
	req := request{route: routeEnroll, query: query, params: map[string]string{"userId": params.UserID, "courseId": params.CourseID}}
	if params.SectionID != "" {
		req.route = routeSessionEnroll
		req.params["sessionId"] = params.SectionID
	}
	var answer createAnswer
	if err := c.call(ctx, req, &answer); err != nil {
		return nil, err
	}
	if answer.EnrollmentID == "" {
		r := c.routes[req.route]
		return nil, providerErr(provider.KindUpstream, r.Method, c.url(r, req.params, query), 0, "Absorb created an enrollment but did not answer its enrollmentId", nil)
	}
	e, err := c.EnrollmentGet(ctx, answer.EnrollmentID)
	if err != nil {
		return nil, err
	}
	if params.SectionID != "" {
		// The course enrollment record does not carry the session; the
		// create answer does.
		sessionID := answer.SessionID
		if sessionID == "" {
			sessionID = params.SectionID
		}
		e.Section = &lms.Section{ID: sessionID}
	}
	return e, nil
}

// Score records a score, optionally with an outcome and completion date,
// through create-or-update (§2.3 #5).
func (c *Connector) Score(ctx context.Context, params provider.ScoreParams) (*lms.CourseEnrollment, error) {
	if params.Score < 0 || params.Score > 100 {
		return nil, invalid("score %v is outside 0-100 (Absorb scores are percentages)", params.Score)
	}
	body := upsertBody{Score: lms.Ptr(params.Score)}
	if params.Status != "" {
		code, ok := statusCode(params.Status)
		if !ok {
			return nil, invalid("Absorb cannot set status %q; it can set %v", params.Status, c.SettableStatuses())
		}
		body.Status = &code
	}
	body.DateCompleted = formatTime(params.CompletedAt)
	return c.upsert(ctx, params.EnrollmentID, body)
}

// SetStatus sets an enrollment's status through create-or-update.
func (c *Connector) SetStatus(ctx context.Context, params provider.StatusParams) (*lms.CourseEnrollment, error) {
	code, ok := statusCode(params.Status)
	if !ok {
		return nil, invalid("Absorb cannot set status %q; it can set %v", params.Status, c.SettableStatuses())
	}
	return c.upsert(ctx, params.EnrollmentID, upsertBody{Status: &code, DateCompleted: formatTime(params.CompletedAt)})
}

// SettableStatuses lists the targets of SetStatus.
func (c *Connector) SettableStatuses() []lms.Status {
	rows := settableStatuses()
	out := make([]lms.Status, len(rows))
	for i, row := range rows {
		out[i] = row.Status
	}
	return out
}

// upsert reads the enrollment (the operation is addressed by user and
// course), sends the change for exactly that enrollment id, and reads the
// result back.
func (c *Connector) upsert(ctx context.Context, enrollmentID string, body upsertBody) (*lms.CourseEnrollment, error) {
	current, err := c.EnrollmentGet(ctx, enrollmentID)
	if err != nil {
		return nil, err
	}
	if current.User == nil || current.Course == nil {
		return nil, invalid("enrollment %s has no user or course id to address the update", enrollmentID)
	}
	body.ID, body.CourseID = current.ID, current.Course.ID
	var answer createAnswer
	req := request{route: routeEnrollmentUpsert, params: map[string]string{"userId": current.User.ID}, body: body}
	if err := c.call(ctx, req, &answer); err != nil {
		return nil, err
	}
	id := answer.EnrollmentID
	if id == "" {
		id = enrollmentID
	}
	return c.EnrollmentGet(ctx, id)
}

// Withdraw un-enrolls the learner (§2.3 #7). Absorb then drops the record
// from its listings, so the answer is the last known record with status
// withdrawn; the next full sync marks it deleted.
func (c *Connector) Withdraw(ctx context.Context, params provider.WithdrawParams) (*lms.CourseEnrollment, error) {
	if params.Mode != "" && params.Mode != withdrawModeUnenroll {
		return nil, invalid("Absorb withdraws only by %q, not %q", withdrawModeUnenroll, params.Mode)
	}
	last, err := c.EnrollmentGet(ctx, params.EnrollmentID)
	if err != nil {
		return nil, err
	}
	if err := c.call(ctx, request{route: routeUnenroll, body: []string{params.EnrollmentID}}, nil); err != nil {
		return nil, err
	}
	last.Status = lms.StatusWithdrawn
	return last, nil
}

// WithdrawModes lists the ways to withdraw.
func (c *Connector) WithdrawModes() []string { return []string{withdrawModeUnenroll} }

// LessonAttemptStart starts an attempt of a lesson of an active enrollment
// (§2.3 #21) and returns the attempt id.
func (c *Connector) LessonAttemptStart(ctx context.Context, params provider.LessonAttemptParams) (string, error) {
	if params.UserID == "" || params.CourseID == "" || params.LessonID == "" {
		return "", invalid("starting a lesson attempt needs a user, course and lesson id")
	}
	var answer attemptStartAnswer
	req := request{route: routeAttemptStart, params: map[string]string{
		"userId": params.UserID, "courseId": params.CourseID, "lessonId": params.LessonID,
	}}
	if err := c.call(ctx, req, &answer); err != nil {
		return "", err
	}
	if answer.AttemptID == "" {
		r := c.routes[routeAttemptStart]
		return "", providerErr(provider.KindUpstream, r.Method, c.url(r, req.params, nil), 0, "Absorb started an attempt but did not answer its attemptId", nil)
	}
	return answer.AttemptID, nil
}

// LessonAttemptFinish finishes an attempt with status 1, 3 or 5 (§2.3 #22),
// checked before the call.
func (c *Connector) LessonAttemptFinish(ctx context.Context, params provider.LessonAttemptFinishParams) error {
	if params.AttemptID == "" {
		return invalid("finishing a lesson attempt needs its attempt id")
	}
	if !isAttemptStatus(params.Status) {
		return invalid("attempt status %d is not one of 1 (in progress), 3 (complete), 5 (failed)", params.Status)
	}
	if params.Score != nil && (*params.Score < 0 || *params.Score > 100) {
		return invalid("attempt score %v is outside 0-100", *params.Score)
	}
	body := attemptFinishBody{
		Status:         params.Status,
		Score:          params.Score,
		StartDate:      formatTime(params.StartedAt),
		CompletionDate: formatTime(params.CompletedAt),
	}
	return c.call(ctx, request{route: routeAttemptFinish, params: map[string]string{"attemptId": params.AttemptID}, body: body}, nil)
}

// formatTime writes a time as Absorb's samples do (RFC 3339 UTC, seed 003).
func formatTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	return lms.Ptr(t.UTC().Format(time.RFC3339))
}

// Complete marks an enrollment complete: create-or-update with Status 3
// (DESIGN.md "Writes", Absorb column).
func (c *Connector) Complete(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error) {
	return c.SetStatus(ctx, provider.StatusParams{EnrollmentID: enrollmentID, Status: lms.StatusCompleted})
}
