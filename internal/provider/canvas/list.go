package canvas

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// maxEmptyRequests bounds the requests one EnrollmentPage call makes while it
// crosses courses without enrollments, so that a checkpoint is still taken
// regularly in an account full of empty courses.
const maxEmptyRequests = 20

// walkCursor is where an enrollment walk stands. It is serialised into the
// opaque cursor string, so a new process resumes at the same page.
type walkCursor struct {
	V int `json:"v"`
	// CoursesURL is the courses page holding the current course; "" is the
	// first page.
	CoursesURL string `json:"c,omitempty"`
	// CourseID and Index locate the current course in that page: by id, or by
	// position when the course vanished since.
	CourseID string `json:"id,omitempty"`
	Index    int    `json:"i,omitempty"`
	// EnrollmentsURL is the next enrollments page of the current course as
	// Canvas gave it in Link rel="next"; "" is the course's first page.
	EnrollmentsURL string `json:"e,omitempty"`
	// After, when set, is the last course whose enrollments were all listed:
	// the walk goes on with the course that follows it. With Recheck, the
	// courses page CoursesURL is read again first, to catch courses that
	// moved onto it from the next page (a course before them was deleted);
	// without, courses up to After at the start of CoursesURL are skipped
	// (they moved there because a course was created before them).
	After   string `json:"a,omitempty"`
	Recheck bool   `json:"r,omitempty"`
}

const cursorVersion = 1

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return &provider.Error{Kind: provider.KindInvalidRequest, Provider: Name, Message: "cursor is not one this connector issued", Err: err}
	}
	return nil
}

// coursesPage is one page of the account's courses.
type coursesPage struct {
	url     string
	courses []course
	next    string
	readAt  time.Time
}

// coursePageMaxAge bounds how long a courses page is reused by a walk that
// resumes in the same process.
const coursePageMaxAge = 10 * time.Minute

func (c *Connector) firstCoursesURL() string {
	return c.apiURL("/api/v1/accounts/"+url.PathEscape(c.accountID)+"/courses",
		url.Values{"per_page": {strconv.Itoa(c.perPage)}})
}

// courses reads a page of the account's courses. Within a walk (reuse) it
// reuses the last page read, if recent, so that a walk reads each courses page
// once however many enrollment pages follow; a new walk always reads afresh,
// so that it sees courses created since the last one.
func (c *Connector) courses(ctx context.Context, pageURL string, reuse bool) (*coursesPage, error) {
	if pageURL == "" {
		pageURL = c.firstCoursesURL()
	}
	c.mu.Lock()
	cached := c.coursePage
	c.mu.Unlock()
	if reuse && cached != nil && cached.url == pageURL && c.now().Sub(cached.readAt) < coursePageMaxAge {
		return cached, nil
	}
	resp, err := c.call(ctx, http.MethodGet, pageURL, nil, true)
	if err != nil {
		return nil, err
	}
	var list []course
	if err := decode(http.MethodGet, pageURL, resp, &list); err != nil {
		return nil, err
	}
	page := &coursesPage{url: pageURL, courses: list, next: nextLink(resp.Header), readAt: c.now()}
	c.mu.Lock()
	c.coursePage = page
	for _, co := range list {
		c.courseTitles[string(co.ID)] = co.Name
	}
	c.mu.Unlock()
	return page, nil
}

func (c *Connector) firstEnrollmentsURL(courseID string) string {
	q := url.Values{"per_page": {strconv.Itoa(c.perPage)}, "state[]": allStates}
	if len(c.types) > 0 {
		q["type[]"] = c.types
	}
	return c.apiURL("/api/v1/courses/"+url.PathEscape(courseID)+"/enrollments", q)
}

// enrollments reads one page of a course's enrollments and maps it.
func (c *Connector) enrollments(ctx context.Context, pageURL, courseTitle string) ([]lms.CourseEnrollment, string, error) {
	resp, err := c.call(ctx, http.MethodGet, pageURL, nil, true)
	if err != nil {
		return nil, "", err
	}
	var raws []json.RawMessage
	if err := decode(http.MethodGet, pageURL, resp, &raws); err != nil {
		return nil, "", err
	}
	out := make([]lms.CourseEnrollment, 0, len(raws))
	for _, raw := range raws {
		e, err := mapEnrollment(raw, courseTitle, c.mapOptions())
		if err != nil {
			return nil, "", malformed(http.MethodGet, pageURL, resp, err)
		}
		out = append(out, e)
	}
	return out, nextLink(resp.Header), nil
}

func (c *Connector) mapOptions() mapOptions { return mapOptions{scoreFinal: c.scoreFinal} }

