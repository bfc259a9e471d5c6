package absorbsim

import (
	"strings"
	"testing"
	"time"
)

func (h *harness) enrollment(id string) courseEnrollmentJSON {
	h.t.Helper()
	var e courseEnrollmentJSON
	h.must(200, "GET", "/enrollments/"+id, nil).decode(h.t, &e)
	return e
}

func TestCreateAndReEnroll(t *testing.T) {
	t.Parallel()
	clock := clockAt(testNow)
	h := setup(t, Config{Clock: clock})
	c := h.courseOfType(courseTypeOnline)
	u := h.unenrolledUser(c.ID)
	path := "/users/" + u.ID + "/enrollments/" + c.ID

	// seed 003 "Create enrollment for user and course" → 201 {enrollmentId, courseId, userId}.
	var first createdJSON
	h.must(201, "POST", path, nil).decode(t, &first)
	if first.UserID != u.ID || first.CourseID != c.ID || first.EnrollmentID == "" {
		t.Fatalf("created %+v", first)
	}
	e := h.enrollment(first.EnrollmentID)
	if !e.IsActive || e.Status != 0 || *e.DateAdded != testNow.Format("2006-01-02T15:04:05Z") {
		t.Fatalf("new row %+v", e)
	}
	// Already enrolled, no reEnroll: the existing id again (UNCERTAIN, providers.md §5 q6).
	var again createdJSON
	h.must(201, "POST", path, nil).decode(t, &again)
	if again.EnrollmentID != first.EnrollmentID {
		t.Fatalf("second create made %s, want the existing %s", again.EnrollmentID, first.EnrollmentID)
	}
	// providers.md §2.6: reEnroll=true keeps the old row as history (isActive=false).
	clock.Advance(time.Minute)
	var second createdJSON
	h.must(201, "POST", path+"?reEnroll=true", nil).decode(t, &second)
	if second.EnrollmentID == first.EnrollmentID {
		t.Fatal("reEnroll returned the old enrollment")
	}
	old := h.enrollment(first.EnrollmentID)
	if old.IsActive || *old.DateEdited != testNow.Add(time.Minute).Format("2006-01-02T15:04:05Z") {
		t.Fatalf("old row after reEnroll: isActive=%v dateEdited=%v", old.IsActive, *old.DateEdited)
	}
	var current courseEnrollmentJSON
	h.must(200, "GET", path, nil).decode(t, &current)
	if current.ID != second.EnrollmentID || !current.IsActive {
		t.Fatalf("current row %s, want %s", current.ID, second.EnrollmentID)
	}
	rows := h.page("/users/" + u.ID + "/enrollments?_filter=" + q("courseId eq guid'"+c.ID+"'"))
	if rows.TotalItems != 2 {
		t.Fatalf("user has %d rows in the course, want history + current", rows.TotalItems)
	}
	// The new row is last in the course's default order (paging stays stable).
	all := h.allOfCourse(c.ID, "")
	if all[len(all)-1].ID != second.EnrollmentID {
		t.Fatal("a new row is not on the last page")
	}
	h.must(400, "POST", path+"?reEnroll=maybe", nil).errorBody(t)
}

