package canvassim

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Courses of the generated data set: index 0 is published, index 7
// unpublished and index 9 concluded (see generate).
const (
	publishedCourse   = "10001"
	unpublishedCourse = "10008"
	concludedCourse   = "10010"
)

// fresh starts a simulator whose users have no enrollments yet, so every
// create is a first one; each test takes users by number.
func fresh(t *testing.T, cfg Config) (*Sim, string) {
	cfg.Seed = 7
	cfg.Users, cfg.Enrollments = 400, 1
	return startSim(t, cfg)
}

func userN(n int) string { return strconv.Itoa(userIDBase + n) }

// enroll creates an enrollment by form POST and returns it.
func enroll(t *testing.T, base, course string, form url.Values) wireEnrollment {
	t.Helper()
	r := send(t, "POST", base+"/api/v1/courses/"+course+"/enrollments", form)
	if r.status != 200 {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var e wireEnrollment
	r.json(t, &e)
	return e
}

func show(t *testing.T, base string, id int64) wireEnrollment {
	t.Helper()
	r := send(t, "GET", fmt.Sprintf("%s/api/v1/accounts/1/enrollments/%d", base, id), nil)
	if r.status != 200 {
		t.Fatalf("show %d: %d %s", id, r.status, r.body)
	}
	var e wireEnrollment
	r.json(t, &e)
	return e
}

func TestCreate(t *testing.T) {
	s, base := fresh(t, Config{})
	secondSection := strconv.FormatInt(s.st.sections[s.st.courses[0].sections[len(s.st.courses[0].sections)-1]].id, 10)
	otherSection := strconv.FormatInt(s.st.sections[s.st.courses[1].sections[0]].id, 10)
	cases := []struct {
		name       string
		path       string // defaults to the published course's enrollments
		body       any
		wantStatus int
		wantState  string
		wantType   string
		wantUser   string
		wantBody   string
	}{
		// providers.md §1.7: a published course invites by default; 200, not 201.
		{name: "form, published course", body: url.Values{"enrollment[user_id]": {userN(1)}}, wantStatus: 200, wantState: "invited", wantType: "StudentEnrollment"},
		// providers.md §1.1: JSON bodies too.
		{name: "json body", body: map[string]any{"enrollment": map[string]any{"user_id": userIDBase + 2, "type": "StudentEnrollment", "enrollment_state": "active"}}, wantStatus: 200, wantState: "active", wantType: "StudentEnrollment"},
		// seed 004: the curl examples send multipart forms (-F).
		{name: "multipart form", body: multipartForm{"enrollment[user_id]": userN(15), "enrollment[type]": "TaEnrollment"}, wantStatus: 200, wantState: "invited", wantType: "TaEnrollment"},
		{name: "explicit inactive", body: url.Values{"enrollment[user_id]": {userN(3)}, "enrollment[enrollment_state]": {"inactive"}}, wantStatus: 200, wantState: "inactive"},
		// providers.md §1.7: unpublished course → creation_pending …
		{name: "student, unpublished", path: "/api/v1/courses/" + unpublishedCourse + "/enrollments", body: url.Values{"enrollment[user_id]": {userN(4)}}, wantStatus: 200, wantState: "creation_pending"},
		{name: "explicit invited, unpublished", path: "/api/v1/courses/" + unpublishedCourse + "/enrollments", body: url.Values{"enrollment[user_id]": {userN(5)}, "enrollment[enrollment_state]": {"invited"}}, wantStatus: 200, wantState: "creation_pending"},
		// … except teachers, TAs and designers, who are invited.
		{name: "teacher, unpublished", path: "/api/v1/courses/" + unpublishedCourse + "/enrollments", body: url.Values{"enrollment[user_id]": {userN(6)}, "enrollment[type]": {"TeacherEnrollment"}}, wantStatus: 200, wantState: "invited", wantType: "TeacherEnrollment"},
		{name: "designer, unpublished", path: "/api/v1/courses/" + unpublishedCourse + "/enrollments", body: url.Values{"enrollment[user_id]": {userN(7)}, "enrollment[type]": {"DesignerEnrollment"}}, wantStatus: 200, wantState: "invited", wantType: "DesignerEnrollment"},
		// providers.md §1.7: a registered user's observer enrollment starts active.
		{name: "observer", body: url.Values{"enrollment[user_id]": {userN(8)}, "enrollment[type]": {"ObserverEnrollment"}, "enrollment[associated_user_id]": {userN(1)}}, wantStatus: 200, wantState: "active", wantType: "ObserverEnrollment"},
		// providers.md §1.7: role_id resolves to its base type.
		{name: "role_id", body: url.Values{"enrollment[user_id]": {userN(9)}, "enrollment[role_id]": {"5"}}, wantStatus: 200, wantType: "TaEnrollment", wantState: "invited"},
		// providers.md §1.2, §1.7: SIS user ids in enrollment[user_id].
		{name: "sis user id", body: url.Values{"enrollment[user_id]": {"sis_user_id:U0000011"}}, wantStatus: 200, wantUser: userN(10), wantState: "invited"},
		// seed 004: the section URL.
		{name: "section url", path: "/api/v1/sections/" + secondSection + "/enrollments", body: url.Values{"enrollment[user_id]": {userN(12)}}, wantStatus: 200, wantState: "invited"},
		// providers.md §1.7: validation errors are 400 {"message":…}.
		{name: "no parameters", body: url.Values{"other": {"x"}}, wantStatus: 400, wantBody: `{"message":"No parameters given"}`},
		{name: "no user", body: url.Values{"enrollment[type]": {"StudentEnrollment"}}, wantStatus: 400, wantBody: `{"message":"Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment"}`},
		{name: "invalid type", body: url.Values{"enrollment[user_id]": {userN(13)}, "enrollment[type]": {"WizardEnrollment"}}, wantStatus: 400, wantBody: `{"message":"Invalid type"}`},
		{name: "invalid role", body: url.Values{"enrollment[user_id]": {userN(13)}, "enrollment[role_id]": {"99"}}, wantStatus: 400, wantBody: `{"message":"Invalid role"}`},
		{name: "type and role differ", body: url.Values{"enrollment[user_id]": {userN(13)}, "enrollment[type]": {"StudentEnrollment"}, "enrollment[role_id]": {"4"}}, wantStatus: 400, wantBody: `{"message":"The specified type must match the base type for the role"}`},
		{name: "concluded course", path: "/api/v1/courses/" + concludedCourse + "/enrollments", body: url.Values{"enrollment[user_id]": {userN(13)}}, wantStatus: 400, wantBody: `{"message":"Can't add an enrollment to a concluded course."}`},
		// The controller joins type and user errors in that order; the
		// concluded course is checked later, on its own.
		{name: "errors joined", path: "/api/v1/courses/" + concludedCourse + "/enrollments", body: url.Values{"enrollment[type]": {"WizardEnrollment"}}, wantStatus: 400, wantBody: `{"message":"Invalid type, Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment"}`},
		// A role decides the type; a bad role id is "Invalid role" even
		// with a bad type beside it.
		{name: "role beats type", body: url.Values{"enrollment[user_id]": {userN(13)}, "enrollment[type]": {"WizardEnrollment"}, "enrollment[role_id]": {"3"}}, wantStatus: 400, wantBody: `{"message":"The specified type must match the base type for the role"}`},
		// The user is looked up (404) before the concluded course is refused.
		{name: "unknown user in concluded course", path: "/api/v1/courses/" + concludedCourse + "/enrollments", body: url.Values{"enrollment[user_id]": {"77"}}, wantStatus: 404},
		// providers.md §1.7: a user that cannot be found is a 404.
		{name: "unknown user", body: url.Values{"enrollment[user_id]": {"77"}}, wantStatus: 404, wantBody: `{"errors":[{"message":"The specified resource does not exist."}]}`},
		{name: "section of another course", body: url.Values{"enrollment[user_id]": {userN(14)}, "enrollment[course_section_id]": {otherSection}}, wantStatus: 404},
		{name: "unknown course", path: "/api/v1/courses/5/enrollments", body: url.Values{"enrollment[user_id]": {userN(14)}}, wantStatus: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/api/v1/courses/" + publishedCourse + "/enrollments"
			}
			r := send(t, "POST", base+path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantBody != "" {
				sameJSON(t, r.body, tc.wantBody)
			}
			if r.status != 200 {
				return
			}
			var e wireEnrollment
			r.json(t, &e)
			if tc.wantState != "" && e.EnrollmentState != tc.wantState {
				t.Errorf("state %q, want %q", e.EnrollmentState, tc.wantState)
			}
			if tc.wantType != "" && e.Type != tc.wantType {
				t.Errorf("type %q, want %q", e.Type, tc.wantType)
			}
			if tc.wantUser != "" && strconv.FormatInt(e.UserID, 10) != tc.wantUser {
				t.Errorf("user %d, want %s", e.UserID, tc.wantUser)
			}
			if e.User != nil {
				t.Error("create answers without the user summary")
			}
			// The new row is on the vendor routes at once.
			if got := show(t, base, e.ID); got.EnrollmentState != e.EnrollmentState {
				t.Errorf("show says %q", got.EnrollmentState)
			}
		})
	}
}

