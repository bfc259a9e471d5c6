package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/store"
)

// Write-back: every write goes to the LMS first; the store, its change event
// and the answer all follow from what the LMS answered (read back by the
// connector), so a client reads its own write and a webhook sees the same
// event a sync would raise. A write the connector cannot do is refused before
// any call (422 capability-missing), an invalid value too (400).

// writeTimeout bounds the LMS calls of one write. The calls are detached from
// the client's connection: a client that hangs up mid-write does not cut the
// LMS call short, so the write's outcome is still stored (and, with an
// Idempotency-Key, replayed to the retry).
const writeTimeout = 3 * time.Minute

// modeConclude is the DELETE mode that completes rather than withdraws.
const modeConclude = "conclude"

// EnrollRequest asks the LMS to enroll a user.
type EnrollRequest struct {
	UserID    string     `json:"user_id" minLength:"1" doc:"The LMS's id of the user."`
	CourseID  string     `json:"course_id,omitempty" doc:"The LMS's id of the course (Canvas accepts section_id alone instead)."`
	SectionID string     `json:"section_id,omitempty" doc:"Canvas section or Absorb instructor-led session to enroll into."`
	Role      string     `json:"role,omitempty" enum:"learner,instructor,teaching_assistant,designer,observer" doc:"Default learner; Absorb and DigitalChalk enroll learners only."`
	DueAt     *time.Time `json:"due_at,omitempty" doc:"Due date, where the LMS takes one on enroll (none of the current providers does: they refuse it)."`
	Reenroll  bool       `json:"reenroll,omitempty" doc:"Start a new attempt of a course the user took before; the previous attempt stays as history with is_current=false (capability reenroll)."`
}

// EnrollmentPatch changes an enrollment's score or status.
type EnrollmentPatch struct {
	Score  *float64 `json:"score,omitempty" minimum:"0" maximum:"100" doc:"Score 0-100 (capability score). DigitalChalk decides passed or failed from the course's pass mark."`
	Status string   `json:"status,omitempty" enum:"completed,passed,failed,in_progress,withdrawn,enrolled" doc:"Target status; GET /v1/capabilities lists each provider's status_targets. completed needs complete or set_status, withdrawn needs withdraw, enrolled needs reactivate (or set_status), passed/failed/in_progress need set_status."`
}

type enrollInput struct {
	CID string `path:"cid" doc:"Connection id."`
	IdempotencyHeader
	Body EnrollRequest
}

type enrollmentPatchInput struct {
	CID string `path:"cid" doc:"Connection id."`
	ID  string `path:"id" doc:"The LMS's enrollment id."`
	IdempotencyHeader
	Body EnrollmentPatch
}

type withdrawInput struct {
	CID  string `path:"cid" doc:"Connection id."`
	ID   string `path:"id" doc:"The LMS's enrollment id."`
	Mode string `query:"mode" doc:"How to withdraw, where the LMS has several (GET /v1/capabilities lists withdraw_modes): Canvas delete (default) or deactivate; Absorb unenroll; DigitalChalk eject. conclude ends the enrollment as completed instead, where the connector can complete (capability complete)."`
	IdempotencyHeader
}

type enrollmentActionInput struct {
	CID string `path:"cid" doc:"Connection id."`
	ID  string `path:"id" doc:"The LMS's enrollment id."`
	IdempotencyHeader
}

// writeAnswer is the answer to a write; B is its body, built from the
// enrollment as stored after the LMS's answer.
type writeAnswer[B any] struct {
	Status   int
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored answer to an earlier request with the same Idempotency-Key."`
	Body     B
}

// writeOutput answers most writes with the enrollment itself.
type writeOutput = writeAnswer[lms.CourseEnrollment]

func sameRecord(e lms.CourseEnrollment) lms.CourseEnrollment { return e }

// writeErrors are the answers every write can give besides the ones op adds.
var writeErrors = []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity,
	http.StatusBadGateway, http.StatusServiceUnavailable}

// write is one write, checked and ready to send.
type write struct {
	conn *store.Connection
	r    provider.Reader
	// status is the success status (201 for a new enrollment).
	status int
	// call asks the LMS and returns the record as the LMS now has it.
	call func(ctx context.Context) (*lms.CourseEnrollment, error)
	// related re-reads records the write changed besides the one it
	// returned (the superseded attempt of a re-enroll).
	related bool
}

