package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// The users and courses lists serve Registrar's copy only: the sync engine
// fills it as it walks the LMS, so these lists are empty until a connection's
// first sync has run.

type peopleListInput struct {
	CID    string `path:"cid" doc:"Connection id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

// UserList is a page of the people enrollments point at.
type UserList struct {
	Data       []lms.User `json:"data"`
	NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page."`
}

// CourseList is a page of the courses enrollments point at.
type CourseList struct {
	Data       []lms.Course `json:"data"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page."`
}

type userListOutput struct{ Body UserList }
type courseListOutput struct{ Body CourseList }

// peopleCursor is the opaque cursor of the users and courses lists. It names
// its list and connection, so a cursor of one list cannot page another
// (which would silently skip rows).
type peopleCursor struct {
	V     int    `json:"v"`
	List  string `json:"l"`
	Conn  string `json:"c"`
	After string `json:"a"`
}

// peopleParams checks the connection and the cursor of a users or courses
// page.
func (s *Server) peopleParams(ctx context.Context, in *peopleListInput, list string) (store.PeopleListParams, error) {
	p := store.PeopleListParams{ConnectionID: in.CID, Limit: in.Limit}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	if _, err := s.deps.Store.ConnectionGet(ctx, in.CID); err != nil {
		return p, storeProblem(err, "connection "+in.CID)
	}
	if in.Cursor != "" {
		var c peopleCursor
		if err := decodeCursor(in.Cursor, &c); err != nil || c.V != 1 || c.After == "" {
			return p, badCursor("cursor is not one this API issued")
		}
		if c.List != list || c.Conn != in.CID {
			return p, badCursor("cursor belongs to another list; start again without a cursor")
		}
		p.After = c.After
	}
	return p, nil
}

func peopleNext(list, connectionID, after string) string {
	if after == "" {
		return ""
	}
	return encodeCursor(peopleCursor{V: 1, List: list, Conn: connectionID, After: after})
}

func (s *Server) registerPeople() {
	huma.Register(s.api, op("connection-users-list", http.MethodGet, "/v1/connections/{cid}/users",
		"List the users of one connection", "people", http.StatusNotFound),
		func(ctx context.Context, in *peopleListInput) (*userListOutput, error) {
			p, err := s.peopleParams(ctx, in, "users")
			if err != nil {
				return nil, err
			}
			users, next, err := s.deps.Store.UserList(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &userListOutput{}
			out.Body.Data = append(make([]lms.User, 0, len(users)), users...)
			out.Body.NextCursor = peopleNext("users", in.CID, next)
			return out, nil
		})
	huma.Register(s.api, op("connection-courses-list", http.MethodGet, "/v1/connections/{cid}/courses",
		"List the courses of one connection", "people", http.StatusNotFound),
		func(ctx context.Context, in *peopleListInput) (*courseListOutput, error) {
			p, err := s.peopleParams(ctx, in, "courses")
			if err != nil {
				return nil, err
			}
			courses, next, err := s.deps.Store.CourseList(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &courseListOutput{}
			out.Body.Data = append(make([]lms.Course, 0, len(courses)), courses...)
			out.Body.NextCursor = peopleNext("courses", in.CID, next)
			return out, nil
		})
}