func TestDuplicatePostRevives(t *testing.T) {
	_, base := fresh(t, Config{})
	user := userN(20)
	asUser := "?as_user_id=" + user
	first := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {user}})
	steps := []struct {
		name      string
		method    string
		path      string
		body      url.Values
		wantState string
		sameID    bool
	}{
		// providers.md §1.7: a duplicate POST returns the existing row, 200.
		{"duplicate post", "POST", "/api/v1/courses/" + publishedCourse + "/enrollments", url.Values{"enrollment[user_id]": {user}}, "invited", true},
		// providers.md §1.8: task=delete soft-deletes.
		{"delete", "DELETE", fmt.Sprintf("/api/v1/courses/%s/enrollments/%d?task=delete", publishedCourse, first.ID), nil, "deleted", true},
		// providers.md §1.7: a deleted enrollment is revived with its id.
		{"post revives deleted", "POST", "/api/v1/courses/" + publishedCourse + "/enrollments", url.Values{"enrollment[user_id]": {user}}, "invited", true},
		// providers.md §1.7: a state that differs from the request is reset.
		{"post with another state", "POST", "/api/v1/courses/" + publishedCourse + "/enrollments", url.Values{"enrollment[user_id]": {user}, "enrollment[enrollment_state]": {"active"}}, "active", true},
		// providers.md §1.7: an active enrollment is not downgraded.
		{"invited does not downgrade active", "POST", "/api/v1/courses/" + publishedCourse + "/enrollments", url.Values{"enrollment[user_id]": {user}, "enrollment[enrollment_state]": {"invited"}}, "active", true},
		{"conclude", "DELETE", fmt.Sprintf("/api/v1/courses/%s/enrollments/%d%s", publishedCourse, first.ID, asUser), nil, "completed", true},
		// providers.md §1.7: a completed one is reset to the requested state.
		{"post revives completed", "POST", "/api/v1/courses/" + publishedCourse + "/enrollments", url.Values{"enrollment[user_id]": {user}}, "invited", true},
		// providers.md §1.7: another type is another enrollment.
		{"another type", "POST", "/api/v1/courses/" + publishedCourse + "/enrollments", url.Values{"enrollment[user_id]": {user}, "enrollment[type]": {"TaEnrollment"}}, "invited", false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := send(t, st.method, base+st.path, st.body)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var e wireEnrollment
			r.json(t, &e)
			if (e.ID == first.ID) != st.sameID || e.EnrollmentState != st.wantState {
				t.Fatalf("id %d (first %d) state %q, want same=%v state %q", e.ID, first.ID, e.EnrollmentState, st.sameID, st.wantState)
			}
		})
	}
}