func capabilityMissing(providerName string, c lms.Capability, detail string) *Problem {
	p := newProblem(http.StatusUnprocessableEntity, "capability-missing", detail)
	p.Capability, p.Provider = string(c), providerName
	return p
}

func (s *Server) registerWrites() {
	huma.Register(s.api, withStatus(op("connection-enrollments-create", http.MethodPost, "/v1/connections/{cid}/course-enrollments",
		"Enroll a user in a course (or start a new attempt with reenroll)", "course-enrollments", writeErrors...), http.StatusCreated),
		func(ctx context.Context, in *enrollInput) (*writeOutput, error) {
			c, r, err := s.connector(ctx, in.CID)
			if err != nil {
				return nil, err
			}
			w, err := s.enrollWrite(c, r, in.Body)
			if err != nil {
				return nil, err
			}
			return s.execute(ctx, w, in.IdempotencyKey, writeRequest{Method: http.MethodPost,
				Path: "/v1/connections/" + in.CID + "/course-enrollments", Params: in.Body})
		})

	huma.Register(s.api, op("connection-enrollments-update", http.MethodPatch, "/v1/connections/{cid}/course-enrollments/{id}",
		"Score an enrollment or move it to another status", "course-enrollments", writeErrors...),
		func(ctx context.Context, in *enrollmentPatchInput) (*writeOutput, error) {
			c, r, err := s.connector(ctx, in.CID)
			if err != nil {
				return nil, err
			}
			w, err := s.patchWrite(c, r, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return s.execute(ctx, w, in.IdempotencyKey, writeRequest{Method: http.MethodPatch,
				Path: "/v1/connections/" + in.CID + "/course-enrollments/" + in.ID, Params: in.Body})
		})

	huma.Register(s.api, op("connection-enrollments-withdraw", http.MethodDelete, "/v1/connections/{cid}/course-enrollments/{id}",
		"Withdraw a learner; the record stays, with status withdrawn", "course-enrollments", writeErrors...),
		func(ctx context.Context, in *withdrawInput) (*writeOutput, error) {
			c, r, err := s.connector(ctx, in.CID)
			if err != nil {
				return nil, err
			}
			req := writeRequest{Method: http.MethodDelete, Path: "/v1/connections/" + in.CID + "/course-enrollments/" + in.ID,
				Params: map[string]string{"mode": in.Mode}}
			wd, ok := r.(provider.Withdrawer)
			if in.Mode == modeConclude && (!ok || !slices.Contains(wd.WithdrawModes(), modeConclude)) {
				// DESIGN.md lists conclude among the removal modes: it ends
				// the enrollment as completed (Canvas task=conclude).
				cp, ok := r.(provider.Completer)
				if !ok {
					return nil, capabilityMissing(c.Provider, lms.CapabilityComplete, c.Provider+" cannot conclude (complete) enrollments through its API")
				}
				w := &write{conn: c, r: r, status: http.StatusOK, call: func(ctx context.Context) (*lms.CourseEnrollment, error) {
					return cp.Complete(ctx, in.ID)
				}}
				return s.execute(ctx, w, in.IdempotencyKey, req)
			}
			if !ok {
				return nil, capabilityMissing(c.Provider, lms.CapabilityWithdraw, c.Provider+" cannot withdraw learners through its API")
			}
			if in.Mode != "" && !slices.Contains(wd.WithdrawModes(), in.Mode) {
				msg := fmt.Sprintf("%s withdraws with mode %s", c.Provider, strings.Join(wd.WithdrawModes(), " or "))
				return nil, validationProblem("invalid withdraw mode", &huma.ErrorDetail{Location: "query.mode", Message: msg, Value: in.Mode})
			}
			w := &write{conn: c, r: r, status: http.StatusOK, call: func(ctx context.Context) (*lms.CourseEnrollment, error) {
				return wd.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: in.ID, Mode: in.Mode})
			}}
			return s.execute(ctx, w, in.IdempotencyKey, req)
		})

	s.registerLessonAttempts()

	for _, action := range []string{"accept", "reject"} {
		huma.Register(s.api, op("connection-enrollments-"+action, http.MethodPost, "/v1/connections/{cid}/course-enrollments/{id}/"+action,
			strings.ToUpper(action[:1])+action[1:]+" a pending invitation (capability invitation)", "course-enrollments", writeErrors...),
			func(ctx context.Context, in *enrollmentActionInput) (*writeOutput, error) {
				c, r, err := s.connector(ctx, in.CID)
				if err != nil {
					return nil, err
				}
				ir, ok := r.(provider.InvitationResponder)
				if !ok {
					return nil, capabilityMissing(c.Provider, lms.CapabilityInvitation, c.Provider+" has no invitations to accept or reject")
				}
				respond := ir.InvitationAccept
				if action == "reject" {
					respond = ir.InvitationReject
				}
				w := &write{conn: c, r: r, status: http.StatusOK, call: func(ctx context.Context) (*lms.CourseEnrollment, error) {
					return respond(ctx, in.ID)
				}}
				return s.execute(ctx, w, in.IdempotencyKey, writeRequest{Method: http.MethodPost,
					Path: "/v1/connections/" + in.CID + "/course-enrollments/" + in.ID + "/" + action})
			})
	}
}

