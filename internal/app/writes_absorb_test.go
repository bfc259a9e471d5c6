package app_test

import (
	"testing"

	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// absorbTarget finds, through Absorb's own API, a user and an online course
// between which no enrollment exists.
func absorbTarget(t *testing.T, v *vendor) (userID, courseID string) {
	t.Helper()
	var users struct {
		Users []map[string]any `json:"users"`
	}
	var courses struct {
		Courses []map[string]any `json:"courses"`
	}
	v.mustGet("/users?_limit=100", &users)
	v.mustGet("/courses?_limit=100", &courses)
	for _, u := range users.Users {
		uid := u["id"].(string)
		var enrolled struct {
			Enrollments []map[string]any `json:"enrollments"`
		}
		v.mustGet("/users/"+uid+"/enrollments?_limit=100", &enrolled)
		taken := map[string]bool{}
		for _, e := range enrolled.Enrollments {
			taken[e["courseId"].(string)] = true
		}
		for _, c := range courses.Courses {
			if c["courseType"] == "OnlineCourse" && !taken[c["id"].(string)] {
				return uid, c["id"].(string)
			}
		}
	}
	t.Fatal("every user is enrolled in every online course")
	return "", ""
}

// TestWriteBackAbsorb walks one learner through Absorb: enroll, score,
// complete, re-enroll (the first attempt kept as history), un-enroll.
// Each step is confirmed through Absorb's own API and by its event.
func TestWriteBackAbsorb(t *testing.T) {
	sim, err := absorbsim.New(absorbsim.Config{Seed: 5, Enrollments: 40})
	if err != nil {
		t.Fatal(err)
	}
	base := startSim(t, sim.Handler())
	const password = "absorb-sim-password"
	v := &vendor{t: t, base: base, header: absorbHeader(t, base, absorbsim.DefaultAPIKey, "admin", password)}
	s := startWriteServer(t, nil)
	cid := s.connectSynced(t, map[string]any{"provider": "absorb", "name": "absorb",
		"settings":    map[string]string{"base_url": base},
		"credentials": map[string]string{"api_key": absorbsim.DefaultAPIKey, "username": "admin", "password": password}})
	uid, courseID := absorbTarget(t, v)
	path := "/v1/connections/" + cid + "/course-enrollments"
	var rec map[string]any

	first := want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": courseID}), 201)
	id := str(first, "id")
	if str(first, "status") != "enrolled" || first["is_current"] != true || str(first, "user", "id") != uid {
		t.Fatalf("enroll answered %v", first)
	}
	v.mustGet("/enrollments/"+id, &rec)
	if str(rec, "status") != "0" || rec["isActive"] != true || rec["userId"] != uid || rec["courseId"] != courseID {
		t.Fatalf("Absorb holds %v after the enroll", rec)
	}
	wantEvents(t, s, cid, id, "enrollment.created:enrolled")
	listed := want(t, s.do("GET", path+"?user_id="+uid, s.ReadKey, nil), 200)
	if data := listed["data"].([]any); len(data) != 1 || str(data[0].(map[string]any), "status") != "enrolled" {
		t.Fatalf("the list does not show the new enrollment as enrolled: %v", listed)
	}

	// A score, then completion: Absorb's create-or-update.
	scored := want(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"score": 85}), 200)
	if str(scored, "score") != "85" {
		t.Fatalf("score answered %v", scored)
	}
	v.mustGet("/enrollments/"+id, &rec)
	if str(rec, "score") != "85" {
		t.Fatalf("Absorb holds score %v, want 85", rec["score"])
	}
	done := want(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"status": "completed"}), 200)
	if str(done, "status") != "completed" || str(done, "score") != "85" {
		t.Fatalf("complete answered %v", done)
	}
	v.mustGet("/enrollments/"+id, &rec)
	if str(rec, "status") != "3" {
		t.Fatalf("Absorb holds status %v after complete, want 3", rec["status"])
	}
	wantEvents(t, s, cid, id, "enrollment.created:enrolled", "enrollment.updated:"+str(scored, "status"),
		"enrollment.status_changed:completed")

	// Re-enroll: a new current enrollment; the completed one is history.
	second := want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": courseID, "reenroll": true}), 201)
	id2 := str(second, "id")
	if id2 == id || second["is_current"] != true || str(second, "status") != "enrolled" {
		t.Fatalf("re-enroll answered %v", second)
	}
	old := want(t, s.do("GET", path+"/"+id, s.ReadKey, nil), 200)
	if old["is_current"] != false || str(old, "status") != "completed" {
		t.Fatalf("the first attempt reads %v %v, want completed history", old["status"], old["is_current"])
	}
	v.mustGet("/enrollments/"+id, &rec)
	if rec["isActive"] != false {
		t.Fatalf("Absorb still holds the first attempt as active: %v", rec)
	}
	v.mustGet("/enrollments/"+id2, &rec)
	if rec["isActive"] != true || str(rec, "status") != "0" {
		t.Fatalf("Absorb holds the new attempt as %v", rec)
	}
	wantEvents(t, s, cid, id2, "enrollment.created:enrolled")
	wantEvents(t, s, cid, id, "enrollment.created:enrolled", "enrollment.updated:"+str(scored, "status"),
		"enrollment.status_changed:completed", "enrollment.updated:completed")

	// Un-enroll: Absorb drops the record; Registrar keeps it as withdrawn.
	gone := want(t, s.do("DELETE", path+"/"+id2+"?mode=unenroll", s.Key, nil), 200)
	if str(gone, "status") != "withdrawn" {
		t.Fatalf("withdraw answered %v", gone)
	}
	if st := v.get("/enrollments/"+id2, nil); st != 404 {
		t.Fatalf("Absorb still serves the un-enrolled record: %d", st)
	}
	wantEvents(t, s, cid, id2, "enrollment.created:enrolled", "enrollment.status_changed:withdrawn")
	if st := str(want(t, s.do("GET", path+"/"+id2, s.ReadKey, nil), 200), "status"); st != "withdrawn" {
		t.Fatalf("stored record reads %s after withdraw", st)
	}

	// What Absorb cannot do, and invalid values, are refused before any call.
	calls := sim.Kit().Stats(nil).Total
	for _, sc := range []struct {
		method, path string
		body         any
		status       int
		typ          string
		capability   string
	}{
		{"PATCH", path + "/" + id, map[string]any{"status": "passed"}, 422, "capability-missing", "set_status"},
		{"POST", path + "/" + id + "/reject", nil, 422, "capability-missing", "invitation"},
		{"DELETE", path + "/" + id + "?mode=deactivate", nil, 400, "validation", ""},
		{"PATCH", path + "/" + id, map[string]any{"score": 101}, 400, "validation", ""},
		{"PATCH", path + "/" + id, map[string]any{"status": "overdue"}, 400, "validation", ""},
		{"PATCH", path + "/" + id, map[string]any{}, 400, "validation", ""},
		{"POST", path, map[string]any{"user_id": uid}, 400, "validation", ""},
		{"POST", path, map[string]any{"user_id": uid, "course_id": courseID, "role": "boss"}, 400, "validation", ""},
		{"POST", "/v1/connections/con_nope/course-enrollments", map[string]any{"user_id": uid, "course_id": courseID}, 404, "not-found", ""},
	} {
		p := wantProblem(t, s.do(sc.method, sc.path, s.Key, sc.body), sc.status, sc.typ)
		if sc.capability != "" && p["capability"] != sc.capability {
			t.Fatalf("%s %s: capability %v, want %s", sc.method, sc.path, p["capability"], sc.capability)
		}
	}
	if n := sim.Kit().Stats(nil).Total; n != calls {
		t.Fatalf("refused writes called Absorb %d times", n-calls)
	}

	// A read-only key cannot write.
	wantProblem(t, s.do("PATCH", path+"/"+id, s.ReadKey, map[string]any{"score": 1}), 403, "read-only-key")

	// An outage: 502 or 503 with Retry-After.
	if err := sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	res := s.do("PATCH", path+"/"+id, s.Key, map[string]any{"score": 10})
	if res.Status != 502 && res.Status != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("outage: %d Retry-After %q\n%s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
}

