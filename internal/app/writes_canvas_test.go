package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

const canvasAllStates = "&state[]=active&state[]=invited&state[]=creation_pending&state[]=deleted&state[]=rejected&state[]=completed&state[]=inactive"

// canvasTarget finds, through Canvas's own API, a user without any
// enrollment and a course.
func canvasTarget(t *testing.T, v *vendor) (userID, courseID string) {
	t.Helper()
	var users, courses []map[string]any
	v.mustGet("/api/v1/accounts/1/users?per_page=100", &users)
	v.mustGet("/api/v1/accounts/1/courses?per_page=100", &courses)
	if len(courses) == 0 {
		t.Fatal("no course")
	}
	for _, u := range users {
		uid := fmt.Sprint(u["id"])
		var enrolled []map[string]any
		v.mustGet("/api/v1/users/"+uid+"/enrollments?per_page=100"+canvasAllStates, &enrolled)
		if len(enrolled) == 0 {
			return uid, fmt.Sprint(courses[0]["id"])
		}
	}
	t.Fatal("every user has an enrollment")
	return "", ""
}

func startCanvas(t *testing.T, s *server, seed uint64) (*canvassim.Sim, *vendor, string) {
	t.Helper()
	sim, err := canvassim.New(canvassim.Config{Seed: seed, Enrollments: 30})
	if err != nil {
		t.Fatal(err)
	}
	base := startSim(t, sim.Handler())
	cid := s.connectSynced(t, map[string]any{"provider": "canvas", "name": fmt.Sprint("canvas-", seed),
		"settings": map[string]string{"base_url": base, "account_id": "1"}, "credentials": map[string]string{"token": "canvas-sim-token"}})
	return sim, &vendor{t: t, base: base, header: bearer("canvas-sim-token")}, cid
}

// TestWriteBackCanvas walks one learner through Canvas: enroll, conclude,
// deactivate, reactivate, delete; what Canvas cannot do (score, re-enroll)
// is refused without a call, and Canvas's own refusal comes back verbatim.
func TestWriteBackCanvas(t *testing.T) {
	s := startWriteServer(t, nil)
	sim, v, cid := startCanvas(t, s, 3)
	uid, courseID := canvasTarget(t, v)
	path := "/v1/connections/" + cid + "/course-enrollments"
	var rec map[string]any
	vendorState := func(id string) string {
		t.Helper()
		v.mustGet("/api/v1/accounts/1/enrollments/"+id, &rec)
		return str(rec, "enrollment_state")
	}

	first := want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": courseID}), 201)
	id := str(first, "id")
	if str(first, "status") != "enrolled" || str(first, "role") != "learner" || str(first, "remote_status") != "active" {
		t.Fatalf("enroll answered %v", first)
	}
	if st := vendorState(id); st != "active" || fmt.Sprint(rec["user_id"]) != uid || fmt.Sprint(rec["course_id"]) != courseID {
		t.Fatalf("Canvas holds %v after the enroll", rec)
	}
	wantEvents(t, s, cid, id, "enrollment.created:enrolled")
	listed := want(t, s.do("GET", "/v1/course-enrollments?user_id="+uid+"&connection_id="+cid, s.ReadKey, nil), 200)
	if data := listed["data"].([]any); len(data) != 1 || str(data[0].(map[string]any), "status") != "enrolled" {
		t.Fatalf("the list does not show the new enrollment as enrolled: %v", listed)
	}

	// Canvas has no score write and no re-enroll: refused, no call.
	calls := sim.Kit().Stats(nil).Total
	p := wantProblem(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"score": 90}), 422, "capability-missing")
	if p["capability"] != "score" || p["provider"] != "canvas" {
		t.Fatalf("score on Canvas: %v", p)
	}
	p = wantProblem(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": courseID, "reenroll": true}), 422, "capability-missing")
	if p["capability"] != "reenroll" {
		t.Fatalf("re-enroll on Canvas: %v", p)
	}
	if n := sim.Kit().Stats(nil).Total; n != calls {
		t.Fatalf("refused writes called Canvas %d times", n-calls)
	}

	steps := []struct {
		method, query string
		body          any
		status        string
		canvas        string
		event         string
	}{
		{"DELETE", "?mode=conclude", nil, "completed", "completed", "enrollment.status_changed:completed"},
		{"DELETE", "?mode=deactivate", nil, "withdrawn", "inactive", "enrollment.status_changed:withdrawn"},
		{"PATCH", "", map[string]any{"status": "enrolled"}, "enrolled", "active", "enrollment.status_changed:enrolled"},
		{"PATCH", "", map[string]any{"status": "withdrawn"}, "withdrawn", "deleted", "enrollment.status_changed:withdrawn"},
	}
	wantEvs := []string{"enrollment.created:enrolled"}
	for _, st := range steps {
		got := want(t, s.do(st.method, path+"/"+id+st.query, s.Key, st.body), 200)
		if str(got, "status") != st.status || str(got, "remote_status") != st.canvas {
			t.Fatalf("%s %s: answered %v (%v), want %s (%s)", st.method, st.query, got["status"], got["remote_status"], st.status, st.canvas)
		}
		if vs := vendorState(id); vs != st.canvas {
			t.Fatalf("%s %s: Canvas holds %s, want %s", st.method, st.query, vs, st.canvas)
		}
		wantEvs = append(wantEvs, st.event)
		wantEvents(t, s, cid, id, wantEvs...)
		if st.canvas == "completed" {
			// Canvas reactivates only inactive enrollments: its refusal,
			// verbatim, and nothing changes.
			p = wantProblem(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"status": "enrolled"}), 422, "lms-refused")
			if !strings.Contains(str(p, "detail"), "not inactive") || p["vendor_body"] == nil {
				t.Fatalf("reactivate refusal: %v", p)
			}
			if vs := vendorState(id); vs != "completed" {
				t.Fatalf("a refused reactivate changed Canvas: %s", vs)
			}
			wantEvents(t, s, cid, id, wantEvs...)
		}
	}

	// A deleted enrollment is gone for Canvas's course actions.
	wantProblem(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"status": "enrolled"}), 404, "lms-not-found")

	// An outage: 502 or 503 with Retry-After.
	if err := sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	res := s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": courseID})
	if res.Status != 502 && res.Status != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("outage: %d Retry-After %q\n%s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
}