// EnrollmentPage returns the next page of the walk account → courses →
// enrollments. One call normally makes one enrollments request (plus one
// courses request when it enters a new courses page); it goes on to the next
// course while pages come back empty, up to maxEmptyRequests.
func (c *Connector) EnrollmentPage(ctx context.Context, params provider.EnrollmentPageParams) (*provider.EnrollmentPage, error) {
	if params.ChangedSince != nil {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Provider: Name,
			Message: "Canvas cannot filter enrollments by modification time; run a full listing"}
	}
	cur := walkCursor{V: cursorVersion}
	if params.Cursor != "" {
		if err := decodeCursor(params.Cursor, &cur); err != nil {
			return nil, err
		}
	}
	for requests, reuse := 0, params.Cursor != ""; ; reuse = true {
		page, err := c.courses(ctx, cur.CoursesURL, reuse && !cur.Recheck)
		if err != nil {
			return nil, err
		}
		requests++
		idx := locate(page.courses, cur.CourseID, cur.Index)
		if cur.After != "" {
			idx = indexOf(page.courses, cur.After) + 1 // 0 when After is not on this page
			if cur.Recheck && idx == 0 {
				// After moved to a later page (courses were created before it)
				// or vanished: nothing of this page is left to list.
				idx = len(page.courses)
			}
		}
		if idx >= len(page.courses) {
			if page.next == "" {
				return &provider.EnrollmentPage{Total: -1}, nil
			}
			cur = walkCursor{V: cursorVersion, CoursesURL: page.next, After: cur.After}
			if cur.After == "" && len(page.courses) > 0 {
				cur.After = string(page.courses[len(page.courses)-1].ID)
			}
			continue
		}
		co := page.courses[idx]
		pageURL := cur.EnrollmentsURL
		if pageURL == "" {
			pageURL = c.firstEnrollmentsURL(string(co.ID))
		}
		recs, next, err := c.enrollments(ctx, pageURL, co.Name)
		if err != nil {
			return nil, err
		}
		requests++
		var after walkCursor
		switch {
		case next != "":
			after = walkCursor{V: cursorVersion, CoursesURL: cur.CoursesURL, CourseID: string(co.ID), Index: idx, EnrollmentsURL: next}
		case idx+1 < len(page.courses):
			after = walkCursor{V: cursorVersion, CoursesURL: cur.CoursesURL, CourseID: string(page.courses[idx+1].ID), Index: idx + 1}
		default:
			// The page's last course is done: read the page again before
			// leaving it (see walkCursor.After). The last page of all costs one
			// more request that ends the walk with an empty page.
			after = walkCursor{V: cursorVersion, CoursesURL: cur.CoursesURL, After: string(co.ID), Recheck: true}
		}
		if len(recs) > 0 || requests >= maxEmptyRequests {
			return &provider.EnrollmentPage{Enrollments: recs, Total: -1, NextCursor: encodeCursor(after)}, nil
		}
		cur = after
	}
}

// indexOf returns the position of course id in courses, or -1.
func indexOf(courses []course, id string) int {
	for i, co := range courses {
		if string(co.ID) == id {
			return i
		}
	}
	return -1
}

// locate finds the current course of a cursor in a courses page: by id, else
// at its recorded position (the course was removed since; what follows it
// moved into its place).
func locate(courses []course, id string, index int) int {
	if id != "" {
		for i, co := range courses {
			if string(co.ID) == id {
				return i
			}
		}
	}
	return index
}

// EnrollmentGet reads one enrollment by id. The show endpoint finds deleted
// enrollments too (providers.md §1.3). Its answer may lack the user summary
// that lists carry (§1.4 says only index adds it), so then the record is read
// from its course's roster filtered by user_id, which has the listing's shape.
func (c *Connector) EnrollmentGet(ctx context.Context, id string) (*lms.CourseEnrollment, error) {
	showURL := c.apiURL("/api/v1/accounts/"+url.PathEscape(c.accountID)+"/enrollments/"+url.PathEscape(id), nil)
	resp, err := c.call(ctx, http.MethodGet, showURL, nil, true)
	if err != nil {
		return nil, err
	}
	var head enrollment
	if err := decode(http.MethodGet, showURL, resp, &head); err != nil {
		return nil, err
	}
	raw := json.RawMessage(resp.Body)
	if head.User == nil || head.User.Name == "" {
		if full, err := c.rosterRecord(ctx, string(head.CourseID), string(head.UserID), id); err != nil {
			return nil, err
		} else if full != nil {
			raw = full
		}
	}
	title, err := c.courseTitle(ctx, string(head.CourseID))
	if err != nil {
		return nil, err
	}
	e, err := mapEnrollment(raw, title, c.mapOptions())
	if err != nil {
		return nil, malformed(http.MethodGet, showURL, resp, err)
	}
	return &e, nil
}