func withStatus(o huma.Operation, status int) huma.Operation {
	o.DefaultStatus = status
	return o
}

// enrollWrite checks an enroll against what the connector can do.
func (s *Server) enrollWrite(c *store.Connection, r provider.Reader, body EnrollRequest) (*write, error) {
	if body.CourseID == "" && body.SectionID == "" {
		return nil, validationProblem("course_id is required", &huma.ErrorDetail{Location: "body.course_id",
			Message: "give course_id (or, on Canvas, section_id)"})
	}
	p := provider.EnrollParams{UserID: body.UserID, CourseID: body.CourseID, SectionID: body.SectionID, DueAt: body.DueAt}
	if body.Role != "" {
		role, err := lms.ParseRole(body.Role)
		if err != nil {
			return nil, validationProblem("invalid role", &huma.ErrorDetail{Location: "body.role", Message: err.Error(), Value: body.Role})
		}
		p.Role = role
	}
	w := &write{conn: c, r: r, status: http.StatusCreated, related: true}
	if body.Reenroll {
		re, ok := r.(provider.ReEnroller)
		if !ok {
			return nil, capabilityMissing(c.Provider, lms.CapabilityReEnroll, c.Provider+" cannot start a new attempt of a course through its API")
		}
		w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) { return re.ReEnroll(ctx, p) }
		return w, nil
	}
	en, ok := r.(provider.Enroller)
	if !ok {
		return nil, capabilityMissing(c.Provider, lms.CapabilityEnroll, c.Provider+" cannot enroll users through its API")
	}
	w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) { return en.Enroll(ctx, p) }
	return w, nil
}

// statusCapability is what moving to a target status needs when the
// connector cannot do it, for the capability-missing answer.
func statusCapability(target lms.Status) lms.Capability {
	switch target {
	case lms.StatusCompleted:
		return lms.CapabilityComplete
	case lms.StatusWithdrawn:
		return lms.CapabilityWithdraw
	case lms.StatusEnrolled:
		return lms.CapabilityReactivate
	}
	return lms.CapabilitySetStatus
}

func settable(r provider.Reader, target lms.Status) (provider.StatusSetter, bool) {
	ss, ok := r.(provider.StatusSetter)
	return ss, ok && slices.Contains(ss.SettableStatuses(), target)
}

