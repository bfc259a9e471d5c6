package canvassim

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// countIn counts the enrollments of the data set a predicate keeps, the
// independent answer the lists are checked against.
func countIn(s *Sim, keep func(st *store, e *enrollment) bool) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for i := range s.st.enrollments {
		if e := &s.st.enrollments[i]; !e.gone && keep(s.st, e) {
			n++
		}
	}
	return n
}

func TestPagingPerPage(t *testing.T) {
	_, base := startSim(t, Config{Seed: 4, Users: 80, Courses: 1, Enrollments: 400})
	list := base + "/api/v1/courses/10001/enrollments"
	cases := []struct {
		name    string
		perPage string
		want    int
	}{
		// providers.md §1.11: default 10, at most 100, below 1 clamped to 1.
		{"default", "", 10},
		{"explicit", "25", 25},
		{"over the cap", "1000", 100},
		{"zero", "0", 1},
		{"negative", "-5", 1},
		// Api.per_page_for: Ruby's to_i, so a non-number is 0, clamped to 1.
		{"not a number", "many", 1},
		{"leading digits", "25abc", 25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := list
			if tc.perPage != "" {
				u += "?per_page=" + tc.perPage
			}
			r := send(t, "GET", u, nil)
			var rows []wireEnrollment
			r.json(t, &rows)
			if len(rows) != tc.want {
				t.Fatalf("%d rows, want %d", len(rows), tc.want)
			}
			next := r.links()["next"]
			if !strings.Contains(next, "per_page="+strconv.Itoa(tc.want)) {
				t.Fatalf("next link %q does not carry per_page=%d", next, tc.want)
			}
		})
	}
}

func TestPagingLinksAndWalk(t *testing.T) {
	s, base := startSim(t, Config{Seed: 4, Users: 80, Courses: 1, Enrollments: 400})
	list := base + "/api/v1/courses/10001/enrollments"

	t.Run("rels", func(t *testing.T) {
		// providers.md §1.11: current, next, first; bookmarked lists have
		// no last; access_token never appears in links (§1.1) while other
		// parameters are kept.
		r := send(t, "GET", list+"?type[]=StudentEnrollment&access_token="+testToken+"&per_page=5", nil, withoutToken())
		links := r.links()
		for _, rel := range []string{"current", "next", "first"} {
			if links[rel] == "" {
				t.Fatalf("no rel=%q in %q", rel, r.header.Get("Link"))
			}
		}
		if _, ok := links["last"]; ok {
			t.Fatalf("bookmarked list has rel=last: %q", r.header.Get("Link"))
		}
		for rel, u := range links {
			if strings.Contains(u, "access_token") {
				t.Fatalf("rel=%s keeps access_token: %s", rel, u)
			}
			if !strings.Contains(u, "type%5B%5D=StudentEnrollment") {
				t.Fatalf("rel=%s lost type[]: %s", rel, u)
			}
		}
		if !strings.Contains(links["first"], "page=first") {
			t.Fatalf("first link %q", links["first"])
		}
		// providers.md §1.11: bookmarks are opaque, not page numbers.
		if !regexp.MustCompile(`page=bookmark:[A-Za-z0-9_-]+&per_page=5$`).MatchString(links["next"]) {
			t.Fatalf("next link %q", links["next"])
		}
	})

	t.Run("walk returns each row once, in Canvas order", func(t *testing.T) {
		// providers.md §1.6: default all_active_or_pending for an admin;
		// order type, sortable name, id.
		want := countIn(s, func(st *store, e *enrollment) bool {
			return e.state != stateRejected && e.state != stateCompleted && e.state != stateDeleted
		})
		rows, pages := walk(t, list+"?per_page=7")
		if len(rows) != want {
			t.Fatalf("walk gave %d rows, want %d", len(rows), want)
		}
		if wantPages := (want + 6) / 7; pages != wantPages {
			t.Fatalf("%d pages, want %d", pages, wantPages)
		}
		seen := map[int64]bool{}
		for i, r := range rows {
			if seen[r.ID] {
				t.Fatalf("row %d seen twice", r.ID)
			}
			seen[r.ID] = true
			if i > 0 {
				p := rows[i-1]
				c := cmp.Or(strings.Compare(p.Type, r.Type), strings.Compare(strings.ToLower(p.User.SortableName), strings.ToLower(r.User.SortableName)))
				if c > 0 || (c == 0 && p.User.ID == r.User.ID && p.ID > r.ID) {
					t.Fatalf("rows out of order: %+v then %+v", p, r)
				}
			}
		}
	})

	t.Run("last page has no next", func(t *testing.T) {
		r := send(t, "GET", list+"?per_page=100&state[]=rejected", nil)
		var rows []wireEnrollment
		r.json(t, &rows)
		if len(rows) == 0 || len(rows) == 100 {
			t.Fatalf("fixture: %d rejected rows", len(rows))
		}
		if next, ok := r.links()["next"]; ok {
			t.Fatalf("last page links next %q", next)
		}
	})

	t.Run("page after the last row is empty", func(t *testing.T) {
		// providers.md §1.11: past the end is [], not 404.
		r := send(t, "GET", list+"?per_page=100&state[]=rejected", nil)
		var rows []wireEnrollment
		r.json(t, &rows)
		s.mu.RLock()
		pos, _ := s.st.enrollmentByID(rows[len(rows)-1].ID)
		bm := s.st.bookmark(pos)
		s.mu.RUnlock()
		r = send(t, "GET", list+"?state[]=rejected&page="+url.QueryEscape(bm), nil)
		if r.status != 200 || strings.TrimSpace(r.body) != "[]" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})

	t.Run("empty list", func(t *testing.T) {
		// The admin owns no enrollments: an empty list still has links.
		r := send(t, "GET", base+"/api/v1/users/self/enrollments", nil)
		if r.status != 200 || strings.TrimSpace(r.body) != "[]" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		if links := r.links(); links["current"] == "" || links["first"] == "" || links["next"] != "" {
			t.Fatalf("links %q", r.header.Get("Link"))
		}
	})

	t.Run("bookmark outlives its row", func(t *testing.T) {
		// A bookmark names the last row served; hard-deleting that row
		// between pages must neither repeat nor skip rows.
		u := list + "?per_page=9&state[]=active"
		all, _ := walk(t, u)
		first := send(t, "GET", u, nil)
		var page1 []wireEnrollment
		first.json(t, &page1)
		if r := send(t, "DELETE", fmt.Sprintf("%s/_sim/enrollments/%d", base, page1[len(page1)-1].ID), nil); r.status != 204 {
			t.Fatalf("admin delete: %d", r.status)
		}
		rest, _ := walk(t, first.links()["next"])
		if len(page1)+len(rest) != len(all) || rest[0].ID != all[len(page1)].ID {
			t.Fatalf("after the delete: %d + %d rows, want %d", len(page1), len(rest), len(all))
		}
	})

	t.Run("unreadable bookmark starts over", func(t *testing.T) {
		a := send(t, "GET", list+"?page=bookmark:garbage", nil)
		b := send(t, "GET", list, nil)
		if a.status != 200 || a.body != b.body {
			t.Fatalf("got %d %.200s", a.status, a.body)
		}
	})
}