func TestDeleteTasks(t *testing.T) {
	cases := []struct {
		task string
		want string
	}{
		// providers.md §1.8: the task map.
		{"", "completed"},
		{"conclude", "completed"},
		{"delete", "deleted"},
		{"inactivate", "inactive"},
		{"deactivate", "inactive"},
		// UNCERTAIN (enrollments.go): an unknown task concludes.
		{"vanish", "completed"},
	}
	_, base := fresh(t, Config{})
	for i, tc := range cases {
		t.Run("task="+tc.task, func(t *testing.T) {
			e := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {userN(30 + i)}})
			r := send(t, "DELETE", fmt.Sprintf("%s/api/v1/courses/%s/enrollments/%d?task=%s", base, publishedCourse, e.ID, tc.task), nil)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var got wireEnrollment
			r.json(t, &got)
			if got.EnrollmentState != tc.want || show(t, base, e.ID).EnrollmentState != tc.want {
				t.Fatalf("state %q, want %q", got.EnrollmentState, tc.want)
			}
		})
	}

	t.Run("form body task", func(t *testing.T) {
		// seed 004: the example sends task as a form field.
		e := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {userN(40)}})
		r := send(t, "DELETE", fmt.Sprintf("%s/api/v1/courses/%s/enrollments/%d", base, publishedCourse, e.ID), url.Values{"task": {"delete"}})
		if r.status != 200 || show(t, base, e.ID).EnrollmentState != "deleted" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	t.Run("second delete is 404", func(t *testing.T) {
		// providers.md §1.8; course.rb: Course#enrollments excludes deleted
		// rows, so destroy cannot find one.
		e := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {userN(41)}})
		u := fmt.Sprintf("%s/api/v1/courses/%s/enrollments/%d?task=delete", base, publishedCourse, e.ID)
		send(t, "DELETE", u, nil)
		if r := send(t, "DELETE", u, nil); r.status != 404 {
			t.Fatalf("status %d, want 404", r.status)
		}
		// providers.md §1.3: show looks in all_enrollments and finds it.
		if got := show(t, base, e.ID); got.EnrollmentState != "deleted" {
			t.Fatalf("show: %q", got.EnrollmentState)
		}
	})

	t.Run("enrollment of another course", func(t *testing.T) {
		e := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {userN(42)}})
		if r := send(t, "DELETE", fmt.Sprintf("%s/api/v1/courses/10002/enrollments/%d", base, e.ID), nil); r.status != 404 {
			t.Fatalf("status %d", r.status)
		}
	})
}