func TestCreateOrUpdate(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courseOfType(courseTypeOnline)
	var full courseJSON
	h.must(200, "GET", "/courses/"+c.ID, nil).decode(t, &full)
	u := h.unenrolledUser(c.ID)
	path := "/users/" + u.ID + "/enrollments"
	tests := []struct {
		name  string
		body  any
		want  int
		check func(t *testing.T, e courseEnrollmentJSON)
	}{
		// seed 003 "Create or update course enrollment": creates when there is no row.
		{"create with score", map[string]any{"courseId": c.ID, "score": 55.5}, 201, func(t *testing.T, e courseEnrollmentJSON) {
			if e.Score != 55.5 || !e.IsActive {
				t.Fatalf("score %v", e.Score)
			}
		}},
		// Settable: Status, DateCompleted, DateExpires, CourseVersionId, AcceptedTermsAndConditions, EnrollmentKeyId, Credits, Score.
		{"complete with a date", map[string]any{"courseId": c.ID, "Status": 3, "DateCompleted": "2026-03-01T09:30:00"}, 201, func(t *testing.T, e courseEnrollmentJSON) {
			if e.Status != 3 || e.DateCompleted == nil || *e.DateCompleted != "2026-03-01T09:30:00Z" || e.Progress != 100 {
				t.Fatalf("status %d completed %v progress %v", e.Status, e.DateCompleted, e.Progress)
			}
		}},
		{"other settable fields", map[string]any{"courseId": c.ID, "credits": 2.5, "acceptedTermsAndConditions": true,
			"dateExpires": "2027-01-01", "enrollmentKeyId": "11111111-2222-4333-8444-555555555555", "courseVersionId": full.CourseVersion}, 201,
			func(t *testing.T, e courseEnrollmentJSON) {
				if e.Credits == nil || *e.Credits != 2.5 || !e.AcceptedTermsAndConditions || *e.DateExpires != "2027-01-01T00:00:00Z" ||
					*e.EnrollmentKeyID != "11111111-2222-4333-8444-555555555555" || *e.CourseVersionID != full.CourseVersion {
					t.Fatalf("row %+v", e)
				}
			}},
		{"back to in progress clears the completion", map[string]any{"courseId": c.ID, "status": 1, "userId": u.ID}, 201, func(t *testing.T, e courseEnrollmentJSON) {
			if e.Status != 1 || e.DateCompleted != nil {
				t.Fatalf("status %d completed %v", e.Status, e.DateCompleted)
			}
		}},
		// Anything not settable is a 400 naming it.
		{"progress is not settable", map[string]any{"courseId": c.ID, "progress": 50}, 400, nil},
		{"dateDue is not settable", map[string]any{"courseId": c.ID, "dateDue": "2026-05-01"}, 400, nil},
		{"courseId is required", map[string]any{"score": 1}, 400, nil},
		{"courseId must be a GUID", map[string]any{"courseId": "abc"}, 400, nil},
		{"userId must match the path", map[string]any{"courseId": c.ID, "userId": "11111111-2222-4333-8444-555555555555"}, 400, nil},
		{"score of the wrong type", map[string]any{"courseId": c.ID, "score": "high"}, 400, nil},
		{"not an object", []int{1}, 400, nil},
		// Out-of-range values are 422s (seed 003 lists 422).
		{"status out of the enum", map[string]any{"courseId": c.ID, "status": 13}, 422, nil},
		{"score over 100", map[string]any{"courseId": c.ID, "score": 101}, 422, nil},
		{"unknown course version", map[string]any{"courseId": c.ID, "courseVersionId": "11111111-2222-4333-8444-555555555555"}, 422, nil},
		{"id of another row", map[string]any{"courseId": c.ID, "id": "11111111-2222-4333-8444-555555555555"}, 422, nil},
		{"unknown course", map[string]any{"courseId": "11111111-2222-4333-8444-555555555555"}, 404, nil},
	}
	var id string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", path, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want != 201 {
				e := r.errorBody(t)
				if tc.want == 400 && strings.Contains(tc.name, "not settable") && !strings.Contains(strings.Join(e.Validations, " "), "Settable properties") {
					t.Fatalf("400 does not explain: %s", r.body)
				}
				return
			}
			var made createdJSON
			r.decode(t, &made)
			if id == "" {
				id = made.EnrollmentID
			} else if made.EnrollmentID != id {
				t.Fatalf("update made a new row %s, want %s", made.EnrollmentID, id)
			}
			tc.check(t, h.enrollment(made.EnrollmentID))
		})
	}
	// A rejected body changes nothing.
	before := h.enrollment(id)
	h.must(422, "POST", path, map[string]any{"courseId": c.ID, "score": 10, "status": 99})
	if after := h.enrollment(id); after.Score != before.Score {
		t.Fatal("a rejected update changed the row")
	}
	// reEnroll=true on create-or-update: history + a new row carrying the values.
	var re createdJSON
	h.must(201, "POST", path+"?reEnroll=true", map[string]any{"courseId": c.ID, "score": 90}).decode(t, &re)
	if re.EnrollmentID == id || h.enrollment(id).IsActive || h.enrollment(re.EnrollmentID).Score != 90 {
		t.Fatal("reEnroll via create-or-update did not keep history")
	}
}

