package digitalchalk

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// withdrawModeEject is DigitalChalk's only way to withdraw (§3.3).
const withdrawModeEject = "eject"

// The writes DigitalChalk supports (DESIGN.md "Writes").
var (
	_ provider.Enroller         = (*Connector)(nil)
	_ provider.ReEnroller       = (*Connector)(nil)
	_ provider.Scorer           = (*Connector)(nil)
	_ provider.Withdrawer       = (*Connector)(nil)
	_ provider.ConnectionTester = (*Connector)(nil)
	_ httpx.StatsReporter       = (*Connector)(nil)
)

// Enroll registers a user into an offering (POST /registrations, §3.3) and
// returns the registration as DigitalChalk then has it. DigitalChalk refuses
// (400) a user who is already registered or may not retake the offering.
func (c *Connector) Enroll(ctx context.Context, params provider.EnrollParams) (*lms.CourseEnrollment, error) {
	return c.register(ctx, params)
}

// ReEnroll starts a new attempt where the offering allows retakes: in
// DigitalChalk that is the same POST, and the earlier registrations stay as
// history. Where retakes are not allowed DigitalChalk's 400 ("not available
// for registration") comes back as KindInvalidRequest with its message.
func (c *Connector) ReEnroll(ctx context.Context, params provider.EnrollParams) (*lms.CourseEnrollment, error) {
	return c.register(ctx, params)
}

func (c *Connector) register(ctx context.Context, params provider.EnrollParams) (*lms.CourseEnrollment, error) {
	var problems []string
	if params.UserID == "" {
		problems = append(problems, "a user id is required")
	}
	if params.CourseID == "" {
		problems = append(problems, "a course (offering) id is required")
	}
	if params.SectionID != "" {
		problems = append(problems, "DigitalChalk offerings have no sections")
	}
	if params.Role != "" && params.Role != lms.RoleLearner {
		problems = append(problems, fmt.Sprintf("DigitalChalk registers learners only, not %s", params.Role))
	}
	if params.DueAt != nil {
		problems = append(problems, "DigitalChalk registrations have no due date")
	}
	if len(problems) > 0 {
		return nil, invalid(strings.Join(problems, "; "))
	}
	rawURL := c.endpoint(pathRegistrations, nil)
	// Other properties are ignored by DigitalChalk (§3.3), so none are sent.
	resp, err := c.call(ctx, http.MethodPost, rawURL, map[string]string{
		"userId":     params.UserID,
		"offeringId": params.CourseID,
	})
	if err != nil {
		return nil, err
	}
	id := idFromLocation(resp.Header.Get("Location"))
	if id == "" {
		// 201 comes with an empty body and the id only in Location (§3.3).
		var r registration
		if decode(http.MethodPost, rawURL, resp, &r) == nil {
			id = r.ID
		}
	}
	if id == "" {
		return nil, upstream(http.MethodPost, rawURL,
			"DigitalChalk answered HTTP %d without a Location naming the new registration; it was probably created: list the user's registrations before retrying", resp.Status)
	}
	return c.readBack(ctx, id, "registered")
}

// idFromLocation takes the registration id from a Location such as
// /dc/api/v5/registrations/<id> (absolute or relative).
func idFromLocation(location string) string {
	u, err := url.Parse(strings.TrimSpace(location))
	if err != nil || u.Path == "" {
		return ""
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.Contains(p, pathRegistrations+"/") {
		return ""
	}
	return path.Base(p)
}

// Score assigns a grade (PUT /registrations/{id}, §3.3). DigitalChalk stops
// the learner's progress and decides passed or failed from the course's
// passing grade; the outcome is read back, never inferred from the number.
func (c *Connector) Score(ctx context.Context, params provider.ScoreParams) (*lms.CourseEnrollment, error) {
	var problems []string
	if params.EnrollmentID == "" {
		problems = append(problems, "an enrollment id is required")
	}
	if math.IsNaN(params.Score) || params.Score < 0 || params.Score > 100 {
		problems = append(problems, fmt.Sprintf("score %v is outside 0-100", params.Score))
	}
	if params.Status != "" {
		problems = append(problems, "DigitalChalk decides passed or failed from the grade itself; send the score without a status")
	}
	if params.CompletedAt != nil {
		problems = append(problems, "DigitalChalk sets the completion date itself")
	}
	if len(problems) > 0 {
		return nil, invalid(strings.Join(problems, "; "))
	}
	rawURL := c.endpoint(pathRegistrations+"/"+url.PathEscape(params.EnrollmentID), nil)
	if _, err := c.call(ctx, http.MethodPut, rawURL, map[string]float64{c.gradeProperty: params.Score}); err != nil {
		return nil, err
	}
	return c.readBack(ctx, params.EnrollmentID, "graded")
}

// Withdraw ejects the learner (PUT status=ejected, §3.3). DigitalChalk allows
// it only while the registration is active; otherwise its 400 fieldErrors
// message comes back as KindInvalidRequest.
func (c *Connector) Withdraw(ctx context.Context, params provider.WithdrawParams) (*lms.CourseEnrollment, error) {
	if params.Mode != "" && params.Mode != withdrawModeEject {
		return nil, invalid(fmt.Sprintf("withdraw mode %q is not one of DigitalChalk's: %s", params.Mode, withdrawModeEject))
	}
	if params.EnrollmentID == "" {
		return nil, invalid("an enrollment id is required")
	}
	rawURL := c.endpoint(pathRegistrations+"/"+url.PathEscape(params.EnrollmentID), nil)
	if _, err := c.call(ctx, http.MethodPut, rawURL, map[string]string{"status": remoteEjected}); err != nil {
		return nil, err
	}
	return c.readBack(ctx, params.EnrollmentID, "ejected")
}

// WithdrawModes lists the ways DigitalChalk withdraws a learner.
func (c *Connector) WithdrawModes() []string { return []string{withdrawModeEject} }

// readBack reads a registration after a successful write. If that read fails
// the write still happened, and the error says so.
func (c *Connector) readBack(ctx context.Context, id, done string) (*lms.CourseEnrollment, error) {
	e, err := c.EnrollmentGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("digitalchalk: registration %s was %s, but reading it back failed: %w", id, done, err)
	}
	return e, nil
}

func invalid(msg string) *provider.Error {
	return &provider.Error{Kind: provider.KindInvalidRequest, Provider: Name, Message: msg}
}
