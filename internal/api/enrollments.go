package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/store"
)

// Page sizes of enrollment lists.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// EnrollmentFilters are the query filters of both enrollment lists (exported
// so that huma finds the embedded fields).
type EnrollmentFilters struct {
	ConnectionID   []string  `query:"connection_id,explode" doc:"Only these connections (repeat or comma-separate)."`
	Provider       []string  `query:"provider,explode" doc:"Only these providers: canvas, absorb, digitalchalk."`
	Tenant         string    `query:"tenant" doc:"Only connections of this tenant."`
	UserID         []string  `query:"user_id,explode" doc:"Only these LMS user ids."`
	UserEmail      []string  `query:"user_email,explode" doc:"Only these learner emails (any case)."`
	CourseID       []string  `query:"course_id,explode" doc:"Only these LMS course ids."`
	Status         []string  `query:"status,explode" doc:"Only these statuses, as the reader sees them now (overdue and expired included)."`
	UpdatedAfter   time.Time `query:"updated_after" doc:"Only records Registrar saw change after this time (RFC 3339)."`
	DueBefore      time.Time `query:"due_before" doc:"Only records due before this time (RFC 3339)."`
	IncludeDeleted bool      `query:"include_deleted" doc:"Also list records that vanished from the LMS (remote_deleted_at set)."`
	Limit          int       `query:"limit" minimum:"1" maximum:"1000" default:"50" doc:"Page size."`
	Cursor         string    `query:"cursor" doc:"The next_cursor of the previous page."`
}

type enrollmentListInput struct {
	EnrollmentFilters
}

type connectionEnrollmentListInput struct {
	CID  string `path:"cid" doc:"Connection id."`
	Mode string `query:"mode" enum:"stored,live" default:"stored" doc:"stored reads Registrar's copy; live asks the LMS now, page by page in the LMS's own page size (filters and limit do not apply; cursor does)."`
	EnrollmentFilters
}

// EnrollmentList is a page of enrollments.
type EnrollmentList struct {
	Data []lms.CourseEnrollment `json:"data"`
	// NextCursor fetches the next page; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page."`
}

type enrollmentListOutput struct{ Body enrollmentListBody }

type enrollmentGetInput struct {
	CID  string `path:"cid" doc:"Connection id."`
	ID   string `path:"id" doc:"The LMS's enrollment id."`
	Mode string `query:"mode" enum:"stored,live" default:"stored" doc:"stored reads Registrar's copy; live asks the LMS now."`
}

type enrollmentOutput struct{ Body lms.CourseEnrollment }