// TestInvitationsCanvas: with enroll_state=invited an enroll is an
// invitation, which the API accepts or rejects as the invited user.
func TestInvitationsCanvas(t *testing.T) {
	s := startWriteServer(t, nil)
	sim, err := canvassim.New(canvassim.Config{Seed: 8, Enrollments: 30})
	if err != nil {
		t.Fatal(err)
	}
	base := startSim(t, sim.Handler())
	v := &vendor{t: t, base: base, header: bearer("canvas-sim-token")}
	cid := s.connectSynced(t, map[string]any{"provider": "canvas", "name": "invites",
		"settings":    map[string]string{"base_url": base, "account_id": "1", "enroll_state": "invited"},
		"credentials": map[string]string{"token": "canvas-sim-token"}})
	path := "/v1/connections/" + cid + "/course-enrollments"
	var courses []map[string]any
	v.mustGet("/api/v1/accounts/1/courses?per_page=100", &courses)
	uid, _ := canvasTarget(t, v)

	for i, tc := range []struct{ action, status, canvas string }{
		{"accept", "enrolled", "active"},
		{"reject", "withdrawn", "rejected"},
	} {
		course := fmt.Sprint(courses[i]["id"])
		invited := want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": course}), 201)
		id := str(invited, "id")
		if str(invited, "status") != "assigned" || str(invited, "remote_status") != "invited" {
			t.Fatalf("an invitation answered %v (%v)", invited["status"], invited["remote_status"])
		}
		got := want(t, s.do("POST", path+"/"+id+"/"+tc.action, s.Key, nil), 200)
		if str(got, "status") != tc.status {
			t.Fatalf("%s answered %v", tc.action, got["status"])
		}
		var rec map[string]any
		v.mustGet("/api/v1/accounts/1/enrollments/"+id, &rec)
		if str(rec, "enrollment_state") != tc.canvas {
			t.Fatalf("%s: Canvas holds %v", tc.action, rec["enrollment_state"])
		}
		wantEvents(t, s, cid, id, "enrollment.created:assigned", "enrollment.status_changed:"+tc.status)
	}
}