// TestLessonAttemptsAbsorb starts and finishes lesson attempts through the
// API and confirms them through Absorb's own API.
func TestLessonAttemptsAbsorb(t *testing.T) {
	sim, err := absorbsim.New(absorbsim.Config{Seed: 6, Enrollments: 40})
	if err != nil {
		t.Fatal(err)
	}
	base := startSim(t, sim.Handler())
	const password = "absorb-sim-password"
	v := &vendor{t: t, base: base, header: absorbHeader(t, base, absorbsim.DefaultAPIKey, "admin", password)}
	s := startWriteServer(t, nil)
	cid := s.connectSynced(t, map[string]any{"provider": "absorb", "name": "absorb",
		"settings":    map[string]string{"base_url": base},
		"credentials": map[string]string{"api_key": absorbsim.DefaultAPIKey, "username": "admin", "password": password}})
	uid, courseID := absorbTarget(t, v)
	path := "/v1/connections/" + cid + "/course-enrollments"
	id := str(want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": courseID}), 201), "id")
	var lessons []map[string]any
	v.mustGet("/users/"+uid+"/enrollments/"+courseID+"/lessons", &lessons)
	if len(lessons) < 2 {
		t.Fatalf("course %s has %d lessons, want 2", courseID, len(lessons))
	}
	attempts := func(lessonID string) []map[string]any {
		var out []map[string]any
		v.mustGet("/users/"+uid+"/enrollments/"+courseID+"/lessons/"+lessonID+"/attempts", &out)
		return out
	}

	// Start and finish in one request.
	l0 := str(lessons[0], "lessonId")
	got := want(t, s.do("POST", path+"/"+id+"/lesson-attempts", s.Key,
		map[string]any{"lesson_id": l0, "status": "completed", "score": 90}), 201)
	a0 := str(got, "attempt_id")
	if a0 == "" || got["finished"] != true || str(got, "enrollment", "id") != id {
		t.Fatalf("attempt answered %v", got)
	}
	if as := attempts(l0); len(as) != 1 || str(as[0], "id") != a0 || str(as[0], "status") != "3" || str(as[0], "score") != "90" {
		t.Fatalf("Absorb holds attempts %v", as)
	}

	// Start, then finish failed.
	l1 := str(lessons[1], "lessonId")
	started := want(t, s.do("POST", path+"/"+id+"/lesson-attempts", s.Key, map[string]any{"lesson_id": l1}), 201)
	a1 := str(started, "attempt_id")
	if started["finished"] != false {
		t.Fatalf("start answered %v", started)
	}
	if as := attempts(l1); len(as) != 1 || str(as[0], "status") != "1" {
		t.Fatalf("Absorb holds attempts %v after a start", as)
	}
	wantProblem(t, s.do("PUT", path+"/"+id+"/lesson-attempts/"+a1, s.Key, map[string]any{"score": 20}), 400, "validation")
	finished := want(t, s.do("PUT", path+"/"+id+"/lesson-attempts/"+a1, s.Key, map[string]any{"status": "failed", "score": 20}), 200)
	if str(finished, "attempt_id") != a1 || finished["finished"] != true {
		t.Fatalf("finish answered %v", finished)
	}
	if as := attempts(l1); len(as) != 1 || str(as[0], "status") != "5" || str(as[0], "score") != "20" {
		t.Fatalf("Absorb holds attempts %v after a finish", as)
	}
	// The enrollment as the LMS has it afterwards is what is stored.
	stored := want(t, s.do("GET", path+"/"+id, s.ReadKey, nil), 200)
	if str(stored, "status") != str(finished, "enrollment", "status") {
		t.Fatalf("stored %v, answered %v", stored["status"], str(finished, "enrollment", "status"))
	}
}
