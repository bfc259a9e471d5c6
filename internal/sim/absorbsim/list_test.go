package absorbsim

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPaging(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courses()[0]
	base := "/courses/" + c.ID + "/enrollments"
	all := h.allOfCourse(c.ID, "")
	total := len(all)
	if total < 60 {
		t.Fatalf("course has only %d rows; the paging cases need more", total)
	}
	lastFull := total / 7 // the page index holding the last rows with _limit=7
	tests := []struct {
		name              string
		query             string
		wantLimit, wantOf int
		wantFrom, wantN   int // the rows returned are all[wantFrom : wantFrom+wantN]
	}{
		// providers.md §2.5: default _offset=0, _limit=20.
		{"defaults", "", 20, 0, 0, 20},
		// providers.md §2.5: _offset is a page index, not an item offset.
		{"second page", "?_limit=20&_offset=1", 20, 1, 20, 20},
		{"page index times limit", "?_limit=7&_offset=3", 7, 3, 21, 7},
		{"last partial page", "?_limit=7&_offset=" + itoa(lastFull), 7, lastFull, lastFull * 7, total - lastFull*7},
		{"past the end is empty", "?_limit=7&_offset=" + itoa(lastFull+1), 7, lastFull + 1, 0, 0},
		{"maximum offset", "?_offset=65535", 20, 65535, 0, 0},
		{"maximum limit", "?_limit=1000", 1000, 0, 0, min(total, 1000)},
		// seed 003: the deprecated limit/offset work the same way, and the underscore forms win.
		{"deprecated limit and offset", "?limit=5&offset=2", 5, 2, 10, 5},
		{"underscore wins", "?limit=5&offset=2&_limit=4&_offset=1", 4, 1, 4, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := h.page(base + tc.query)
			if p.TotalItems != total || p.Limit != tc.wantLimit || p.Offset != tc.wantOf {
				t.Fatalf("envelope total=%d limit=%d offset=%d, want %d %d %d", p.TotalItems, p.Limit, p.Offset, total, tc.wantLimit, tc.wantOf)
			}
			want := all[min(tc.wantFrom, total):min(tc.wantFrom+tc.wantN, total)]
			if len(p.Enrollments) != len(want) {
				t.Fatalf("%d rows, want %d", len(p.Enrollments), len(want))
			}
			for i := range want {
				if p.Enrollments[i].ID != want[i].ID {
					t.Fatalf("row %d is %s, want %s", i, p.Enrollments[i].ID, want[i].ID)
				}
			}
		})
	}
	bad := []struct{ name, query string }{
		// providers.md §2.5: _limit max 1000 (over the cap is a 400 here, not clamped), _offset max 65535.
		{"limit over the cap", "?_limit=1001"},
		{"zero limit", "?_limit=0"},
		{"negative offset", "?_offset=-1"},
		{"offset over the cap", "?_offset=65536"},
		{"non-numeric limit", "?_limit=ten"},
		{"deprecated limit over the cap", "?limit=5000"},
		// seed 003: status is an enum 0–12; modifiedSince a date-time.
		{"status out of range", "?status=13"},
		{"bad modifiedSince", "?modifiedSince=yesterday"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := h.must(400, "GET", base+tc.query, nil)
			if e := r.errorBody(t); len(e.Validations) == 0 {
				t.Fatalf("no validation message: %s", r.body)
			}
		})
	}
}

// A complete walk of every course's pages returns every enrollment once
// (providers.md §2.5: increment _offset until no records come back).
func TestWalkEveryCourseReturnsEveryEnrollmentOnce(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	seen := map[string]bool{}
	var coursesSeen int
	for off := 0; ; off++ {
		var p coursePage
		h.must(200, "GET", "/courses?_limit=3&_offset="+itoa(off), nil).decode(t, &p)
		if len(p.Courses) == 0 {
			break
		}
		coursesSeen += len(p.Courses)
		for _, c := range p.Courses {
			for off := 0; ; off++ {
				pg := h.page("/courses/" + c.ID + "/enrollments?_limit=97&_offset=" + itoa(off))
				if len(pg.Enrollments) == 0 {
					break
				}
				for _, e := range pg.Enrollments {
					if seen[e.ID] {
						t.Fatalf("%s returned twice", e.ID)
					}
					seen[e.ID] = true
				}
			}
		}
	}
	if coursesSeen != 20 {
		t.Fatalf("walked %d courses, want 20", coursesSeen)
	}
	want := h.sim.EnrollmentIDs()
	got := make([]string, 0, len(seen))
	for id := range seen {
		got = append(got, id)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("walk returned %d ids, EnrollmentIDs %d", len(got), len(want))
	}
	if len(want) <= 2000 {
		t.Fatalf("%d ids: history rows should come on top of 2000 current rows", len(want))
	}
}