func TestUnenroll(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courses()[0]
	rows := h.allOfCourse(c.ID, "")
	victim, bystander := rows[3], rows[4]
	unknown := "11111111-2222-4333-8444-555555555555"
	tests := []struct {
		name string
		body any
		want int
	}{
		// providers.md §2.7: un-enroll answers 400/422.
		{"not an array", map[string]string{"id": victim.ID}, 400},
		{"empty array", []string{}, 400},
		{"unknown id", []string{unknown}, 422},
		{"one unknown id among good ones changes nothing", []string{bystander.ID, unknown, "not-a-guid"}, 422},
		// Success is 204 (UNCERTAIN: 200 or 204).
		{"known id", []string{victim.ID}, 204},
		{"already un-enrolled", []string{victim.ID}, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", "/enrollments/unenroll", tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want == 422 {
				e := r.errorBody(t)
				if !strings.Contains(strings.Join(e.Validations, " "), unknown) && !strings.Contains(strings.Join(e.Validations, " "), victim.ID) {
					t.Fatalf("422 does not name the ids: %s", r.body)
				}
			}
		})
	}
	// Un-enrolled rows vanish from every route (UNCERTAIN, providers.md §5 q3).
	h.must(404, "GET", "/enrollments/"+victim.ID, nil)
	h.must(200, "GET", "/enrollments/"+bystander.ID, nil)
	if after := h.allOfCourse(c.ID, ""); len(after) != len(rows)-1 {
		t.Fatalf("course has %d rows, want %d", len(after), len(rows)-1)
	}
	if p := h.page("/users/" + victim.UserID + "/enrollments?_limit=1000&_filter=" + q("id eq guid'"+victim.ID+"'")); p.TotalItems != 0 {
		t.Fatal("un-enrolled row still in the user's list")
	}
}

func TestILCSessionEnrollment(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courseOfType(courseTypeInstructor)
	online := h.courseOfType(courseTypeOnline)
	u := h.unenrolledUser(c.ID)
	sesA, sesB := c.Sessions[0].ID, c.Sessions[1].ID
	base := "/users/" + u.ID + "/enrollments/" + c.ID + "/sessions/"

	// seed 003 "Create ILC enrollment for user" → 201 with both ids.
	var made ilcCreatedJSON
	h.must(201, "POST", base+sesA, nil).decode(t, &made)
	if made.SessionID != sesA || made.EnrollmentID == "" || made.SessionEnrollmentID == "" || made.UserID != u.ID {
		t.Fatalf("created %+v", made)
	}
	var list []sessionEnrollmentJSON
	h.must(200, "GET", base[:len(base)-1], nil).decode(t, &list)
	if len(list) != 1 || list[0].ID != made.SessionEnrollmentID || list[0].CourseEnrollmentID != made.EnrollmentID {
		t.Fatalf("user's sessions %+v", list)
	}
	var one sessionEnrollmentJSON
	h.must(200, "GET", base+sesA, nil).decode(t, &one)
	if one.ID != made.SessionEnrollmentID {
		t.Fatalf("session enrollment %+v", one)
	}
	found := false
	for off := 0; ; off++ {
		var p struct {
			Enrollments []sessionEnrollmentJSON `json:"enrollments"`
		}
		h.must(200, "GET", "/instructor-led-courses/"+c.ID+"/sessions/"+sesA+"/enrollments?_limit=50&_offset="+itoa(off), nil).decode(t, &p)
		if len(p.Enrollments) == 0 {
			break
		}
		for _, e := range p.Enrollments {
			found = found || e.ID == made.SessionEnrollmentID
		}
	}
	if !found {
		t.Fatal("the session's enrollment list misses the new enrollment")
	}
	// Enrolling in the other session moves the session enrollment.
	var moved ilcCreatedJSON
	h.must(201, "POST", base+sesB, nil).decode(t, &moved)
	if moved.EnrollmentID != made.EnrollmentID || moved.SessionEnrollmentID == made.SessionEnrollmentID {
		t.Fatalf("move %+v", moved)
	}
	h.must(404, "GET", base+sesA, nil)
	// reEnroll=true: a new course enrollment, the old one history.
	var re ilcCreatedJSON
	h.must(201, "POST", base+sesB+"?reEnroll=true", nil).decode(t, &re)
	if re.EnrollmentID == made.EnrollmentID || h.enrollment(made.EnrollmentID).IsActive {
		t.Fatal("ILC reEnroll did not keep history")
	}
	// cancelSession=true cancels the session enrollment, keeping the course row.
	h.must(201, "POST", base+sesB+"?cancelSession=true", nil)
	h.must(404, "GET", base+sesB, nil)
	h.must(200, "GET", "/enrollments/"+re.EnrollmentID, nil)
	h.must(422, "POST", base+sesB+"?cancelSession=true", nil).errorBody(t)
	// Errors: a session of another course is a 404; an online course is a 422.
	h.must(404, "POST", base+"11111111-2222-4333-8444-555555555555", nil).errorBody(t)
	onlineUser := h.unenrolledUser(online.ID)
	h.must(404, "POST", "/users/"+onlineUser.ID+"/enrollments/"+online.ID+"/sessions/"+sesA, nil).errorBody(t)
}

