package canvas

import (
	"context"
	"net/http"
	"net/url"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// The withdraw modes: DELETE task=delete (soft delete, the default) or
// task=deactivate (stays on the roster, cannot participate), seed 004 and
// providers.md §1.8.
const (
	WithdrawDelete     = "delete"
	WithdrawDeactivate = "deactivate"
)

// Enroll creates an enrollment (POST /api/v1/courses/:id/enrollments, or the
// section URL when SectionID is given) and reads it back.
//
// Canvas answers a duplicate with the existing enrollment, reviving a
// deleted, rejected or completed one with the same id (providers.md §1.7), so
// the POST is safe to repeat and is retried like a GET.
func (c *Connector) Enroll(ctx context.Context, p provider.EnrollParams) (*lms.CourseEnrollment, error) {
	typ, ok := typeOf(p.Role)
	switch {
	case !ok:
		return nil, invalid("Canvas has no enrollment type for role " + string(p.Role))
	case p.UserID == "":
		return nil, invalid("user_id is required")
	case p.CourseID == "" && p.SectionID == "":
		return nil, invalid("course_id or section_id is required")
	case p.DueAt != nil:
		return nil, invalid("Canvas enrollments have no due date")
	}
	path := "/api/v1/courses/" + url.PathEscape(p.CourseID) + "/enrollments"
	if p.SectionID != "" {
		path = "/api/v1/sections/" + url.PathEscape(p.SectionID) + "/enrollments"
	}
	form := url.Values{
		"enrollment[user_id]":          {p.UserID},
		"enrollment[type]":             {typ},
		"enrollment[enrollment_state]": {c.enrollState},
		"enrollment[notify]":           {"false"},
	}
	postURL := c.apiURL(path, nil)
	resp, err := c.call(ctx, http.MethodPost, postURL, form, true)
	if err != nil {
		return nil, err
	}
	var created enrollment
	if err := decode(http.MethodPost, postURL, resp, &created); err != nil {
		return nil, err
	}
	if created.ID == "" {
		return nil, malformed(http.MethodPost, postURL, resp, errNoID)
	}
	return c.EnrollmentGet(ctx, string(created.ID))
}

// Complete concludes an enrollment (DELETE task=conclude → completed).
func (c *Connector) Complete(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error) {
	return c.act(ctx, enrollmentID, http.MethodDelete, "", url.Values{"task": {"conclude"}}, false, "completed")
}

// WithdrawModes lists the DELETE tasks that withdraw, the default first.
func (c *Connector) WithdrawModes() []string { return []string{WithdrawDelete, WithdrawDeactivate} }

// Withdraw deletes (soft) or deactivates an enrollment; both read as
// withdrawn (DESIGN.md status table).
func (c *Connector) Withdraw(ctx context.Context, p provider.WithdrawParams) (*lms.CourseEnrollment, error) {
	mode := p.Mode
	if mode == "" {
		mode = WithdrawDelete
	}
	if mode != WithdrawDelete && mode != WithdrawDeactivate {
		return nil, invalid("Canvas withdraw mode must be delete or deactivate, not " + mode)
	}
	done := map[string]string{WithdrawDelete: "deleted", WithdrawDeactivate: "inactive"}[mode]
	return c.act(ctx, p.EnrollmentID, http.MethodDelete, "", url.Values{"task": {mode}}, false, done)
}

// Reactivate brings an inactive enrollment back to active (PUT reactivate;
// Canvas refuses any other state with 400 "enrollment not inactive", §1.9).
func (c *Connector) Reactivate(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error) {
	return c.act(ctx, enrollmentID, http.MethodPut, "/reactivate", nil, false, "")
}

// InvitationAccept accepts a pending invitation. Canvas accepts only for the
// invited user (§1.9), so the admin token masquerades as that user.
func (c *Connector) InvitationAccept(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error) {
	return c.act(ctx, enrollmentID, http.MethodPost, "/accept", nil, true, "")
}

// InvitationReject rejects a pending invitation, as the invited user.
func (c *Connector) InvitationReject(ctx context.Context, enrollmentID string) (*lms.CourseEnrollment, error) {
	return c.act(ctx, enrollmentID, http.MethodPost, "/reject", nil, true, "")
}

// act performs one action on /api/v1/courses/:course_id/enrollments/:id
// (Canvas addresses enrollments under their course, so the id is first looked
// up) and reads the enrollment back. Accept and reject are idempotent in
// Canvas (an accepted or rejected invitation answers success again, §1.9), so
// they are retried like a GET.
//
// When the enrollment is already in the state the action leads to (done), the
// action is not sent: a repeated withdraw or complete succeeds with the record
// as it is, where Canvas might answer 404 for an already deleted enrollment
// (providers.md §1.8, UNCERTAIN).
func (c *Connector) act(ctx context.Context, enrollmentID, method, suffix string, query url.Values, asUser bool, done string) (*lms.CourseEnrollment, error) {
	if enrollmentID == "" {
		return nil, invalid("enrollment id is required")
	}
	current, err := c.EnrollmentGet(ctx, enrollmentID)
	if err != nil {
		return nil, err
	}
	if done != "" && current.RemoteStatus == done {
		return current, nil
	}
	if current.Course == nil {
		return nil, &provider.Error{Kind: provider.KindUpstream, Provider: Name, Message: "enrollment " + enrollmentID + " has no course_id"}
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if asUser {
		if current.User == nil {
			return nil, &provider.Error{Kind: provider.KindUpstream, Provider: Name, Message: "enrollment " + enrollmentID + " has no user_id"}
		}
		q.Set("as_user_id", current.User.ID)
	}
	actURL := c.apiURL("/api/v1/courses/"+url.PathEscape(current.Course.ID)+"/enrollments/"+url.PathEscape(enrollmentID)+suffix, q)
	if _, err := c.call(ctx, method, actURL, nil, true); err != nil {
		return nil, err
	}
	return c.EnrollmentGet(ctx, enrollmentID)
}

func invalid(msg string) error {
	return &provider.Error{Kind: provider.KindInvalidRequest, Provider: Name, Message: msg}
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoID = constError("answer has no enrollment id")