// rosterRecord finds enrollment id in its course's enrollments of one user
// (seed 004: user_id filters a course list), or returns nil.
func (c *Connector) rosterRecord(ctx context.Context, courseID, userID, id string) (json.RawMessage, error) {
	if courseID == "" || userID == "" {
		return nil, nil
	}
	q := url.Values{"per_page": {"100"}, "state[]": allStates, "user_id": {userID}}
	pageURL := c.apiURL("/api/v1/courses/"+url.PathEscape(courseID)+"/enrollments", q)
	for pageURL != "" {
		resp, err := c.call(ctx, http.MethodGet, pageURL, nil, true)
		if err != nil {
			return nil, err
		}
		var raws []json.RawMessage
		if err := decode(http.MethodGet, pageURL, resp, &raws); err != nil {
			return nil, err
		}
		for _, raw := range raws {
			var w enrollment
			if json.Unmarshal(raw, &w) == nil && string(w.ID) == id {
				return raw, nil
			}
		}
		pageURL = nextLink(resp.Header)
	}
	return nil, nil
}

// courseTitle returns a course's name from the walk's cache, else reads the
// course (GET /api/v1/courses/:id).
func (c *Connector) courseTitle(ctx context.Context, courseID string) (string, error) {
	if courseID == "" {
		return "", nil
	}
	if t := c.titleOf(courseID); t != "" {
		return t, nil
	}
	courseURL := c.apiURL("/api/v1/courses/"+url.PathEscape(courseID), nil)
	resp, err := c.call(ctx, http.MethodGet, courseURL, nil, true)
	if err != nil {
		return "", err
	}
	var co course
	if err := decode(http.MethodGet, courseURL, resp, &co); err != nil {
		return "", err
	}
	c.rememberTitle(courseID, co.Name)
	return co.Name, nil
}

// pageCursor is the cursor of the simple user and course listings: the next
// URL Canvas gave.
type pageCursor struct {
	Next string `json:"n"`
}

// UserPage lists the account's users (GET /api/v1/accounts/:id/users).
func (c *Connector) UserPage(ctx context.Context, cursor string) (*provider.UserPage, error) {
	pageURL := c.apiURL("/api/v1/accounts/"+url.PathEscape(c.accountID)+"/users", url.Values{"per_page": {strconv.Itoa(c.perPage)}})
	if cursor != "" {
		var pc pageCursor
		if err := decodeCursor(cursor, &pc); err != nil {
			return nil, err
		}
		pageURL = pc.Next
	}
	resp, err := c.call(ctx, http.MethodGet, pageURL, nil, true)
	if err != nil {
		return nil, err
	}
	var list []userRef
	if err := decode(http.MethodGet, pageURL, resp, &list); err != nil {
		return nil, err
	}
	out := &provider.UserPage{Users: make([]lms.User, 0, len(list))}
	for _, u := range list {
		user := lms.User{ID: string(u.ID), Name: u.Name}
		if u.Email != "" {
			user.Emails = []lms.Email{{Email: u.Email, IsPrimary: lms.Ptr(true)}}
		}
		out.Users = append(out.Users, user)
	}
	if next := nextLink(resp.Header); next != "" {
		out.NextCursor = encodeCursor(pageCursor{Next: next})
	}
	return out, nil
}

// CoursePage lists the account's courses (the walk's own courses pages).
func (c *Connector) CoursePage(ctx context.Context, cursor string) (*provider.CoursePage, error) {
	pageURL := ""
	if cursor != "" {
		var pc pageCursor
		if err := decodeCursor(cursor, &pc); err != nil {
			return nil, err
		}
		pageURL = pc.Next
	}
	page, err := c.courses(ctx, pageURL, false)
	if err != nil {
		return nil, err
	}
	out := &provider.CoursePage{Courses: make([]lms.Course, 0, len(page.courses))}
	for _, co := range page.courses {
		out.Courses = append(out.Courses, lms.Course{ID: string(co.ID), Title: co.Name})
	}
	if page.next != "" {
		out.NextCursor = encodeCursor(pageCursor{Next: page.next})
	}
	return out, nil
}

// nextLink returns the rel="next" URL of an RFC 5988 Link header (§1.11),
// verbatim, or "".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range splitLinks(v) {
			part = strings.TrimSpace(part)
			end := strings.Index(part, ">")
			if !strings.HasPrefix(part, "<") || end < 0 {
				continue
			}
			target := part[1:end]
			for _, param := range strings.Split(part[end+1:], ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header on the commas between entries, not on
// commas inside a <URL> (bookmarks may hold any character).
func splitLinks(v string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, v[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, v[start:])
}