func TestLessonAttempts(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	var c courseJSON
	h.must(200, "GET", "/courses/"+h.courseOfType(courseTypeOnline).ID, nil).decode(t, &c)
	u := h.unenrolledUser(c.ID)
	var made createdJSON
	h.must(201, "POST", "/users/"+u.ID+"/enrollments/"+c.ID, nil).decode(t, &made)
	base := "/users/" + u.ID + "/enrollments/" + c.ID
	var lessons []lessonEnrollmentJSON
	h.must(200, "GET", base+"/lessons", nil).decode(t, &lessons)
	if len(lessons) < 4 {
		t.Fatalf("%d lessons", len(lessons))
	}
	for _, l := range lessons {
		if l.Status != 0 || l.CourseEnrollmentID != made.EnrollmentID {
			t.Fatalf("fresh lesson %+v", l)
		}
	}
	start := func(lessonID string) string {
		var a struct {
			AttemptID string `json:"attemptId"`
			CourseID  string `json:"courseId"`
			UserID    string `json:"userId"`
		}
		// seed 003 "Start attempt for active lesson enrollment" → 200.
		h.must(200, "POST", base+"/lessons/"+lessonID+"/attempts", nil).decode(t, &a)
		if a.CourseID != c.ID || a.UserID != u.ID {
			t.Fatalf("attempt %+v", a)
		}
		return a.AttemptID
	}
	first := lessons[0].LessonID
	a1 := start(first)
	if e := h.enrollment(made.EnrollmentID); e.Status != 1 || e.DateStarted == nil {
		t.Fatalf("starting an attempt did not start the course: %+v", e)
	}
	tests := []struct {
		name string
		body any
		want int
	}{
		// seed 003 "Finish attempt": status is required and one of 1, 3, 5.
		{"status missing", map[string]any{"score": 80}, 422},
		{"status 2", map[string]any{"status": 2}, 422},
		{"status 4", map[string]any{"status": 4}, 422},
		{"score out of range", map[string]any{"status": 3, "score": 120}, 422},
		{"bad json", "{", 400},
		{"still in progress", map[string]any{"status": 1}, 200},
		{"failed", map[string]any{"status": 5, "score": 40}, 200},
		{"finished twice", map[string]any{"status": 3}, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("PUT", "/attempts/"+a1, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want != 200 {
				r.errorBody(t)
			}
		})
	}
	var l lessonEnrollmentJSON
	h.must(200, "GET", base+"/lessons/"+first, nil).decode(t, &l)
	if l.Status != 5 || l.Attempts != 1 || l.Failures != 1 || l.Score != 40 {
		t.Fatalf("lesson after a failed attempt %+v", l)
	}
	// A second attempt through the user-scoped finish path completes the lesson.
	a2 := start(first)
	h.must(404, "PUT", base+"/lessons/"+lessons[1].LessonID+"/attempts/"+a2, map[string]any{"status": 3}) // wrong lesson
	h.must(200, "PUT", base+"/lessons/"+first+"/attempts/"+a2, map[string]any{"status": 3, "score": 90,
		"startDate": "2026-03-15T11:00:00", "completionDate": "2026-03-15T11:30:00"})
	var attempts []attemptJSON
	h.must(200, "GET", base+"/lessons/"+first+"/attempts", nil).decode(t, &attempts)
	if len(attempts) != 2 || attempts[0].Status != 5 || attempts[1].Status != 3 || attempts[1].TimeSpentTicks != 1800*ticksPerSecond {
		t.Fatalf("attempts %+v", attempts)
	}
	// Finishing every lesson completes the course enrollment.
	for _, other := range lessons[1:] {
		h.must(200, "PUT", "/attempts/"+start(other.LessonID), map[string]any{"status": 3, "score": 100})
	}
	e := h.enrollment(made.EnrollmentID)
	if e.Status != 3 || e.Progress != 100 || e.DateCompleted == nil {
		t.Fatalf("course after all lessons: status %d progress %v", e.Status, e.Progress)
	}
	// Chapters roll their lessons up.
	var chapters []chapterEnrollmentJSON
	h.must(200, "GET", base+"/chapters", nil).decode(t, &chapters)
	if len(chapters) != len(c.Chapters) {
		t.Fatalf("%d chapter enrollments, want %d", len(chapters), len(c.Chapters))
	}
	for _, ch := range chapters {
		if ch.Status != 3 || len(ch.LessonEnrollmentIDs) == 0 {
			t.Fatalf("chapter %+v", ch)
		}
	}
	var inChapter []lessonEnrollmentJSON
	h.must(200, "GET", base+"/chapters/"+c.Chapters[0].ID+"/lessons", nil).decode(t, &inChapter)
	if len(inChapter) != len(c.Chapters[0].Lessons) || inChapter[0].ID != chapters[0].LessonEnrollmentIDs[0] {
		t.Fatalf("chapter lessons %+v", inChapter)
	}
	h.must(200, "GET", base+"/chapters/"+c.Chapters[0].ID+"/lessons/"+c.Chapters[0].Lessons[0].ID, nil)
	h.must(404, "GET", base+"/chapters/"+c.Chapters[0].ID+"/lessons/"+c.Chapters[1].Lessons[0].ID, nil)
	// The paged lesson list shows this learner's row.
	var p struct {
		TotalItems  int                    `json:"totalItems"`
		Enrollments []lessonEnrollmentJSON `json:"enrollments"`
	}
	h.must(200, "GET", "/courses/"+c.ID+"/lessons/"+first+"/enrollments?_filter="+q("userId eq guid'"+u.ID+"'"), nil).decode(t, &p)
	if p.TotalItems != 1 || p.Enrollments[0].Status != 3 {
		t.Fatalf("lesson list %+v", p)
	}
}

