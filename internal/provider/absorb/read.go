package absorb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// walkCursor is the position of an enrollment walk: the course page and the
// course's index in it, and the enrollment page of that course. Absorb pages
// by page index (_offset, providers.md §2.5), so the page size is part of the
// position: a connector resuming with another page_size keeps the walk's.
type walkCursor struct {
	Version        int    `json:"v"`
	PageSize       int    `json:"ps"`
	CoursePage     int    `json:"cp"`
	CourseIndex    int    `json:"ci"`
	CourseID       string `json:"cid,omitempty"`
	EnrollmentPage int    `json:"ep"`
	// Since is the ChangedSince of an incremental walk (RFC 3339), so a
	// cursor cannot be resumed as a different walk.
	Since string `json:"since,omitempty"`
}

const cursorVersion = 1

func (c walkCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (walkCursor, error) {
	var c walkCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Version != cursorVersion || c.PageSize < 1 || c.PageSize > maxPageSize ||
		c.CoursePage < 0 || c.CourseIndex < 0 || c.EnrollmentPage < 0 {
		return walkCursor{}, invalid("not a cursor of an Absorb enrollment walk: %q", s)
	}
	return c, nil
}

// coursePage is one page of the course list, kept so that a walk does not
// fetch the same course page again for every enrollment page.
type coursePage struct {
	index, size int
	ids         []string
	last        bool
	fetched     time.Time
}

// coursePageCache holds the course page of the walk in progress. It is only
// an optimisation: the cursor alone locates the walk.
type coursePageCache struct {
	mu   sync.Mutex
	page *coursePage
}

// coursePageTTL bounds how long a cached course page is trusted.
const coursePageTTL = 5 * time.Minute

func (c *Connector) coursePageAt(ctx context.Context, index, size int, fresh bool) (*coursePage, error) {
	c.cache.mu.Lock()
	cached := c.cache.page
	c.cache.mu.Unlock()
	if !fresh && cached != nil && cached.index == index && cached.size == size && c.now().Sub(cached.fetched) < coursePageTTL {
		return cached, nil
	}
	env, err := c.listPage(ctx, routeCourses, nil, index, size, nil)
	if err != nil {
		return nil, err
	}
	page := &coursePage{index: index, size: size, last: isLastPage(env, index, size), fetched: c.now()}
	m := mapper{zone: c.zone}
	for _, raw := range env.Items {
		course, err := m.course(raw)
		if err != nil {
			return nil, c.mappingError(routeCourses, nil, err)
		}
		page.ids = append(page.ids, course.ID)
	}
	c.cache.mu.Lock()
	c.cache.page = page
	c.cache.mu.Unlock()
	return page, nil
}

// listPage fetches page index of a paged list.
func (c *Connector) listPage(ctx context.Context, routeName string, params map[string]string, index, size int, extra url.Values) (*envelope, error) {
	q := url.Values{}
	q.Set("_offset", strconv.Itoa(index))
	q.Set("_limit", strconv.Itoa(size))
	for k, vs := range extra {
		q[k] = vs
	}
	var env envelope
	if err := c.call(ctx, request{route: routeName, params: params, query: q}, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// isLastPage: Absorb says "increment _offset until no records come back"
// (§2.5); reaching totalItems, or a short page when there is no total, ends
// the list one call sooner. A server that applies a smaller page size than
// asked (its "limit") pages by that size, so that size decides: trusting the
// asked size would end a list early and lose records silently.
func isLastPage(env *envelope, index, size int) bool {
	if len(env.Items) == 0 {
		return true
	}
	applied := size
	if env.Limit != nil && *env.Limit > 0 && *env.Limit < size {
		applied = *env.Limit
	}
	if env.TotalItems != nil {
		return (index+1)*applied >= *env.TotalItems
	}
	return len(env.Items) < applied
}

// EnrollmentPage returns the enrollments of one page of one course: the walk
// is GET /courses (paged) and, per course, GET /courses/{id}/enrollments
// (paged, §2.3 #2). Courses without (changed) enrollments are skipped within
// the same call. Total is -1: Absorb counts enrollments per course only.
func (c *Connector) EnrollmentPage(ctx context.Context, params provider.EnrollmentPageParams) (*provider.EnrollmentPage, error) {
	since := ""
	if params.ChangedSince != nil {
		since = params.ChangedSince.UTC().Format(time.RFC3339)
	}
	pos := walkCursor{Version: cursorVersion, PageSize: c.pageSize, Since: since}
	if params.Cursor != "" {
		var err error
		if pos, err = decodeCursor(params.Cursor); err != nil {
			return nil, err
		}
		if pos.Since != since {
			return nil, invalid("the cursor belongs to a walk with changed-since %q, not %q", pos.Since, since)
		}
	}
	var extra url.Values
	if since != "" {
		extra = url.Values{"_filter": {strings.ReplaceAll(c.incrementalFilter, sinceToken, since)}}
	}
	m := mapper{zone: c.zone}
	out := &provider.EnrollmentPage{Total: -1}
	fresh := params.Cursor == ""
	for {
		courses, err := c.coursePageAt(ctx, pos.CoursePage, pos.PageSize, fresh)
		if err != nil {
			return nil, err
		}
		fresh = false
		// Courses added or removed since the cursor was made shift indices;
		// find the course the cursor was in, where it still is.
		if pos.CourseID != "" && (pos.CourseIndex >= len(courses.ids) || courses.ids[pos.CourseIndex] != pos.CourseID) {
			for i, id := range courses.ids {
				if id == pos.CourseID {
					pos.CourseIndex = i
				}
			}
		}
		if pos.CourseIndex >= len(courses.ids) {
			if courses.last {
				return out, nil
			}
			pos = walkCursor{Version: cursorVersion, PageSize: pos.PageSize, CoursePage: pos.CoursePage + 1, Since: since}
			continue
		}
		courseID := courses.ids[pos.CourseIndex]
		env, err := c.listPage(ctx, routeCourseEnrollments, map[string]string{"courseId": courseID}, pos.EnrollmentPage, pos.PageSize, extra)
		if err != nil {
			return nil, err
		}
		for _, raw := range env.Items {
			e, err := m.enrollment(raw)
			if err != nil {
				return nil, c.mappingError(routeCourseEnrollments, map[string]string{"courseId": courseID}, err)
			}
			out.Enrollments = append(out.Enrollments, e)
		}
		if isLastPage(env, pos.EnrollmentPage, pos.PageSize) {
			pos.CourseIndex++
			pos.EnrollmentPage = 0
			pos.CourseID = ""
			if pos.CourseIndex < len(courses.ids) {
				pos.CourseID = courses.ids[pos.CourseIndex]
			}
		} else {
			pos.EnrollmentPage++
			pos.CourseID = courseID
		}
		finished := pos.CourseIndex >= len(courses.ids) && courses.last
		if finished {
			return out, nil
		}
		if len(out.Enrollments) > 0 {
			out.NextCursor = pos.encode()
			return out, nil
		}
	}
}

// mappingError reports a record the connector cannot read.
func (c *Connector) mappingError(routeName string, params map[string]string, err error) error {
	r := c.routes[routeName]
	return providerErr(provider.KindUpstream, r.Method, c.url(r, params, nil), 0, "Absorb answered a record the connector cannot read", err)
}

// EnrollmentGet reads one enrollment by id (§2.3 #6).
func (c *Connector) EnrollmentGet(ctx context.Context, id string) (*lms.CourseEnrollment, error) {
	if strings.TrimSpace(id) == "" {
		return nil, invalid("enrollment id is empty")
	}
	var raw json.RawMessage
	if err := c.call(ctx, request{route: routeEnrollmentGet, params: map[string]string{"id": id}}, &raw); err != nil {
		return nil, err
	}
	e, err := mapper{zone: c.zone}.enrollment(raw)
	if err != nil {
		return nil, c.mappingError(routeEnrollmentGet, map[string]string{"id": id}, err)
	}
	return &e, nil
}

// listCursor is the position in a plain paged list (users, courses).
type listCursor struct {
	Page     int `json:"p"`
	PageSize int `json:"ps"`
}

func (c *Connector) listPosition(cursor string) (listCursor, error) {
	if cursor == "" {
		return listCursor{PageSize: c.pageSize}, nil
	}
	var pos listCursor
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(b, &pos)
	}
	if err != nil || pos.Page < 0 || pos.PageSize < 1 || pos.PageSize > maxPageSize {
		return listCursor{}, invalid("not a cursor of an Absorb list: %q", cursor)
	}
	return pos, nil
}

func (pos listCursor) next(env *envelope) string {
	if isLastPage(env, pos.Page, pos.PageSize) {
		return ""
	}
	b, _ := json.Marshal(listCursor{Page: pos.Page + 1, PageSize: pos.PageSize})
	return base64.RawURLEncoding.EncodeToString(b)
}

// UserPage lists users (GET /users, paged).
func (c *Connector) UserPage(ctx context.Context, cursor string) (*provider.UserPage, error) {
	pos, err := c.listPosition(cursor)
	if err != nil {
		return nil, err
	}
	env, err := c.listPage(ctx, routeUsers, nil, pos.Page, pos.PageSize, nil)
	if err != nil {
		return nil, err
	}
	out := &provider.UserPage{NextCursor: pos.next(env)}
	m := mapper{zone: c.zone}
	for _, raw := range env.Items {
		u, err := m.user(raw)
		if err != nil {
			return nil, c.mappingError(routeUsers, nil, err)
		}
		out.Users = append(out.Users, u)
	}
	return out, nil
}

// CoursePage lists courses (GET /courses, paged).
func (c *Connector) CoursePage(ctx context.Context, cursor string) (*provider.CoursePage, error) {
	pos, err := c.listPosition(cursor)
	if err != nil {
		return nil, err
	}
	env, err := c.listPage(ctx, routeCourses, nil, pos.Page, pos.PageSize, nil)
	if err != nil {
		return nil, err
	}
	out := &provider.CoursePage{NextCursor: pos.next(env)}
	m := mapper{zone: c.zone}
	for _, raw := range env.Items {
		course, err := m.course(raw)
		if err != nil {
			return nil, c.mappingError(routeCourses, nil, err)
		}
		out.Courses = append(out.Courses, course)
	}
	return out, nil
}

// ConnectionTest proves, with at most two calls, that the gateway answers,
// that it accepts the API key and the admin's username and password
// (/authenticate, skipped while a token is held), and that the admin may read
// courses (one course). Its error says which of these failed.
func (c *Connector) ConnectionTest(ctx context.Context) error {
	if _, _, err := c.tokens.Token(ctx, c.authenticate); err != nil {
		return describeTestFailure(err, "signing in")
	}
	q := url.Values{"_offset": {"0"}, "_limit": {"1"}}
	var env envelope
	if err := c.call(ctx, request{route: routeCourses, query: q}, &env); err != nil {
		return describeTestFailure(err, "listing courses")
	}
	return nil
}

func describeTestFailure(err error, step string) error {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return err
	}
	copied := *pe
	switch pe.Kind {
	case provider.KindUnavailable:
		copied.Message = prefixMessage("the Absorb gateway could not be reached while "+step+" (check base_url or region)", pe.Message)
	case provider.KindPermission:
		copied.Message = prefixMessage("the credentials work but Absorb forbade "+step, pe.Message)
	case provider.KindNotFound:
		copied.Kind = provider.KindUpstream
		copied.Message = prefixMessage("Absorb answered 404 while "+step+" (check base_url and the path settings)", pe.Message)
	default:
		copied.Message = prefixMessage(step+" failed", pe.Message)
	}
	return &copied
}
