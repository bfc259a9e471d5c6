package digitalchalk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// Paths under base_url (§3.3, §3.5).
const (
	pathRegistrations = "/registrations"
	pathUsers         = "/users"
	pathOfferings     = "/offerings"
)

// Cursors. DigitalChalk pages by item offset and says where the next page is
// in "next" (§3.2). A cursor keeps the offset that link names, so a walk
// resumes exactly where the vendor pointed, in any process, plus the ids that
// ended the page before ("after"). A next link without an offset (not
// documented, kept for safety) is kept whole.
//
// Why the ids: offset paging skips a record whenever one before the offset
// vanishes between two pages (everything shifts down by one), and the sync
// engine would then take the skipped record for deleted. So each page after
// the first is read from anchorWindow items before the vendor's offset and
// starts right after the last id of the previous page, wherever it now is;
// shifts of up to anchorWindow records either way lose and repeat nothing.
// The cost is anchorWindow extra records per page.
const (
	cursorOffset = "offset"
	cursorAfter  = "after"
	cursorNext   = "next"
	anchorWindow = 5
	anchorIDs    = 3
)

// maxAttemptPages bounds the listing that numbers a user's attempts: a user
// does not retake one offering thousands of times, so more pages mean the
// filter was ignored and the numbering is given up rather than walking the
// whole account.
const maxAttemptPages = 10

// keyed is a listed vendor record with an id.
type keyed interface{ key() string }

func (r registration) key() string { return r.ID }
func (u user) key() string         { return u.ID }
func (o offering) key() string     { return o.ID }

// position is a decoded cursor.
type position struct {
	offset int      // item offset the vendor's next link named
	after  []string // ids that ended the previous page, last one last
	link   string   // a whole next link, when it had no offset
}

func (c *Connector) parseCursor(cursor string) (position, error) {
	if cursor == "" {
		return position{}, nil
	}
	bad := &provider.Error{
		Kind: provider.KindInvalidRequest, Provider: Name,
		Message: fmt.Sprintf("cursor %q was not made by the DigitalChalk connector for %s", cursor, c.baseURL),
	}
	v, err := url.ParseQuery(cursor)
	if err != nil {
		return position{}, bad
	}
	pos := position{after: v[cursorAfter]}
	switch {
	case v.Has(cursorOffset):
		pos.offset, err = strconv.Atoi(v.Get(cursorOffset))
		if err != nil || pos.offset < 0 {
			return position{}, bad
		}
	case v.Has(cursorNext):
		// The token must never be sent outside the API.
		u, err := url.Parse(v.Get(cursorNext))
		if err != nil || !c.sameAPI(u) {
			return position{}, bad
		}
		pos.link = u.String()
	default:
		return position{}, bad
	}
	return pos, nil
}

// fetchPage reads one page of a collection at path with the fixed filters of
// query, from cursor ("" = the first page), and returns the cursor of the
// next page ("" after the last).
func fetchPage[T keyed](ctx context.Context, c *Connector, path string, query url.Values, cursor string) ([]T, string, error) {
	pos, err := c.parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	pageURL, window := pos.link, 0
	if pos.link == "" {
		if len(pos.after) > 0 {
			window = min(anchorWindow, pos.offset)
		}
		offset := pos.offset - window
		q := url.Values{}
		for k, vs := range query {
			q[k] = vs
		}
		q.Set("limit", strconv.Itoa(min(c.pageSize+window, maxPageSize)))
		q.Set("offset", strconv.Itoa(offset))
		pageURL = c.endpoint(path, q)
	}
	var p page[T]
	if err := c.getJSON(ctx, pageURL, &p); err != nil {
		return nil, "", err
	}
	records := p.Results
	if window > 0 {
		records = afterAnchor(p.Results, pos.after, window)
	}
	anchors := pos.after
	if n := len(p.Results); n > 0 {
		anchors = nil
		for _, r := range p.Results[max(0, n-anchorIDs):] {
			anchors = append(anchors, r.key())
		}
	}
	// The next page must start beyond the offset this one was asked for on
	// the vendor's behalf (not the window's start), or the walk would loop.
	progress := pos.offset
	if pos.link != "" {
		progress = -1
	}
	next, err := c.nextCursor(pageURL, progress, p.Next, anchors)
	if err != nil {
		return nil, "", err
	}
	return records, next, nil
}

// afterAnchor returns the records after the latest anchor id still present;
// when none is (more than the window moved, or they all vanished) it falls
// back to plain offset paging.
func afterAnchor[T keyed](results []T, after []string, window int) []T {
	for i := len(after) - 1; i >= 0; i-- {
		for j, r := range results {
			if r.key() == after[i] {
				return results[j+1:]
			}
		}
	}
	return results[min(window, len(results)):]
}