func TestStartAttemptNeedsAnActiveEnrollment(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courseOfType(courseTypeOnline)
	var full courseJSON
	h.must(200, "GET", "/courses/"+c.ID, nil).decode(t, &full)
	u := h.unenrolledUser(c.ID)
	lessonPath := "/users/" + u.ID + "/enrollments/" + c.ID + "/lessons/" + full.Chapters[0].Lessons[0].ID + "/attempts"
	// seed 003: 404 without an enrollment, 422 when it is not active.
	h.must(404, "POST", lessonPath, nil).errorBody(t)
	h.must(201, "POST", "/users/"+u.ID+"/enrollments", map[string]any{"courseId": c.ID, "status": 8})
	h.must(422, "POST", lessonPath, nil).errorBody(t)
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	c := h.courseOfType(courseTypeOnline)
	nobody := "11111111-2222-4333-8444-555555555555"
	var u userPage
	h.must(200, "GET", "/users?_limit=1", nil).decode(t, &u)
	// seed 003: every get lists 404; a path id that is not a GUID is a 404 too.
	for _, path := range []string{
		"/users/" + nobody,
		"/users/not-a-guid",
		"/courses/" + nobody,
		"/enrollments/" + nobody,
		"/users/" + nobody + "/enrollments",
		"/courses/" + nobody + "/enrollments",
		"/users/" + u.Users[0].ID + "/enrollments/" + nobody,
		"/users/" + u.Users[0].ID + "/enrollments/" + c.ID + "/lessons/" + nobody,
		"/instructor-led-courses/" + c.ID + "/sessions/" + nobody + "/enrollments",
		"/my-enrollments/" + nobody,
		"/no/such/route",
	} {
		t.Run(path, func(t *testing.T) {
			h.must(404, "GET", path, nil).errorBody(t)
		})
	}
	h.must(404, "PUT", "/attempts/"+nobody, map[string]any{"status": 3}).errorBody(t)
}

func TestBulkList(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	var users userPage
	h.must(200, "GET", "/users?_limit=2", nil).decode(t, &users)
	a, b := users.Users[0].ID, users.Users[1].ID
	want := h.page("/users/"+a+"/enrollments?_limit=1000").TotalItems + h.page("/users/"+b+"/enrollments?_limit=1000").TotalItems
	// seed 003 "List course enrollments for bulk user list": a bare array.
	var rows []courseEnrollmentJSON
	h.must(200, "GET", "/enrollments?userIds="+a+"&userIds[]="+b, nil).decode(t, &rows)
	if len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	c := rows[0].CourseID
	h.must(200, "GET", "/enrollments?userIds="+a+","+b+"&courseIds="+c, nil).decode(t, &rows)
	for _, e := range rows {
		if e.CourseID != c {
			t.Fatalf("row of course %s", e.CourseID)
		}
	}
	h.must(400, "GET", "/enrollments", nil).errorBody(t)
	h.must(400, "GET", "/enrollments?userIds=nope", nil).errorBody(t)
}