func TestEmptyCollection(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{Enrollments: 1, Users: 1, Courses: 2})
	empty := 0
	for _, c := range h.courses() {
		// providers.md §2.5: the envelope, in the documented key order.
		if body := string(h.must(200, "GET", "/courses/"+c.ID+"/enrollments", nil).body); !strings.HasPrefix(body, `{"totalItems":`) ||
			!strings.Contains(body, `"offset":0,"enrollments":[`) {
			t.Fatalf("envelope %s", body)
		}
		p := h.page("/courses/" + c.ID + "/enrollments")
		if p.TotalItems > 1 {
			t.Fatalf("course %s: %d rows", c.ID, p.TotalItems)
		}
		if p.TotalItems == 0 && (p.Enrollments == nil || p.ReturnedItems != 0) {
			// providers.md §2.5: the envelope carries an empty array, not null.
			t.Fatalf("empty page is not an empty array: %+v", p)
		}
		if p.TotalItems == 0 {
			empty++
		}
	}
	if empty != 1 {
		t.Fatalf("%d empty courses, want 1", empty)
	}
}

// seed 003: get-style operations take the deprecated status and
// modifiedSince too; a row that does not match is a 404.
func TestGetStyleQueryFilters(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	var e courseEnrollmentJSON
	for _, row := range h.allOfCourse(h.courses()[0].ID, "") {
		if row.IsActive {
			e = row
			break
		}
	}
	path := "/users/" + e.UserID + "/enrollments/" + e.CourseID
	other := (e.Status + 1) % (maxStatus + 1)
	tests := []struct {
		query string
		want  int
	}{
		{"", 200},
		{"?status=" + itoa(int(e.Status)), 200},
		{"?status=" + itoa(int(other)), 404},
		{"?modifiedSince=" + q("2000-01-01"), 200},
		{"?modifiedSince=" + q(*e.DateEdited), 404}, // "edited after": strictly later
		{"?status=x", 400},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			h.must(tc.want, "GET", path+tc.query, nil)
		})
	}
}