func TestAcceptRejectGuards(t *testing.T) {
	unauthorized := `{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}`
	success := `{"success":true}`
	type setup struct {
		state        string // requested at create
		selfEnrolled bool
		then         string // a DELETE task, "reject", or "force-reject" (in the store) applied after create
		endSoon      bool   // end_at one hour after now, then the clock passes it
	}
	cases := []struct {
		name      string
		action    string // accept or reject
		setup     setup
		as        string // "owner", "admin", "other"
		status    int
		body      string
		wantState string
	}{
		// providers.md §1.9 accept, step 1: only the enrollment's user.
		{"accept as admin", "accept", setup{}, "admin", 401, unauthorized, "invited"},
		{"accept as another user", "accept", setup{}, "other", 401, unauthorized, "invited"},
		// Step 1 comes before step 2: even an active one is refused.
		{"accept active as admin", "accept", setup{state: "active"}, "admin", 401, unauthorized, "active"},
		// Step 2: already active is success.
		{"accept active", "accept", setup{state: "active"}, "owner", 200, success, "active"},
		// Step 3: inactive.
		{"accept inactive", "accept", setup{state: "inactive"}, "owner", 400, `{"error":"membership not activated"}`, "inactive"},
		// Step 3 before step 5.
		{"accept inactive self-enrolled", "accept", setup{state: "inactive", selfEnrolled: true}, "owner", 400, `{"error":"membership not activated"}`, "inactive"},
		// Step 4: a rejected invitation can be accepted.
		{"accept rejected", "accept", setup{then: "reject"}, "owner", 200, success, "active"},
		// Step 4 saves the reset before step 5 refuses.
		{"accept rejected self-enrolled", "accept", setup{selfEnrolled: true, then: "force-reject"}, "owner", 400, `{"error":"self enroll"}`, "invited"},
		// Step 5: self-enrolled.
		{"accept self-enrolled", "accept", setup{selfEnrolled: true}, "owner", 400, `{"error":"self enroll"}`, "invited"},
		// Step 5 before step 6.
		{"accept self-enrolled completed", "accept", setup{selfEnrolled: true, then: "conclude"}, "owner", 400, `{"error":"self enroll"}`, "completed"},
		// Step 6: no current invitation (concluded, or soft-concluded by date §1.10).
		{"accept completed", "accept", setup{then: "conclude"}, "owner", 400, `{"error":"no current invitation"}`, "completed"},
		{"accept after end date", "accept", setup{endSoon: true}, "owner", 400, `{"error":"no current invitation"}`, "invited"},
		// Step 7.
		{"accept invited", "accept", setup{}, "owner", 200, success, "active"},

		// providers.md §1.9 reject, step 1.
		{"reject as admin", "reject", setup{}, "admin", 401, unauthorized, "invited"},
		// Step 2: already rejected is success.
		{"reject rejected", "reject", setup{then: "reject"}, "owner", 200, success, "rejected"},
		// Step 3.
		{"reject inactive", "reject", setup{state: "inactive"}, "owner", 400, `{"error":"membership not activated"}`, "inactive"},
		// Step 3 before step 4.
		{"reject inactive self-enrolled", "reject", setup{state: "inactive", selfEnrolled: true}, "owner", 400, `{"error":"membership not activated"}`, "inactive"},
		// Step 4.
		{"reject self-enrolled", "reject", setup{selfEnrolled: true}, "owner", 400, `{"error":"self enroll"}`, "invited"},
		// Step 5.
		{"reject active", "reject", setup{state: "active"}, "owner", 400, `{"error":"no current invitation"}`, "active"},
		// Step 6.
		{"reject invited", "reject", setup{}, "owner", 200, success, "rejected"},
	}
	s, base := fresh(t, Config{})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			owner := userN(100 + i)
			form := url.Values{"enrollment[user_id]": {owner}}
			if tc.setup.state != "" {
				form.Set("enrollment[enrollment_state]", tc.setup.state)
			}
			if tc.setup.selfEnrolled {
				form.Set("enrollment[self_enrolled]", "true")
			}
			if tc.setup.endSoon {
				form.Set("enrollment[end_at]", s.Kit().Clock.Now().Add(time.Hour).Format(time.RFC3339))
			}
			e := enroll(t, base, publishedCourse, form)
			enrollmentURL := fmt.Sprintf("%s/api/v1/courses/%s/enrollments/%d", base, publishedCourse, e.ID)
			switch tc.setup.then {
			case "reject":
				if r := send(t, "POST", enrollmentURL+"/reject?as_user_id="+owner, nil); r.status != 200 {
					t.Fatalf("setup reject: %d %s", r.status, r.body)
				}
			case "conclude":
				send(t, "DELETE", enrollmentURL+"?task=conclude", nil)
			case "force-reject":
				// A self-enrolled invitation cannot be rejected through
				// the API (guard 4), so the fixture is set in the store.
				s.mu.Lock()
				_, stored := s.st.enrollmentByID(e.ID)
				stored.state = stateRejected
				s.mu.Unlock()
			}
			if tc.setup.endSoon {
				s.Kit().Clock.Advance(2 * time.Hour)
			}
			u := enrollmentURL + "/" + tc.action
			switch tc.as {
			case "owner":
				u += "?as_user_id=" + owner
			case "other":
				u += "?as_user_id=" + userN(399)
			}
			r := send(t, "POST", u, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			sameJSON(t, r.body, tc.body)
			if got := show(t, base, e.ID).EnrollmentState; got != tc.wantState {
				t.Fatalf("state after %s: %q, want %q", tc.action, got, tc.wantState)
			}
		})
	}

	t.Run("403 when configured", func(t *testing.T) {
		// providers.md §1.13: api_auth_error_updates turns 401 into 403.
		_, base := fresh(t, Config{UnauthorizedStatus: 403})
		e := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {userN(1)}})
		r := send(t, "POST", fmt.Sprintf("%s/api/v1/courses/%s/enrollments/%d/accept", base, publishedCourse, e.ID), nil)
		if r.status != 403 {
			t.Fatalf("status %d", r.status)
		}
		sameJSON(t, r.body, unauthorized)
	})
}

