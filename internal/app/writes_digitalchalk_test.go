package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

type dcList struct {
	Results []map[string]any `json:"results"`
}

// dcTarget finds, through DigitalChalk's own API, a user and an offering
// open to them, not yet registered, with a pass mark and retakes allowed.
func dcTarget(t *testing.T, v *vendor, sim *dcsim.Sim) (userID, offeringID string, passMark float64) {
	t.Helper()
	var users dcList
	v.mustGet("/users?limit=100", &users)
	for _, u := range users.Results {
		uid := u["id"].(string)
		var open, regs dcList
		v.mustGet("/offerings?limit=100&userId="+uid, &open)
		v.mustGet("/registrations?limit=100&userId="+uid, &regs)
		taken := map[string]bool{}
		for _, r := range regs.Results {
			taken[r["offeringId"].(string)] = true
		}
		for _, o := range open.Results {
			oid := o["id"].(string)
			mark, retake, ok := sim.OfferingRules(oid)
			if ok && retake && mark > 1 && !taken[oid] {
				return uid, oid, mark
			}
		}
	}
	t.Fatal("no open offering with retakes for any user")
	return "", "", 0
}

// TestWriteBackDigitalChalk walks one learner through DigitalChalk:
// register, a duplicate refused, graded below and above the pass mark, an
// eject of a passed registration refused, a retake, an eject, an outage.
// Each step is confirmed through DigitalChalk's own API and by its event.
func TestWriteBackDigitalChalk(t *testing.T) {
	sim, err := dcsim.New(dcsim.Config{Seed: 11, Enrollments: 60})
	if err != nil {
		t.Fatal(err)
	}
	base := startSim(t, sim.Handler()) + "/dc/api/v5"
	v := &vendor{t: t, base: base, header: bearer("dc-sim-token")}
	s := startWriteServer(t, nil)
	cid := s.connectSynced(t, map[string]any{"provider": "digitalchalk", "name": "dc",
		"settings": map[string]string{"base_url": base}, "credentials": map[string]string{"token": "dc-sim-token"}})
	uid, oid, mark := dcTarget(t, v, sim)
	path := "/v1/connections/" + cid + "/course-enrollments"

	// Enroll.
	first := want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": oid}), 201)
	id := str(first, "id")
	if str(first, "status") != "enrolled" || str(first, "attempt_number") != "1" || first["is_current"] != true ||
		str(first, "connection_id") != cid || str(first, "provider") != "digitalchalk" || first["synced_at"] == nil {
		t.Fatalf("enroll answered %v", first)
	}
	var reg map[string]any
	v.mustGet("/registrations/"+id, &reg)
	if reg["status"] != "active" || reg["userId"] != uid || reg["offeringId"] != oid {
		t.Fatalf("DigitalChalk holds %v after the enroll", reg)
	}
	wantEvents(t, s, cid, id, "enrollment.created:enrolled")
	listed := want(t, s.do("GET", path+"?user_id="+uid+"&course_id="+oid, s.ReadKey, nil), 200)
	if data := listed["data"].([]any); len(data) != 1 || str(data[0].(map[string]any), "status") != "enrolled" {
		t.Fatalf("the list does not show the new enrollment as enrolled: %v", listed)
	}

	// A second registration while active: DigitalChalk's refusal, verbatim.
	dup := wantProblem(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": oid}), 422, "lms-refused")
	if !strings.Contains(str(dup, "detail"), "not available") || dup["vendor_body"] == nil || str(dup, "vendor_status") != "400" {
		t.Fatalf("refusal lacks the vendor's words or body: %v", dup)
	}
	var regs dcList
	v.mustGet("/registrations?limit=100&userId="+uid+"&offeringId="+oid, &regs)
	if len(regs.Results) != 1 {
		t.Fatalf("DigitalChalk has %d registrations after a refused duplicate, want 1", len(regs.Results))
	}

	// Graded below, then above the pass mark: DigitalChalk decides.
	for _, step := range []struct {
		score      float64
		status     string
		vendorSays string
	}{{mark - 0.5, "failed", "failed"}, {100, "passed", "passed"}} {
		got := want(t, s.do("PATCH", path+"/"+id, s.Key, map[string]any{"score": step.score}), 200)
		if str(got, "status") != step.status || str(got, "score") != fmt.Sprint(step.score) {
			t.Fatalf("score %v (pass mark %v): answered %v %v, want %s", step.score, mark, got["status"], got["score"], step.status)
		}
		v.mustGet("/registrations/"+id, &reg)
		if reg["status"] != step.vendorSays || fmt.Sprint(reg["grade"]) != fmt.Sprint(step.score) {
			t.Fatalf("DigitalChalk holds %v after grading %v", reg, step.score)
		}
	}
	wantEvents(t, s, cid, id, "enrollment.created:enrolled", "enrollment.status_changed:failed", "enrollment.status_changed:passed")

	// Ejecting a passed registration: DigitalChalk refuses, nothing changes.
	eject := wantProblem(t, s.do("DELETE", path+"/"+id, s.Key, nil), 422, "lms-refused")
	if !strings.Contains(str(eject, "detail"), "status") || eject["vendor_body"] == nil {
		t.Fatalf("eject refusal: %v", eject)
	}
	v.mustGet("/registrations/"+id, &reg)
	if reg["status"] != "passed" {
		t.Fatalf("a refused eject changed DigitalChalk: %v", reg)
	}
	wantEvents(t, s, cid, id, "enrollment.created:enrolled", "enrollment.status_changed:failed", "enrollment.status_changed:passed")

	// A retake: a new current attempt 2, the first kept as history.
	second := want(t, s.do("POST", path, s.Key, map[string]any{"user_id": uid, "course_id": oid, "reenroll": true}), 201)
	id2 := str(second, "id")
	if id2 == id || str(second, "attempt_number") != "2" || second["is_current"] != true || str(second, "status") != "enrolled" {
		t.Fatalf("re-enroll answered %v", second)
	}
	old := want(t, s.do("GET", path+"/"+id, s.ReadKey, nil), 200)
	if old["is_current"] != false || str(old, "status") != "passed" {
		t.Fatalf("the first attempt reads %v %v, want passed history (is_current=false)", old["status"], old["is_current"])
	}
	v.mustGet("/registrations?limit=100&userId="+uid+"&offeringId="+oid, &regs)
	if len(regs.Results) != 2 {
		t.Fatalf("DigitalChalk has %d registrations after the retake, want 2", len(regs.Results))
	}
	wantEvents(t, s, cid, id2, "enrollment.created:enrolled")
	wantEvents(t, s, cid, id, "enrollment.created:enrolled", "enrollment.status_changed:failed",
		"enrollment.status_changed:passed", "enrollment.updated:passed")

	// Withdraw: a mode DigitalChalk does not have is refused before any call.
	calls := sim.Kit().Stats(nil).Total
	wantProblem(t, s.do("DELETE", path+"/"+id2+"?mode=deactivate", s.Key, nil), 400, "validation")
	if n := sim.Kit().Stats(nil).Total; n != calls {
		t.Fatalf("a bad mode called DigitalChalk %d times", n-calls)
	}
	gone := want(t, s.do("DELETE", path+"/"+id2+"?mode=eject", s.Key, nil), 200)
	if str(gone, "status") != "withdrawn" || str(gone, "remote_status") != "ejected" {
		t.Fatalf("withdraw answered %v", gone)
	}
	v.mustGet("/registrations/"+id2, &reg)
	if reg["status"] != "ejected" {
		t.Fatalf("DigitalChalk holds %v after the withdraw", reg)
	}
	wantEvents(t, s, cid, id2, "enrollment.created:enrolled", "enrollment.status_changed:withdrawn")
	stored := want(t, s.do("GET", path+"/"+id2, s.ReadKey, nil), 200)
	if str(stored, "status") != "withdrawn" {
		t.Fatalf("stored record reads %v after withdraw", stored["status"])
	}

	// What DigitalChalk cannot do is refused before any call.
	calls = sim.Kit().Stats(nil).Total
	for _, sc := range []struct {
		method, path string
		body         any
		capability   string
	}{
		{"PATCH", path + "/" + id, map[string]any{"status": "completed"}, "complete"},
		{"PATCH", path + "/" + id, map[string]any{"status": "enrolled"}, "reactivate"},
		{"POST", path + "/" + id + "/accept", nil, "invitation"},
		{"DELETE", path + "/" + id + "?mode=conclude", nil, "complete"},
		{"POST", path + "/" + id + "/lesson-attempts", map[string]any{"lesson_id": "l1"}, "lesson_attempts"},
	} {
		p := wantProblem(t, s.do(sc.method, sc.path, s.Key, sc.body), 422, "capability-missing")
		if p["capability"] != sc.capability || p["provider"] != "digitalchalk" {
			t.Fatalf("%s %s: capability %v, want %s", sc.method, sc.path, p["capability"], sc.capability)
		}
	}
	if n := sim.Kit().Stats(nil).Total; n != calls {
		t.Fatalf("refused writes called DigitalChalk %d times", n-calls)
	}

	// An outage: 502 or 503 with Retry-After, and nothing stored.
	if err := sim.Kit().SetFaults(simkit.Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	res := s.do("PATCH", path+"/"+id, s.Key, map[string]any{"score": 50})
	if res.Status != 502 && res.Status != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("outage: %d Retry-After %q\n%s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
	if err := sim.Kit().SetFaults(simkit.Faults{}); err != nil {
		t.Fatal(err)
	}
	v.mustGet("/registrations/"+id, &reg)
	if reg["status"] != "passed" {
		t.Fatalf("an outage changed DigitalChalk: %v", reg)
	}
	if st := str(want(t, s.do("GET", path+"/"+id, s.ReadKey, nil), 200), "status"); st != "passed" {
		t.Fatalf("an outage changed the store: %s", st)
	}
}