// patchWrite picks the connector call for a score or status change: the
// dedicated operation where the LMS has one (Canvas conclude, reactivate),
// else a direct status change.
func (s *Server) patchWrite(c *store.Connection, r provider.Reader, id string, body EnrollmentPatch) (*write, error) {
	w := &write{conn: c, r: r, status: http.StatusOK}
	if body.Score == nil && body.Status == "" {
		return nil, validationProblem("nothing to change: give score, status or both",
			&huma.ErrorDetail{Location: "body", Message: "give score, status or both"})
	}
	target := lms.Status(body.Status)
	if body.Score != nil {
		sc, ok := r.(provider.Scorer)
		if !ok {
			return nil, capabilityMissing(c.Provider, lms.CapabilityScore, c.Provider+" cannot record a score through its API")
		}
		// Where the LMS takes score and outcome in one call (Absorb), both
		// go together; a connector that cannot refuses before calling.
		p := provider.ScoreParams{EnrollmentID: id, Score: *body.Score, Status: target}
		w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) { return sc.Score(ctx, p) }
		return w, nil
	}
	if !slices.Contains(statusTargets(r), target) {
		var targets []string
		for _, t := range statusTargets(r) {
			targets = append(targets, string(t))
		}
		detail := fmt.Sprintf("%s cannot set status %s through its API", c.Provider, target)
		if len(targets) > 0 {
			detail += "; it can set " + strings.Join(targets, ", ")
		}
		return nil, capabilityMissing(c.Provider, statusCapability(target), detail)
	}
	switch cp, _ := r.(provider.Completer); {
	case target == lms.StatusCompleted && cp != nil:
		w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) { return cp.Complete(ctx, id) }
		return w, nil
	case target == lms.StatusWithdrawn:
		wd := r.(provider.Withdrawer)
		w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) {
			return wd.Withdraw(ctx, provider.WithdrawParams{EnrollmentID: id})
		}
		return w, nil
	}
	if ra, ok := r.(provider.Reactivator); ok && target == lms.StatusEnrolled {
		w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) { return ra.Reactivate(ctx, id) }
		return w, nil
	}
	ss, _ := settable(r, target)
	w.call = func(ctx context.Context) (*lms.CourseEnrollment, error) {
		return ss.SetStatus(ctx, provider.StatusParams{EnrollmentID: id, Status: target})
	}
	return w, nil
}

// execute runs a checked write: idempotency reservation, the LMS call, then
// the LMS's answer stored with its events and the idempotency outcome in one
// transaction.
func (s *Server) execute(ctx context.Context, w *write, idemKey string, req writeRequest) (*writeOutput, error) {
	return execute(ctx, s, w, idemKey, req, sameRecord)
}