// nextCursor turns the vendor's next link into a cursor, refusing a link that
// would not move forward (a walk that never ends) or that leaves the API (the
// token must not be sent elsewhere).
func (c *Connector) nextCursor(pageURL string, offset int, next string, anchors []string) (string, error) {
	if next == "" {
		return "", nil
	}
	base, _ := url.Parse(pageURL)
	link, err := base.Parse(next)
	if err != nil {
		return "", upstream(http.MethodGet, pageURL, "DigitalChalk answered a next link that is not a URL: %q", next)
	}
	if v := link.Query().Get("offset"); v != "" {
		nextOffset, err := strconv.Atoi(v)
		if err != nil || nextOffset < 0 {
			return "", upstream(http.MethodGet, pageURL, "DigitalChalk answered a next link with offset %q", v)
		}
		if offset >= 0 && nextOffset <= offset {
			return "", upstream(http.MethodGet, pageURL, "DigitalChalk's next link does not advance (offset %d after %d)", nextOffset, offset)
		}
		return url.Values{cursorOffset: {strconv.Itoa(nextOffset)}, cursorAfter: anchors}.Encode(), nil
	}
	if !c.sameAPI(link) {
		return "", upstream(http.MethodGet, pageURL, "DigitalChalk's next link %s leaves %s", httpx.Redact(link.String()), c.baseURL)
	}
	return url.Values{cursorNext: {link.String()}}.Encode(), nil
}

// sameAPI reports whether u is under base_url.
func (c *Connector) sameAPI(u *url.URL) bool {
	return u.Scheme == c.baseURL.Scheme && u.Host == c.baseURL.Host &&
		strings.HasPrefix(u.Path, strings.TrimRight(c.baseURL.Path, "/")+"/")
}

// EnrollmentPage returns one page of registrations. A walk from the start
// refreshes the cached user details, so names are at most one walk old.
func (c *Connector) EnrollmentPage(ctx context.Context, params provider.EnrollmentPageParams) (*provider.EnrollmentPage, error) {
	if params.ChangedSince != nil {
		return nil, &provider.Error{
			Kind: provider.KindInvalidRequest, Provider: Name,
			Message: "DigitalChalk cannot filter registrations by modification time; walk them all",
		}
	}
	if params.Cursor == "" {
		c.users.reset()
	}
	regs, next, err := fetchPage[registration](ctx, c, pathRegistrations, nil, params.Cursor)
	if err != nil {
		return nil, err
	}
	userIDs := make([]string, 0, len(regs))
	for _, r := range regs {
		if r.ID == "" {
			return nil, upstream(http.MethodGet, c.endpoint(pathRegistrations, nil), "DigitalChalk listed a registration without an id: %s", truncate(r.raw, 200))
		}
		userIDs = append(userIDs, r.UserID)
	}
	people, err := c.users.lookup(ctx, userIDs, true)
	if err != nil {
		return nil, err
	}
	out := &provider.EnrollmentPage{Enrollments: make([]lms.CourseEnrollment, 0, len(regs)), NextCursor: next, Total: -1}
	for _, r := range regs {
		out.Enrollments = append(out.Enrollments, toEnrollment(r, userOf(people, r.UserID), nil))
	}
	return out, nil
}

// EnrollmentGet reads one registration, its learner, and its place among the
// learner's attempts of the same offering (one more request).
func (c *Connector) EnrollmentGet(ctx context.Context, id string) (*lms.CourseEnrollment, error) {
	if strings.TrimSpace(id) == "" {
		return nil, &provider.Error{Kind: provider.KindNotFound, Provider: Name, Message: "no registration id given"}
	}
	rawURL := c.endpoint(pathRegistrations+"/"+url.PathEscape(id), nil)
	var r registration
	if err := c.getJSON(ctx, rawURL, &r); err != nil {
		return nil, err
	}
	if r.ID == "" {
		return nil, upstream(http.MethodGet, rawURL, "DigitalChalk answered a registration without an id")
	}
	people, err := c.users.lookup(ctx, []string{r.UserID}, false)
	if err != nil {
		return nil, err
	}
	try, err := c.countAttempts(ctx, r)
	if err != nil {
		return nil, err
	}
	e := toEnrollment(r, userOf(people, r.UserID), try)
	return &e, nil
}