func TestSort(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courses()[1]
	base := "/courses/" + c.ID + "/enrollments?_limit=1000"
	tests := []struct {
		name string
		sort string
		less func(a, b courseEnrollmentJSON) int // the order the rows must be in
	}{
		// providers.md §2.5: comma list, "-" for descending.
		{"score descending", "-score", func(a, b courseEnrollmentJSON) int { return cmpF(b.Score, a.Score) }},
		{"status then dateAdded descending", "status,-dateAdded", func(a, b courseEnrollmentJSON) int {
			if c := cmpF(float64(a.Status), float64(b.Status)); c != 0 {
				return c
			}
			return strings.Compare(*b.DateAdded, *a.DateAdded)
		}},
		{"full name", "fullName", func(a, b courseEnrollmentJSON) int { return strings.Compare(a.FullName, b.FullName) }},
		{"id", "id", func(a, b courseEnrollmentJSON) int { return strings.Compare(a.ID, b.ID) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := h.page(base + "&_sort=" + q(tc.sort))
			if !slices.IsSortedFunc(p.Enrollments, tc.less) {
				t.Fatalf("rows are not in %s order", tc.sort)
			}
		})
	}
	// The default order is stable: equal keys keep it, so repeated pages agree.
	a, b := h.page(base+"&_sort=status"), h.page(base+"&_sort=status")
	for i := range a.Enrollments {
		if a.Enrollments[i].ID != b.Enrollments[i].ID {
			t.Fatal("sorting is not deterministic")
		}
	}
	// providers.md §2.5: only known fields may be sorted on.
	r := h.must(400, "GET", base+"&_sort=nope", nil)
	if e := r.errorBody(t); !strings.Contains(strings.Join(e.Validations, " "), "nope") {
		t.Fatalf("400 does not name the field: %s", r.body)
	}
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The `_filter` through HTTP: every returned row matches, and totalItems is
// the number of rows of the whole course that match.
func TestFilterOverHTTP(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courses()[2]
	all := h.allOfCourse(c.ID, "")
	someone := all[len(all)/2]
	tests := []struct {
		name   string
		filter string
		match  func(e courseEnrollmentJSON) bool
	}{
		// providers.md §2.5 "Filtering".
		{"status", "status eq 3", func(e courseEnrollmentJSON) bool { return e.Status == 3 }},
		{"history rows", "isActive eq false", func(e courseEnrollmentJSON) bool { return !e.IsActive }},
		{"user by guid", "userId eq guid'" + someone.UserID + "'", func(e courseEnrollmentJSON) bool { return e.UserID == someone.UserID }},
		{"incremental by dateEdited", "dateEdited ge datetime'" + strings.TrimSuffix(*someone.DateEdited, "Z") + "'",
			func(e courseEnrollmentJSON) bool { return *e.DateEdited >= *someone.DateEdited }},
		{"completed with a certificate", "dateCompleted ne null and certificateId ne null",
			func(e courseEnrollmentJSON) bool { return e.DateCompleted != nil && e.CertificateID != nil }},
		{"name function", "startswith(tolower(fullName),'" + strings.ToLower(someone.FullName[:2]) + "')",
			func(e courseEnrollmentJSON) bool {
				return strings.HasPrefix(strings.ToLower(e.FullName), strings.ToLower(someone.FullName[:2]))
			}},
		{"or and not", "(status eq 0 or status eq 1) and not (progress gt 50)",
			func(e courseEnrollmentJSON) bool { return (e.Status == 0 || e.Status == 1) && !(e.Progress > 50) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := 0
			for _, e := range all {
				if tc.match(e) {
					want++
				}
			}
			got := h.allOfCourse(c.ID, "&_filter="+q(tc.filter))
			if len(got) != want {
				t.Fatalf("%d rows match, want %d", len(got), want)
			}
			for _, e := range got {
				if !tc.match(e) {
					t.Fatalf("row %s does not match", e.ID)
				}
			}
			if p := h.page("/courses/" + c.ID + "/enrollments?_limit=1&_filter=" + q(tc.filter)); p.TotalItems != want {
				t.Fatalf("totalItems %d, want %d", p.TotalItems, want)
			}
		})
	}
	// seed 003: the deprecated status and modifiedSince (edited after, strictly).
	since := *someone.DateEdited
	want := 0
	for _, e := range all {
		if e.Status == 3 && *e.DateEdited > since {
			want++
		}
	}
	if p := h.page("/courses/" + c.ID + "/enrollments?status=3&modifiedSince=" + q(since)); p.TotalItems != want {
		t.Fatalf("status+modifiedSince: %d rows, want %d", p.TotalItems, want)
	}
	// Bad filters are 400s with the reason (providers.md §2.5).
	for _, bad := range []string{"status eq", "nope eq 1", "dateEdited ge '2024-01-01'", "status eq 1 or"} {
		r := h.must(400, "GET", "/courses/"+c.ID+"/enrollments?_filter="+q(bad), nil)
		if e := r.errorBody(t); len(e.Validations) == 0 {
			t.Fatalf("%q: no reason given", bad)
		}
	}
}

func TestUsersAndCourses(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	var users userPage
	h.must(200, "GET", "/users?_limit=1000&_sort=username", nil).decode(t, &users)
	if users.TotalItems != 200 || len(users.Users) != 200 {
		t.Fatalf("%d users, want 200", users.TotalItems)
	}
	var u userJSON
	h.must(200, "GET", "/users/"+users.Users[7].ID, nil).decode(t, &u)
	if u.Username != users.Users[7].Username || u.EmailAddress == "" || u.FirstName == "" {
		t.Fatalf("user %+v", u)
	}
	var p userPage
	h.must(200, "GET", "/users?_filter="+q("customFields/string1 eq '"+u.CustomFields["string1"]+"'"), nil).decode(t, &p)
	if p.TotalItems != 1 || p.Users[0].ID != u.ID {
		t.Fatalf("nested-path filter found %d users", p.TotalItems)
	}
	var ilc coursePage
	h.must(200, "GET", "/courses?_filter="+q("courseType eq 'InstructorLedCourse'"), nil).decode(t, &ilc)
	if ilc.TotalItems == 0 {
		t.Fatal("no instructor-led courses")
	}
	for _, c := range ilc.Courses {
		if len(c.Sessions) == 0 {
			t.Fatalf("ILC %s has no sessions", c.ID)
		}
	}
	var c courseJSON
	h.must(200, "GET", "/courses/"+ilc.Courses[0].ID, nil).decode(t, &c)
	if c.Name != ilc.Courses[0].Name {
		t.Fatalf("course %+v", c)
	}
}

// The data set covers what a connector must map (DESIGN.md status table).
func TestDataSetCoverage(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	now := testNow.Format("2006-01-02T15:04:05Z")
	statuses := map[int8]bool{}
	var history, overdue, expired, certified, ilcSessions int
	for _, c := range h.courses() {
		for _, e := range h.allOfCourse(c.ID, "") {
			statuses[e.Status] = true
			if !e.IsActive {
				history++
			}
			if e.DateDue != nil && *e.DateDue < now && e.Status != 3 && e.IsActive {
				overdue++
			}
			if e.DateExpires != nil && *e.DateExpires < now {
				expired++
			}
			if e.Status == 3 && e.CertificateID != nil {
				certified++
			}
			if e.TimeSpent == "" || (e.DateEdited == nil || *e.DateEdited >= now) {
				t.Fatalf("row %s: timeSpent %q dateEdited %v", e.ID, e.TimeSpent, e.DateEdited)
			}
		}
		for _, s := range c.Sessions {
			var p struct {
				TotalItems int `json:"totalItems"`
			}
			h.must(200, "GET", "/instructor-led-courses/"+c.ID+"/sessions/"+s.ID+"/enrollments", nil).decode(t, &p)
			ilcSessions += p.TotalItems
		}
	}
	for s := int8(0); s <= maxStatus; s++ {
		if !statuses[s] {
			t.Errorf("status %d is not represented (providers.md §2.4)", s)
		}
	}
	for name, n := range map[string]int{"history": history, "overdue": overdue, "expired": expired, "certified": certified, "ILC session": ilcSessions} {
		if n == 0 {
			t.Errorf("no %s rows", name)
		}
	}
}

func TestSameSeedSameData(t *testing.T) {
	t.Parallel()
	a, err := New(Config{Seed: 7, Clock: clockAt(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Seed: 7, Clock: clockAt(testNow.Add(3 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Seed: 8, Clock: clockAt(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.EnrollmentIDs(), b.EnrollmentIDs()) {
		t.Fatal("same seed gave different enrollment ids")
	}
	if slices.Equal(a.EnrollmentIDs(), c.EnrollmentIDs()) {
		t.Fatal("different seeds gave the same ids")
	}
}

// Seed 003 lists 422 (and no 400) for the paged lists, so the status of a
// bad query is configurable (UNCERTAIN).
func TestQueryErrorStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{"default", Config{}, 400},
		{"422", Config{QueryErrorStatus: 422}, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, tc.cfg)
			c := h.courses()[0]
			for _, query := range []string{"_filter=" + q("status eq"), "_sort=nope", "_limit=5000"} {
				h.must(tc.want, "GET", "/courses/"+c.ID+"/enrollments?"+query, nil).errorBody(t)
			}
		})
	}
	if _, err := New(Config{QueryErrorStatus: 418}); err == nil {
		t.Fatal("418 accepted")
	}
}