// splitValues accepts repeated and comma-separated values alike.
func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// storeCursor is the opaque cursor of stored lists: the last key returned
// and a fingerprint of the filters, so a cursor cannot be replayed against a
// different query (which would silently skip rows).
type storeCursor struct {
	V       int    `json:"v"`
	Conn    string `json:"c"`
	ID      string `json:"i"`
	Filters string `json:"f"`
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func badCursor(detail string) *Problem {
	return validationProblem(detail, &huma.ErrorDetail{Location: "query.cursor", Message: detail})
}

func (s *Server) listParams(f EnrollmentFilters, connectionID string) (store.EnrollmentListParams, error) {
	p := store.EnrollmentListParams{
		ConnectionIDs:  splitValues(f.ConnectionID),
		Providers:      splitValues(f.Provider),
		Tenant:         f.Tenant,
		UserIDs:        splitValues(f.UserID),
		UserEmails:     splitValues(f.UserEmail),
		CourseIDs:      splitValues(f.CourseID),
		IncludeDeleted: f.IncludeDeleted,
		Limit:          f.Limit,
		Now:            s.now(),
	}
	if connectionID != "" {
		p.ConnectionIDs = []string{connectionID}
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	for _, v := range splitValues(f.Status) {
		st, err := lms.ParseStatus(v)
		if err != nil {
			return p, validationProblem("invalid status filter", &huma.ErrorDetail{Location: "query.status", Message: err.Error(), Value: v})
		}
		p.Statuses = append(p.Statuses, st)
	}
	for _, v := range p.Providers {
		if _, ok := s.providers[v]; !ok {
			return p, validationProblem("invalid provider filter", &huma.ErrorDetail{Location: "query.provider", Message: "unknown provider", Value: v})
		}
	}
	if !f.UpdatedAfter.IsZero() {
		t := f.UpdatedAfter.UTC()
		p.UpdatedAfter = &t
	}
	if !f.DueBefore.IsZero() {
		t := f.DueBefore.UTC()
		p.DueBefore = &t
	}
	fp := filterFingerprint(p)
	if f.Cursor != "" {
		var c storeCursor
		if err := decodeCursor(f.Cursor, &c); err != nil || c.V != 1 || c.ID == "" {
			return p, badCursor("cursor is not one this API issued")
		}
		if c.Filters != fp {
			return p, badCursor("cursor belongs to a query with other filters; start again without a cursor")
		}
		p.After = store.EnrollmentKey{ConnectionID: c.Conn, ID: c.ID}
	}
	return p, nil
}

// filterFingerprint identifies the filters of a query (not its page).
func filterFingerprint(p store.EnrollmentListParams) string {
	sorted := func(v []string) []string {
		c := append([]string(nil), v...)
		sort.Strings(c)
		return c
	}
	statuses := make([]string, len(p.Statuses))
	for i, s := range p.Statuses {
		statuses[i] = string(s)
	}
	b, _ := json.Marshal([]any{sorted(p.ConnectionIDs), sorted(p.Providers), p.Tenant, sorted(p.UserIDs),
		sorted(p.UserEmails), sorted(p.CourseIDs), sorted(statuses), p.UpdatedAfter, p.DueBefore, p.IncludeDeleted})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (s *Server) listStored(ctx context.Context, f EnrollmentFilters, connectionID string) (*enrollmentListOutput, error) {
	p, err := s.listParams(f, connectionID)
	if err != nil {
		return nil, err
	}
	// Raw: the records' stored JSON is served as it is, with the fields known
	// only at read time patched in (store.AppendEnrollmentJSON).
	p.Raw = true
	cursor := func(last store.EnrollmentKey) string {
		return encodeCursor(storeCursor{V: 1, Conn: last.ConnectionID, ID: last.ID, Filters: filterFingerprint(p)})
	}
	if l, ok := s.deps.Store.(store.EnrollmentJSONLister); ok {
		// The store writes the records into the body as it reads them.
		bp, b := startRawBody()
		page, err := l.EnrollmentListJSON(ctx, p, b)
		if err != nil {
			return nil, err
		}
		var next string
		if page.More {
			next = cursor(page.Last)
		}
		body, err := endRawBody(bp, page.JSON, next)
		if err != nil {
			return nil, err
		}
		return &enrollmentListOutput{Body: body}, nil
	}
	res, err := s.deps.Store.EnrollmentList(ctx, p)
	if err != nil {
		return nil, err
	}
	var next string
	if res.More {
		last := res.Enrollments[len(res.Enrollments)-1].Record
		next = cursor(store.EnrollmentKey{ConnectionID: last.ConnectionID, ID: last.ID})
	}
	body, err := rawListBody(res, p.Now, next)
	if err != nil {
		return nil, err
	}
	return &enrollmentListOutput{Body: body}, nil
}

// liveCursor wraps the connector's own cursor.
type liveCursor struct {
	V      int    `json:"v"`
	Live   string `json:"l"`
	ConnID string `json:"c"`
}

func (s *Server) connector(ctx context.Context, connectionID string) (*store.Connection, provider.Reader, error) {
	c, err := s.deps.Store.ConnectionGet(ctx, connectionID)
	if err != nil {
		return nil, nil, storeProblem(err, "connection "+connectionID)
	}
	if s.deps.Connectors == nil {
		return nil, nil, newProblem(http.StatusServiceUnavailable, "not-configured", "live reads are not configured")
	}
	r, err := s.deps.Connectors.Connector(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return c, r, nil
}

func (s *Server) listLive(ctx context.Context, in *connectionEnrollmentListInput) (*enrollmentListOutput, error) {
	c, r, err := s.connector(ctx, in.CID)
	if err != nil {
		return nil, err
	}
	var cursor string
	if in.Cursor != "" {
		var lc liveCursor
		if err := decodeCursor(in.Cursor, &lc); err != nil || lc.V != 1 || lc.ConnID != c.ID {
			return nil, badCursor("cursor is not a live cursor of this connection")
		}
		cursor = lc.Live
	}
	page, err := r.EnrollmentPage(ctx, provider.EnrollmentPageParams{Cursor: cursor})
	if err != nil {
		return nil, providerProblem(err)
	}
	list := &EnrollmentList{Data: make([]lms.CourseEnrollment, 0, len(page.Enrollments))}
	for _, e := range page.Enrollments {
		e.ConnectionID, e.SyncedAt = c.ID, nil
		list.Data = append(list.Data, s.effective(e))
	}
	if page.NextCursor != "" {
		list.NextCursor = encodeCursor(liveCursor{V: 1, Live: page.NextCursor, ConnID: c.ID})
	}
	return &enrollmentListOutput{Body: enrollmentListBody{list: list}}, nil
}

func (s *Server) registerEnrollments() {
	huma.Register(s.api, op("enrollments-list", http.MethodGet, "/v1/course-enrollments",
		"List course enrollments across connections", "course-enrollments"),
		func(ctx context.Context, in *enrollmentListInput) (*enrollmentListOutput, error) {
			return s.listStored(ctx, in.EnrollmentFilters, "")
		})

	huma.Register(s.api, op("connection-enrollments-list", http.MethodGet, "/v1/connections/{cid}/course-enrollments",
		"List the course enrollments of one connection", "course-enrollments", http.StatusNotFound, http.StatusBadGateway, http.StatusServiceUnavailable),
		func(ctx context.Context, in *connectionEnrollmentListInput) (*enrollmentListOutput, error) {
			if in.Mode == "live" {
				return s.listLive(ctx, in)
			}
			if _, err := s.deps.Store.ConnectionGet(ctx, in.CID); err != nil {
				return nil, storeProblem(err, "connection "+in.CID)
			}
			return s.listStored(ctx, in.EnrollmentFilters, in.CID)
		})

	huma.Register(s.api, op("connection-enrollments-get", http.MethodGet, "/v1/connections/{cid}/course-enrollments/{id}",
		"Get one course enrollment", "course-enrollments", http.StatusNotFound, http.StatusBadGateway, http.StatusServiceUnavailable),
		func(ctx context.Context, in *enrollmentGetInput) (*enrollmentOutput, error) {
			if in.Mode == "live" {
				c, r, err := s.connector(ctx, in.CID)
				if err != nil {
					return nil, err
				}
				e, err := r.EnrollmentGet(ctx, in.ID)
				if err != nil {
					return nil, providerProblem(err)
				}
				e.ConnectionID, e.SyncedAt = c.ID, nil
				return &enrollmentOutput{Body: s.effective(*e)}, nil
			}
			e, err := s.deps.Store.EnrollmentGet(ctx, in.CID, in.ID)
			if errors.Is(err, store.ErrNotFound) {
				if _, cerr := s.deps.Store.ConnectionGet(ctx, in.CID); cerr != nil {
					return nil, storeProblem(cerr, "connection "+in.CID)
				}
			}
			if err != nil {
				return nil, storeProblem(err, fmt.Sprintf("enrollment %s of connection %s", in.ID, in.CID))
			}
			return &enrollmentOutput{Body: s.effective(e.Record)}, nil
		})
}