// countAttempts numbers r among the user's registrations of its offering by
// creation (retakes make several, §3.3), or returns nil when that cannot be
// told.
func (c *Connector) countAttempts(ctx context.Context, r registration) (*attempts, error) {
	if r.UserID == "" || r.OfferingID == "" {
		return nil, nil
	}
	filter := url.Values{"userId": {r.UserID}, "offeringId": {r.OfferingID}}
	var all []registration
	cursor := ""
	for pages := 0; ; pages++ {
		if pages == maxAttemptPages {
			return nil, nil
		}
		regs, next, err := fetchPage[registration](ctx, c, pathRegistrations, filter, cursor)
		if err != nil {
			return nil, err
		}
		for _, other := range regs {
			// Kept client-side too, so that a server ignoring a filter cannot
			// mix other learners into the count.
			if other.UserID == r.UserID && other.OfferingID == r.OfferingID {
				all = append(all, other)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.SortStableFunc(all, func(a, b registration) int {
		ta, tb := parseTime(a.CreatedDate), parseTime(b.CreatedDate)
		switch {
		case ta != nil && tb != nil && !ta.Equal(*tb):
			return ta.Compare(*tb)
		case ta == nil && tb != nil:
			return 1
		case ta != nil && tb == nil:
			return -1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for i, other := range all {
		if other.ID == r.ID {
			return &attempts{number: i + 1, count: len(all)}, nil
		}
	}
	return nil, nil
}

// UserPage lists the organisation's users (GET /users).
func (c *Connector) UserPage(ctx context.Context, cursor string) (*provider.UserPage, error) {
	users, next, err := fetchPage[user](ctx, c, pathUsers, nil, cursor)
	if err != nil {
		return nil, err
	}
	out := &provider.UserPage{Users: make([]lms.User, 0, len(users)), NextCursor: next}
	for _, u := range users {
		out.Users = append(out.Users, toUser(u))
	}
	return out, nil
}

// CoursePage lists the offerings, DigitalChalk's enrollable unit (§3.5).
func (c *Connector) CoursePage(ctx context.Context, cursor string) (*provider.CoursePage, error) {
	offerings, next, err := fetchPage[offering](ctx, c, pathOfferings, nil, cursor)
	if err != nil {
		return nil, err
	}
	out := &provider.CoursePage{Courses: make([]lms.Course, 0, len(offerings)), NextCursor: next}
	for _, o := range offerings {
		out.Courses = append(out.Courses, lms.Course{ID: o.ID, Title: o.Title})
	}
	return out, nil
}

// ConnectionTest reads one registration, which proves the base URL, the token
// and the permission to read registrations at once; when user details are on,
// it also reads one user. Its error says which of them failed.
func (c *Connector) ConnectionTest(ctx context.Context) error {
	if err := c.probe(ctx, pathRegistrations, "registrations"); err != nil {
		return err
	}
	if c.userDetails == userDetailsNone {
		return nil
	}
	if err := c.probe(ctx, pathUsers, "users"); err != nil {
		return fmt.Errorf("%w (set %s=%s to sync without user names and emails)", err, settingUserDetails, userDetailsNone)
	}
	return nil
}

func (c *Connector) probe(ctx context.Context, path, what string) error {
	rawURL := c.endpoint(path, url.Values{"limit": {"1"}, "offset": {"0"}})
	var p page[map[string]any]
	err := c.getJSON(ctx, rawURL, &p)
	var pe *provider.Error
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return err
	case !errors.As(err, &pe):
		return err
	case pe.Kind == provider.KindUnavailable && pe.Status == 0:
		return fmt.Errorf("cannot reach DigitalChalk at %s: %w", c.baseURL, err)
	case pe.Kind == provider.KindAuthentication:
		return fmt.Errorf("DigitalChalk refused the token: %w", err)
	case pe.Kind == provider.KindPermission:
		// §3.4 does not say which status a bad token gets; 403 is read as a
		// missing right, but the message does not claim the token is good.
		return fmt.Errorf("DigitalChalk forbids this token to read %s (it needs API v5 permission and the rights of its web user to read %s): %w", what, what, err)
	case pe.Kind == provider.KindNotFound:
		return fmt.Errorf("%s has no %s resource: check %s (host and the /dc/api/v5 or /api/v5 prefix): %w", c.baseURL, path, settingBaseURL, err)
	case pe.Kind == provider.KindUpstream:
		return fmt.Errorf("%s does not answer like DigitalChalk API v5: %w", c.baseURL, err)
	}
	return fmt.Errorf("reading %s from DigitalChalk failed: %w", what, err)
}

func userOf(people map[string]lms.User, id string) *lms.User {
	if u, ok := people[id]; ok {
		return &u
	}
	return nil
}