// execute runs a checked write whose answer body wrap builds from the
// stored enrollment.
func execute[B any](ctx context.Context, s *Server, w *write, idemKey string, req writeRequest, wrap func(lms.CourseEnrollment) B) (*writeAnswer[B], error) {
	var ticket *idempotencyTicket
	if idemKey != "" {
		k := apiKeyFrom(ctx)
		if k == nil {
			return nil, newProblem(http.StatusUnauthorized, "unauthenticated", "an Idempotency-Key needs an API key")
		}
		t, replay, err := s.reserve(ctx, k.ID, idemKey, req)
		if err != nil {
			return nil, err
		}
		if replay != nil {
			return replayAnswer[B](replay)
		}
		ticket = t
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()

	rec, err := w.call(lctx)
	if err != nil {
		answer := providerProblem(err)
		var p *Problem
		if errors.As(answer, &p) && replayable(p) {
			body, _ := json.Marshal(p)
			s.complete(lctx, ticket, p.Status, body)
		} else {
			s.release(lctx, ticket)
		}
		return nil, answer
	}
	records := []lms.CourseEnrollment{*rec}
	if w.related {
		records = append(records, s.supersededAttempts(lctx, w, rec)...)
	}
	var out writeAnswer[B]
	err = s.deps.Store.InTx(lctx, func(tx store.Tx) error {
		if _, err := events.Apply(lctx, tx, events.ApplyParams{ConnectionID: w.conn.ID, Records: records, Now: s.now(), Source: "api"}); err != nil {
			return err
		}
		stored, err := tx.EnrollmentGet(lctx, w.conn.ID, rec.ID)
		if err != nil {
			return err
		}
		out = writeAnswer[B]{Status: w.status, Body: wrap(s.effective(stored.Record))}
		if ticket == nil {
			return nil
		}
		body, err := json.Marshal(out.Body)
		if err != nil {
			return err
		}
		return tx.IdempotencyPut(lctx, ticket.outcome(out.Status, body))
	})
	if err != nil {
		s.release(lctx, ticket)
		s.deps.Logger.Error("write-back: the LMS made the change but storing it failed",
			"connection", w.conn.ID, "enrollment", rec.ID, "err", err)
		return nil, newProblem(http.StatusInternalServerError, "store-failed", fmt.Sprintf(
			"the LMS made the change (enrollment %s) but Registrar could not store it; the next sync records it", rec.ID))
	}
	return &out, nil
}

// replayAnswer turns a stored answer back into the response it was.
func replayAnswer[B any](r *idempotencyReplay) (*writeAnswer[B], error) {
	if r.status >= 400 {
		var p Problem
		if err := json.Unmarshal(r.body, &p); err != nil {
			return nil, fmt.Errorf("idempotency: stored problem: %w", err)
		}
		p.GetHeaders().Set("Idempotent-Replayed", "true")
		return nil, &p
	}
	out := &writeAnswer[B]{Status: r.status, Replayed: "true"}
	if err := json.Unmarshal(r.body, &out.Body); err != nil {
		return nil, fmt.Errorf("idempotency: stored answer: %w", err)
	}
	return out, nil
}

// supersededAttempts re-reads, through the connector, the stored records of
// the same user and course that were current before an enroll: a new attempt
// turns them into history (is_current=false) in the LMS, and storing that now
// keeps the store from showing two current attempts until the next sync.
// Failures are logged, not returned: the write itself succeeded.
func (s *Server) supersededAttempts(ctx context.Context, w *write, rec *lms.CourseEnrollment) []lms.CourseEnrollment {
	if rec.User == nil || rec.Course == nil || rec.User.ID == "" || rec.Course.ID == "" {
		return nil
	}
	res, err := s.deps.Store.EnrollmentList(ctx, store.EnrollmentListParams{ConnectionIDs: []string{w.conn.ID},
		UserIDs: []string{rec.User.ID}, CourseIDs: []string{rec.Course.ID}, Now: s.now(), Limit: 100})
	if err != nil {
		s.deps.Logger.Warn("write-back: cannot list earlier attempts", "connection", w.conn.ID, "err", err)
		return nil
	}
	var out []lms.CourseEnrollment
	for _, old := range res.Enrollments {
		if old.Record.ID == rec.ID || (old.Record.IsCurrent != nil && !*old.Record.IsCurrent) {
			continue
		}
		again, err := w.r.EnrollmentGet(ctx, old.Record.ID)
		if err != nil {
			s.deps.Logger.Warn("write-back: cannot re-read an earlier attempt", "connection", w.conn.ID,
				"enrollment", old.Record.ID, "err", err)
			continue
		}
		out = append(out, *again)
	}
	return out
}

// LessonAttemptRequest starts an attempt of a lesson of the enrollment's
// course (Absorb), and finishes it at once when status is given.
type LessonAttemptRequest struct {
	LessonID string `json:"lesson_id" minLength:"1" doc:"The LMS's id of the lesson."`
	LessonAttemptFinish
}

// LessonAttemptFinish ends a lesson attempt.
type LessonAttemptFinish struct {
	Status      string     `json:"status,omitempty" enum:"in_progress,completed,failed" doc:"Outcome of the attempt (Absorb 1, 3, 5)."`
	Score       *float64   `json:"score,omitempty" minimum:"0" maximum:"100" doc:"Score 0-100 of the attempt."`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// LessonAttempt is the answer to a lesson-attempt write: the attempt and the
// course enrollment as the LMS has it afterwards.
type LessonAttempt struct {
	AttemptID  string               `json:"attempt_id" doc:"The LMS's id of the attempt; finish it with PUT .../lesson-attempts/{attempt_id}."`
	Finished   bool                 `json:"finished" doc:"Whether the attempt was finished by this request."`
	Enrollment lms.CourseEnrollment `json:"enrollment"`
}

type lessonAttemptStartInput struct {
	CID string `path:"cid" doc:"Connection id."`
	ID  string `path:"id" doc:"The LMS's enrollment id."`
	IdempotencyHeader
	Body LessonAttemptRequest
}

type lessonAttemptFinishInput struct {
	CID       string `path:"cid" doc:"Connection id."`
	ID        string `path:"id" doc:"The LMS's enrollment id."`
	AttemptID string `path:"attempt_id" doc:"The LMS's attempt id."`
	IdempotencyHeader
	Body LessonAttemptFinish
}

// attemptStatus maps an attempt outcome to Absorb's code (seed 003).
func attemptStatus(s string) int {
	switch s {
	case "in_progress":
		return 1
	case "completed":
		return 3
	case "failed":
		return 5
	}
	return 0
}

func (f LessonAttemptFinish) params(attemptID string) provider.LessonAttemptFinishParams {
	return provider.LessonAttemptFinishParams{AttemptID: attemptID, Status: attemptStatus(f.Status), Score: f.Score,
		StartedAt: f.StartedAt, CompletedAt: f.CompletedAt}
}

func (s *Server) registerLessonAttempts() {
	attempter := func(c *store.Connection, r provider.Reader) (provider.LessonAttempter, error) {
		la, ok := r.(provider.LessonAttempter)
		if !ok {
			return nil, capabilityMissing(c.Provider, lms.CapabilityLessonAttempts, c.Provider+" has no lesson attempts in its API")
		}
		return la, nil
	}
	huma.Register(s.api, withStatus(op("connection-enrollments-lesson-attempt-start", http.MethodPost,
		"/v1/connections/{cid}/course-enrollments/{id}/lesson-attempts",
		"Start a lesson attempt (and finish it when status is given); capability lesson_attempts", "course-enrollments", writeErrors...), http.StatusCreated),
		func(ctx context.Context, in *lessonAttemptStartInput) (*writeAnswer[LessonAttempt], error) {
			c, r, err := s.connector(ctx, in.CID)
			if err != nil {
				return nil, err
			}
			la, err := attempter(c, r)
			if err != nil {
				return nil, err
			}
			var attemptID string
			w := &write{conn: c, r: r, status: http.StatusCreated, call: func(ctx context.Context) (*lms.CourseEnrollment, error) {
				e, err := r.EnrollmentGet(ctx, in.ID)
				if err != nil {
					return nil, err
				}
				if e.User == nil || e.Course == nil {
					return nil, fmt.Errorf("enrollment %s has no user or course to address the lesson", in.ID)
				}
				attemptID, err = la.LessonAttemptStart(ctx, provider.LessonAttemptParams{UserID: e.User.ID, CourseID: e.Course.ID, LessonID: in.Body.LessonID})
				if err != nil {
					return nil, err
				}
				if in.Body.Status != "" {
					if err := la.LessonAttemptFinish(ctx, in.Body.params(attemptID)); err != nil {
						return nil, err
					}
				}
				return r.EnrollmentGet(ctx, in.ID)
			}}
			return execute(ctx, s, w, in.IdempotencyKey, writeRequest{Method: http.MethodPost,
				Path: "/v1/connections/" + in.CID + "/course-enrollments/" + in.ID + "/lesson-attempts", Params: in.Body},
				func(e lms.CourseEnrollment) LessonAttempt {
					return LessonAttempt{AttemptID: attemptID, Finished: in.Body.Status != "", Enrollment: e}
				})
		})
	huma.Register(s.api, op("connection-enrollments-lesson-attempt-finish", http.MethodPut,
		"/v1/connections/{cid}/course-enrollments/{id}/lesson-attempts/{attempt_id}",
		"Finish a lesson attempt; capability lesson_attempts", "course-enrollments", writeErrors...),
		func(ctx context.Context, in *lessonAttemptFinishInput) (*writeAnswer[LessonAttempt], error) {
			c, r, err := s.connector(ctx, in.CID)
			if err != nil {
				return nil, err
			}
			la, err := attempter(c, r)
			if err != nil {
				return nil, err
			}
			if in.Body.Status == "" {
				return nil, validationProblem("status is required to finish an attempt",
					&huma.ErrorDetail{Location: "body.status", Message: "give in_progress, completed or failed"})
			}
			w := &write{conn: c, r: r, status: http.StatusOK, call: func(ctx context.Context) (*lms.CourseEnrollment, error) {
				if err := la.LessonAttemptFinish(ctx, in.Body.params(in.AttemptID)); err != nil {
					return nil, err
				}
				return r.EnrollmentGet(ctx, in.ID)
			}}
			return execute(ctx, s, w, in.IdempotencyKey, writeRequest{Method: http.MethodPut,
				Path: "/v1/connections/" + in.CID + "/course-enrollments/" + in.ID + "/lesson-attempts/" + in.AttemptID, Params: in.Body},
				func(e lms.CourseEnrollment) LessonAttempt {
					return LessonAttempt{AttemptID: in.AttemptID, Finished: true, Enrollment: e}
				})
		})
}