func TestReactivate(t *testing.T) {
	_, base := fresh(t, Config{})
	cases := []struct {
		name      string
		state     string
		status    int
		wantState string
	}{
		// providers.md §1.9: only from the stored inactive state.
		{"inactive", "inactive", 200, "active"},
		{"active", "active", 400, "active"},
		{"invited", "", 400, "invited"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"enrollment[user_id]": {userN(200 + i)}}
			if tc.state != "" {
				form.Set("enrollment[enrollment_state]", tc.state)
			}
			e := enroll(t, base, publishedCourse, form)
			r := send(t, "PUT", fmt.Sprintf("%s/api/v1/courses/%s/enrollments/%d/reactivate", base, publishedCourse, e.ID), nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 400 {
				sameJSON(t, r.body, `{"error":"enrollment not inactive"}`)
			}
			if got := show(t, base, e.ID).EnrollmentState; got != tc.wantState {
				t.Fatalf("state %q", got)
			}
		})
	}
}

func TestLastAttended(t *testing.T) {
	_, base := fresh(t, Config{})
	user := userN(300)
	e := enroll(t, base, publishedCourse, url.Values{"enrollment[user_id]": {user}})
	cases := []struct {
		name   string
		user   string
		date   string
		status int
		body   string
	}{
		// providers.md §1.3: answers {"date":…}.
		{"iso date", user, "2026-03-01T09:30:00Z", 200, `{"date":"2026-03-01T09:30:00Z"}`},
		// seed 004: the example's JavaScript date string.
		{"javascript date", user, "Thu Dec 21 2017 00:00:00 GMT-0700 (MST)", 200, `{"date":"2017-12-21T07:00:00Z"}`},
		// providers.md §1.3: an unparseable date is 400.
		{"bad date", user, "yesterday-ish", 400, `{"message":"Invalid date time input"}`},
		// enrollments_api_controller#last_attended: update_all on the raw
		// ids, so a user with no enrollment there still gets 200.
		{"not enrolled", userN(301), "2026-03-01", 200, `{"date":"2026-03-01T00:00:00Z"}`},
		{"unknown course", user, "2026-03-01", 404, `{"errors":[{"message":"The specified resource does not exist."}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			course := publishedCourse
			if tc.name == "unknown course" {
				course = "5"
			}
			r := send(t, "PUT", base+"/api/v1/courses/"+course+"/users/"+tc.user+"/last_attended", url.Values{"date": {tc.date}})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			sameJSON(t, r.body, tc.body)
		})
	}
	got := show(t, base, e.ID)
	if got.LastAttendedAt == nil || *got.LastAttendedAt != "2017-12-21T07:00:00Z" {
		t.Fatalf("last_attended_at %v", got.LastAttendedAt)
	}
	// update_all leaves updated_at alone.
	if got.UpdatedAt != e.UpdatedAt {
		t.Fatalf("updated_at moved from %s to %s", e.UpdatedAt, got.UpdatedAt)
	}
}

func TestAdminChangesShowOnVendorRoutes(t *testing.T) {
	s, base := startSim(t, Config{Seed: 8, Users: 100, Courses: 3, Enrollments: 500})
	courseAll := base + "/api/v1/courses/10001/enrollments?per_page=100" + allStates

	t.Run("mutate", func(t *testing.T) {
		send(t, "POST", base+"/_sim/clock", map[string]string{"advance": "1h"})
		r := send(t, "POST", base+"/_sim/mutate", map[string]any{"count": 30, "seed": 3})
		var changes []Change
		r.json(t, &changes)
		if r.status != 200 || len(changes) != 30 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		want := s.Kit().Clock.Now().Format(timeLayout)
		kinds := map[string]bool{}
		for _, ch := range changes {
			kinds[ch.Change] = true
			id, _ := strconv.ParseInt(ch.ID, 10, 64)
			got := show(t, base, id)
			if got.UpdatedAt != want {
				t.Errorf("%s %s: updated_at %s, want %s", ch.Change, ch.ID, got.UpdatedAt, want)
			}
			if ch.To != "" && ch.Change != "grade" && got.EnrollmentState != ch.To {
				t.Errorf("%+v: state %s", ch, got.EnrollmentState)
			}
		}
		if len(kinds) < 3 {
			t.Errorf("30 changes of only %v", kinds)
		}
		// Same seed on the same data → same changes: mutate is reproducible.
		again, _ := New(Config{Seed: 8, Users: 100, Courses: 3, Enrollments: 500, Clock: s.Kit().Clock})
		out, _ := again.Mutate(30, 3)
		if fmt.Sprint(out) != fmt.Sprint(changes) {
			t.Error("mutate is not reproducible from its seed")
		}
	})

	t.Run("hard delete", func(t *testing.T) {
		before, _ := walk(t, courseAll)
		victim := before[len(before)/2].ID
		if r := send(t, "DELETE", fmt.Sprintf("%s/_sim/enrollments/%d", base, victim), nil); r.status != 204 {
			t.Fatalf("admin delete: %d", r.status)
		}
		after, _ := walk(t, courseAll)
		if len(after) != len(before)-1 {
			t.Fatalf("%d rows after, %d before", len(after), len(before))
		}
		for _, e := range after {
			if e.ID == victim {
				t.Fatal("hard-deleted row still listed")
			}
		}
		if r := send(t, "GET", fmt.Sprintf("%s/api/v1/accounts/1/enrollments/%d", base, victim), nil); r.status != 404 {
			t.Fatalf("show after hard delete: %d", r.status)
		}
		for _, id := range s.EnrollmentIDs() {
			if id == strconv.FormatInt(victim, 10) {
				t.Fatal("EnrollmentIDs keeps a hard-deleted row")
			}
		}
		if r := send(t, "DELETE", fmt.Sprintf("%s/_sim/enrollments/%d", base, victim), nil); r.status != 404 {
			t.Fatalf("second admin delete: %d", r.status)
		}
	})

	t.Run("complete listing matches EnrollmentIDs", func(t *testing.T) {
		var ids []string
		for c := 10001; c <= 10003; c++ {
			rows, _ := walk(t, fmt.Sprintf("%s/api/v1/courses/%d/enrollments?per_page=100%s", base, c, allStates))
			for _, r := range rows {
				ids = append(ids, strconv.FormatInt(r.ID, 10))
			}
		}
		want := s.EnrollmentIDs()
		if len(ids) != len(want) || s.Counts()["enrollments"] != len(want) {
			t.Fatalf("listing %d, EnrollmentIDs %d, counts %v", len(ids), len(want), s.Counts())
		}
	})

	t.Run("clock soft-concludes", func(t *testing.T) {
		// providers.md §1.10: past its end date an active enrollment is
		// completed by date, while enrollment_state stays active; the
		// owner's default list hides it.
		u := userN(99)
		e := enroll(t, base, "10001", url.Values{"enrollment[user_id]": {u}, "enrollment[enrollment_state]": {"active"},
			"enrollment[end_at]": {s.Kit().Clock.Now().Add(24 * time.Hour).Format(time.RFC3339)}})
		own := base + "/api/v1/users/self/enrollments?per_page=100&as_user_id=" + u
		has := func() bool {
			rows, _ := walk(t, own)
			for _, r := range rows {
				if r.ID == e.ID {
					return true
				}
			}
			return false
		}
		if !has() {
			t.Fatal("active enrollment missing from the owner's list")
		}
		send(t, "POST", base+"/_sim/clock", map[string]string{"advance": "48h"})
		if has() {
			t.Fatal("soft-concluded enrollment still on the owner's default list")
		}
		if got := show(t, base, e.ID).EnrollmentState; got != "active" {
			t.Fatalf("stored state %q", got)
		}
	})
}

var allStates = "&" + strings.Join([]string{"state[]=active", "state[]=invited", "state[]=creation_pending",
	"state[]=deleted", "state[]=rejected", "state[]=completed", "state[]=inactive"}, "&")

func TestDiscoveryRoutes(t *testing.T) {
	_, base := startSim(t, Config{Seed: 11, Users: 25, Courses: 12, Enrollments: 50})
	cases := []struct {
		name     string
		path     string
		wantRows int
		wantLast bool
	}{
		{"account courses", "/api/v1/accounts/1/courses?per_page=5", 5, true},
		{"account courses by self", "/api/v1/accounts/self/courses?per_page=100", 12, true},
		{"account courses past the end", "/api/v1/accounts/1/courses?per_page=5&page=9", 0, true},
		{"account users", "/api/v1/accounts/1/users?per_page=10", 10, true},
		{"course sections", "/api/v1/courses/10001/sections", -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "GET", base+tc.path, nil)
			var rows []map[string]any
			r.json(t, &rows)
			if r.status != 200 || (tc.wantRows >= 0 && len(rows) != tc.wantRows) || (tc.wantRows < 0 && len(rows) == 0) {
				t.Fatalf("%d, %d rows", r.status, len(rows))
			}
			if _, ok := r.links()["last"]; ok != tc.wantLast {
				t.Fatalf("links %q", r.header.Get("Link"))
			}
		})
	}
	t.Run("course", func(t *testing.T) {
		var c struct {
			ID            int64  `json:"id"`
			WorkflowState string `json:"workflow_state"`
			SISCourseID   string `json:"sis_course_id"`
		}
		send(t, "GET", base+"/api/v1/courses/"+unpublishedCourse, nil).json(t, &c)
		if c.ID != 10008 || c.WorkflowState != "unpublished" || c.SISCourseID != "SIS-C0008" {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("wrong account", func(t *testing.T) {
		if r := send(t, "GET", base+"/api/v1/accounts/2/courses", nil); r.status != 404 {
			t.Fatalf("status %d", r.status)
		}
	})
}