func TestDefaultStateFilters(t *testing.T) {
	s, base := startSim(t, Config{Seed: 5, Users: 60, Courses: 2, Enrollments: 600})
	// A user with enrollments in several states, to list as another user
	// and, masquerading, as themself.
	e := fixture(s, func(st *store, e *enrollment) bool { return e.state == stateInvited && e.course == 0 })
	if e == nil {
		t.Fatal("fixture: no invited enrollment")
	}
	uid := strconv.FormatInt(s.userID(e), 10)
	sec := strconv.FormatInt(s.st.sections[e.section].id, 10)
	now := testNow.Unix()
	in := func(states ...workflowState) func(*enrollment) bool {
		return func(e *enrollment) bool {
			for _, st := range states {
				if e.state == st {
					return true
				}
			}
			return false
		}
	}
	adminDefault := in(stateActive, stateInvited, stateCreationPending, stateInactive)
	cases := []struct {
		name  string
		path  string
		scope func(*enrollment) bool // which rows the path covers
		keep  func(st *store, e *enrollment) bool
	}{
		// providers.md §1.6: an account admin with read_as_admin gets
		// all_active_or_pending on course lists, inactive included.
		{"course default", "/api/v1/courses/10001/enrollments", func(e *enrollment) bool { return e.course == 0 }, func(_ *store, e *enrollment) bool { return adminDefault(e) }},
		// providers.md §1.6: the same default on section lists.
		{"section default", "/api/v1/sections/" + sec + "/enrollments", func(x *enrollment) bool { return x.section == e.section }, func(_ *store, e *enrollment) bool { return adminDefault(e) }},
		// providers.md §1.6: state[] filters the stored workflow_state.
		{"course deleted only", "/api/v1/courses/10001/enrollments?state[]=deleted", func(e *enrollment) bool { return e.course == 0 }, func(_ *store, e *enrollment) bool { return e.state == stateDeleted }},
		{"course completed and rejected", "/api/v1/courses/10001/enrollments?state[]=completed&state[]=rejected", func(e *enrollment) bool { return e.course == 0 }, func(_ *store, e *enrollment) bool { return in(stateCompleted, stateRejected)(e) }},
		// seed 004: type[] filters by type.
		{"course teachers", "/api/v1/courses/10001/enrollments?type[]=TeacherEnrollment", func(e *enrollment) bool { return e.course == 0 }, func(_ *store, e *enrollment) bool { return adminDefault(e) && e.typ == teacherEnrollment }},
		// seed 004: role[] wins over type[].
		{"role wins over type", "/api/v1/courses/10001/enrollments?role[]=StudentEnrollment&type[]=TeacherEnrollment", func(e *enrollment) bool { return e.course == 0 }, func(_ *store, e *enrollment) bool { return adminDefault(e) && e.typ == studentEnrollment }},
		// providers.md §1.6: another user's list defaults to active and invited.
		{"other user default", "/api/v1/users/" + uid + "/enrollments", func(x *enrollment) bool { return x.user == e.user }, func(_ *store, e *enrollment) bool { return in(stateActive, stateInvited)(e) }},
		// providers.md §1.6: a course list with user_id uses the user logic.
		{"course with user_id", "/api/v1/courses/10001/enrollments?user_id=" + uid, func(x *enrollment) bool { return x.user == e.user && x.course == 0 }, func(_ *store, e *enrollment) bool { return in(stateActive, stateInvited)(e) }},
		// providers.md §1.6: the caller's own list filters the date-based
		// state, current_and_invited, hiding soft-concluded rows.
		{"own list", "/api/v1/users/self/enrollments?as_user_id=" + uid, func(x *enrollment) bool { return x.user == e.user }, func(st *store, e *enrollment) bool {
			s := st.effectiveState(e, now)
			return s == "active" || s == "invited"
		}},
		// seed 004: sis_user_id[] and sis_section_id[] filter a course list.
		{"course by sis user", "/api/v1/courses/10001/enrollments?sis_user_id[]=" + s.st.users[e.user].sisID, func(x *enrollment) bool { return x.course == 0 && x.user == e.user }, func(_ *store, e *enrollment) bool { return adminDefault(e) }},
		{"course by sis section", "/api/v1/courses/10001/enrollments?sis_section_id[]=" + s.st.sections[e.section].sisID, func(x *enrollment) bool { return x.section == e.section }, func(_ *store, e *enrollment) bool { return adminDefault(e) }},
		{"course by sis account", "/api/v1/courses/10001/enrollments?sis_account_id=ACCT", func(*enrollment) bool { return false }, nil},
		{"own list concluded", "/api/v1/users/self/enrollments?state[]=current_and_concluded&as_user_id=" + uid, func(x *enrollment) bool { return x.user == e.user }, func(st *store, e *enrollment) bool {
			s := st.effectiveState(e, now)
			return s == "active" || s == "completed"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			rows, _ := walk(t, base+tc.path+sep+"per_page=50")
			want := countIn(s, func(st *store, e *enrollment) bool { return tc.scope(e) && tc.keep(st, e) })
			if want == 0 && tc.keep != nil {
				t.Fatal("fixture: the case selects nothing")
			}
			if len(rows) != want {
				t.Fatalf("%d rows, want %d", len(rows), want)
			}
		})
	}

	t.Run("own list rejects unknown states", func(t *testing.T) {
		// providers.md §1.6: 400 {"error":"Invalid state <x>"}.
		r := send(t, "GET", base+"/api/v1/users/self/enrollments?state[]=bogus&as_user_id="+uid, nil)
		if r.status != 400 {
			t.Fatalf("status %d", r.status)
		}
		sameJSON(t, r.body, `{"error":"Invalid state bogus"}`)
	})
	t.Run("unknown role", func(t *testing.T) {
		// providers.md §1.6: an unknown role name raises BadRequest, which
		// ApplicationController#api_error_json renders generically.
		r := send(t, "GET", base+"/api/v1/courses/10001/enrollments?role[]=Wizard", nil)
		var body struct {
			Errors []struct {
				ErrorCode string `json:"error_code"`
			} `json:"errors"`
		}
		r.json(t, &body)
		if r.status != 400 || len(body.Errors) != 1 || body.Errors[0].ErrorCode != "bad_request" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("unknown role id", func(t *testing.T) {
		// enrollment_index_conditions: role ids are used as given, so an
		// unknown one matches nothing.
		r := send(t, "GET", base+"/api/v1/courses/10001/enrollments?role_id[]=99", nil)
		if r.status != 200 || strings.TrimSpace(r.body) != "[]" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("unknown masquerade", func(t *testing.T) {
		// ApplicationController#load_user: 401 {"errors":"Invalid as_user_id"}.
		r := send(t, "GET", base+"/api/v1/users/self/enrollments?as_user_id=sis_user_id:bogus", nil)
		if r.status != 401 || r.header.Get("WWW-Authenticate") != "" {
			t.Fatalf("status %d, headers %v", r.status, r.header)
		}
		sameJSON(t, r.body, `{"errors":"Invalid as_user_id"}`)
	})
	t.Run("grading period", func(t *testing.T) {
		// providers.md §1.4: an unknown grading_period_id is 400; the
		// simulated courses have no grading periods at all.
		r := send(t, "GET", base+"/api/v1/courses/10001/enrollments?grading_period_id=1", nil)
		if r.status != 400 {
			t.Fatalf("status %d", r.status)
		}
		sameJSON(t, r.body, `{"error":"invalid grading_period_id"}`)
	})
}

func TestEnrollmentObject(t *testing.T) {
	s, base := startSim(t, Config{Seed: 6})
	student := fixture(s, func(st *store, e *enrollment) bool {
		return e.typ == studentEnrollment && e.state == stateActive && e.currentScore != noScore && st.courses[e.course].hasScheme
	})
	teacher := fixture(s, func(st *store, e *enrollment) bool { return e.typ == teacherEnrollment })
	iso := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	fields := []string{"id", "course_id", "course_section_id", "user_id", "type", "role", "role_id", "enrollment_state",
		"created_at", "updated_at", "start_at", "end_at", "html_url", "last_activity_at", "last_attended_at",
		"total_activity_time", "associated_user_id", "limit_privileges_to_course_section", "root_account_id",
		"sis_course_id", "sis_section_id", "sis_user_id"}
	cases := []struct {
		name       string
		e          *enrollment
		list       bool
		wantGrades bool
	}{
		// providers.md §1.4: grades only on student enrollments; the user
		// summary only on lists.
		{"student on a list", student, true, true},
		{"student shown", student, false, true},
		{"teacher on a list", teacher, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var row map[string]any
			if tc.list {
				var rows []map[string]any
				send(t, "GET", base+"/api/v1/users/"+strconv.FormatInt(s.userID(tc.e), 10)+"/enrollments?state[]="+tc.e.state.String()+"&per_page=100", nil).json(t, &rows)
				for _, r := range rows {
					if int64(r["id"].(float64)) == tc.e.id {
						row = r
					}
				}
			} else {
				send(t, "GET", base+"/api/v1/accounts/1/enrollments/"+strconv.FormatInt(tc.e.id, 10), nil).json(t, &row)
			}
			if row == nil {
				t.Fatal("enrollment not found")
			}
			for _, f := range fields {
				if _, ok := row[f]; !ok {
					t.Errorf("no %s", f)
				}
			}
			for _, f := range []string{"created_at", "updated_at"} {
				if !iso.MatchString(row[f].(string)) {
					t.Errorf("%s = %v", f, row[f])
				}
			}
			if row["enrollment_state"] != tc.e.state.String() || row["role"] != row["type"] {
				t.Errorf("state %v role %v type %v", row["enrollment_state"], row["role"], row["type"])
			}
			grades, hasGrades := row["grades"].(map[string]any)
			if hasGrades != tc.wantGrades {
				t.Fatalf("grades %v", row["grades"])
			}
			if hasGrades {
				for _, f := range []string{"html_url", "current_score", "final_score", "current_grade", "final_grade"} {
					if grades[f] == nil {
						t.Errorf("grades.%s missing", f)
					}
				}
			}
			user, hasUser := row["user"].(map[string]any)
			if hasUser != tc.list {
				t.Fatalf("user %v", row["user"])
			}
			if hasUser {
				for _, f := range []string{"id", "name", "sortable_name", "short_name", "login_id"} {
					if user[f] == nil {
						t.Errorf("user.%s missing", f)
					}
				}
				if _, ok := user["email"]; ok {
					t.Errorf("email without include[]=email")
				}
			}
		})
	}
}
