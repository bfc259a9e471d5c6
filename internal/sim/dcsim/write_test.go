package dcsim

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCreateRegistration(t *testing.T) {
	f := setup(t, Config{})
	now := testNow.Unix()
	openOI, _ := f.findOffering(t, "open", func(_ int32, o *offering) bool { return o.registrationOpen(now) })
	learner := f.freeLearner(t, openOI)

	// providers.md §3.3 POST: 201, empty body, Location: /dc/api/v5/registrations/<newId>.
	res := f.call(t, "POST", "/registrations", map[string]string{"userId": f.userID(learner), "offeringId": f.offeringID(openOI), "title": "ignored"})
	if res.status != 201 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if len(res.body) != 0 || res.header.Get("Content-Length") != "0" {
		t.Fatalf("201 must have an empty body, got %q (Content-Length %q)", res.body, res.header.Get("Content-Length"))
	}
	loc := res.header.Get("Location")
	m := regexp.MustCompile(`^/dc/api/v5/registrations/([0-9a-f]{32})$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("Location %q", loc)
	}
	got := f.getReg(t, m[1])
	want := registrationJSON{ID: m[1], UserID: f.userID(learner), OfferingID: f.offeringID(openOI),
		Title: f.sim.offerings[openOI].title, Status: "active", CreatedDate: testNow.Format(dateLayout)}
	if got != want {
		t.Fatalf("new registration\n got %+v\nwant %+v", got, want)
	}
	if list := f.walk(t, "/registrations?limit=100&userId="+f.userID(learner)); list[len(list)-1].ID != m[1] {
		t.Fatal("the new registration is not last in the user's listing")
	}
}

func TestCreateRegistrationRefusals(t *testing.T) {
	f := setup(t, Config{})
	now := testNow.Unix()
	openOI, _ := f.findOffering(t, "open", func(_ int32, o *offering) bool { return o.registrationOpen(now) })
	free := f.freeLearner(t, openOI)
	active := f.find(t, "active in an open offering", func(r *registration, o *offering) bool {
		return r.status == statusActive && o.registrationOpen(now)
	})
	completedNoRetake := f.find(t, "completed where retakes are off", func(r *registration, o *offering) bool {
		return (r.status == statusPassed || r.status == statusFailed) && !o.allowRetake && o.registrationOpen(now)
	})
	closedOI, _ := f.findOffering(t, "closed for registration but running", func(_ int32, o *offering) bool {
		return o.regEnd != 0 && o.regEnd < now && o.end > now
	})
	notYetOI, _ := f.findOffering(t, "not yet open", func(_ int32, o *offering) bool { return o.regBegin > now })
	endedOI, _ := f.findOffering(t, "ended", func(_ int32, o *offering) bool { return o.end != 0 && o.end < now })
	unknown := strings.Repeat("ab", 16)

	cases := []struct {
		name      string
		body      any
		wantField string // fieldErrors key, or "" for errors[]
		wantMsg   string // substring of errors[0]
	}{
		// providers.md §3.4: a body that is not JSON is a 400.
		{"not JSON", "{userId:", "", "JSON"},
		{"JSON array", `["x"]`, "", "JSON"},
		// providers.md §3.3: both ids are required...
		{"missing userId", map[string]string{"offeringId": f.offeringID(openOI)}, "userId", ""},
		{"missing offeringId", map[string]string{"userId": f.userID(free)}, "offeringId", ""},
		{"userId not a string", map[string]any{"userId": 5, "offeringId": f.offeringID(openOI)}, "userId", ""},
		// ...and must reference real resources (checked first)...
		{"unknown user", map[string]string{"userId": unknown, "offeringId": f.offeringID(openOI)}, "", "user"},
		{"unknown offering", map[string]string{"userId": f.userID(free), "offeringId": unknown}, "", "offering"},
		{"unknown both, even where the offering is closed", map[string]string{"userId": unknown, "offeringId": f.offeringID(closedOI)}, "", "No user"},
		// ...then the offering must be available to the user.
		{"already registered (active)", map[string]string{"userId": f.userID(active.user), "offeringId": f.offeringID(active.offering)}, "", msgNotAvailable},
		{"completed, retakes off", map[string]string{"userId": f.userID(completedNoRetake.user), "offeringId": f.offeringID(completedNoRetake.offering)}, "", msgNotAvailable},
		{"registration closed", map[string]string{"userId": f.userID(f.freeLearner(t, closedOI)), "offeringId": f.offeringID(closedOI)}, "", msgNotAvailable},
		{"registration not yet open", map[string]string{"userId": f.userID(free), "offeringId": f.offeringID(notYetOI)}, "", msgNotAvailable},
		{"offering ended", map[string]string{"userId": f.userID(f.freeLearner(t, endedOI)), "offeringId": f.offeringID(endedOI)}, "", msgNotAvailable},
	}
	before := len(f.sim.EnrollmentIDs())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.call(t, "POST", "/registrations", c.body)
			if res.status != 400 {
				t.Fatalf("status %d, want 400: %s", res.status, res.body)
			}
			e := res.errors(t)
			if c.wantField != "" {
				if e.FieldErrors[c.wantField] == "" {
					t.Fatalf("want fieldErrors.%s, got %s", c.wantField, res.body)
				}
				return
			}
			if len(e.Errors) != 1 || !strings.Contains(e.Errors[0], c.wantMsg) {
				t.Fatalf("want errors[%q…], got %s", c.wantMsg, res.body)
			}
		})
	}
	if after := len(f.sim.EnrollmentIDs()); after != before {
		t.Fatalf("refused POSTs created %d registrations", after-before)
	}
}

func TestRetakes(t *testing.T) {
	f := setup(t, Config{})
	now := testNow.Unix()
	cases := []struct {
		name string
		pick func(r *registration, o *offering) bool
	}{
		// providers.md §3.3: where retakes are allowed, a finished registration gives way to a new one.
		{"failed, retakes on", func(r *registration, o *offering) bool {
			return r.status == statusFailed && o.allowRetake && o.registrationOpen(now) && f.sim.available(r.user, r.offering, now)
		}},
		{"passed, retakes on", func(r *registration, o *offering) bool {
			return r.status == statusPassed && o.allowRetake && o.registrationOpen(now) && f.sim.available(r.user, r.offering, now)
		}},
		// UNCERTAIN (providers.md §3.3 lists only completion as blocking): an ejection does not block.
		{"ejected, retakes off", func(r *registration, o *offering) bool {
			return r.status == statusEjected && !o.allowRetake && o.registrationOpen(now) && f.sim.available(r.user, r.offering, now)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := f.find(t, c.name, c.pick)
			filter := "/registrations?limit=100&userId=" + f.userID(old.user) + "&offeringId=" + f.offeringID(old.offering)
			before := len(f.walk(t, filter))
			body := map[string]string{"userId": f.userID(old.user), "offeringId": f.offeringID(old.offering)}
			if res := f.call(t, "POST", "/registrations", body); res.status != 201 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if after := len(f.walk(t, filter)); after != before+1 {
				t.Fatalf("%d registrations for the pair, want %d", after, before+1)
			}
			if got := f.getReg(t, old.id.String()); got.Status != old.status.String() {
				t.Fatalf("the earlier attempt changed to %s", got.Status)
			}
			// The new attempt is active, so a second POST is refused.
			if res := f.call(t, "POST", "/registrations", body); res.status != 400 {
				t.Fatalf("second POST: %d", res.status)
			}
		})
	}
}

func TestGradeAndEject(t *testing.T) {
	f := setup(t, Config{})
	f.clock.Advance(time.Hour) // so endDate = now is distinguishable from generated dates
	now := testNow.Add(time.Hour).Format(dateLayout)
	admin := f.sim.APIUserID()
	pass := func(r *registration) float64 { return f.sim.offerings[r.offering].passingGrade }
	isActive := func(r *registration, _ *offering) bool { return r.status == statusActive }
	used := map[vendorID]bool{}
	pick := func(what string, fits func(r *registration, o *offering) bool) *registration {
		return f.find(t, what, func(r *registration, o *offering) bool {
			if used[r.id] || !fits(r, o) {
				return false
			}
			used[r.id] = true
			return true
		})
	}

	cases := []struct {
		name       string
		reg        *registration
		body       func(r *registration) any
		wantStatus string
		wantGrade  func(r *registration) float64
		comment    string
	}{
		// providers.md §3.3 assign grade: active → passed/failed by the offering's passing grade.
		{"at the pass mark passes", pick("active", isActive), func(r *registration) any { return map[string]float64{"grade": pass(r)} },
			"passed", pass, ""},
		{"just under fails", pick("active", isActive), func(r *registration) any { return map[string]float64{"grade": pass(r) - 0.1} },
			"failed", func(r *registration) float64 { return pass(r) - 0.1 }, ""},
		// providers.md §3.3: the prose name gradePercentage is accepted too.
		{"gradePercentage", pick("active", isActive), func(r *registration) any { return map[string]float64{"gradePercentage": 99.7} },
			"passed", func(*registration) float64 { return 99.7 }, ""},
		{"both names agreeing", pick("active", isActive), func(r *registration) any { return map[string]float64{"grade": 0, "gradePercentage": 0} },
			"failed", func(*registration) float64 { return 0 }, ""},
		// seed 000: graderComment comes with a manually assigned grade (sending it is UNCERTAIN, providers.md §3.3).
		{"with comment", pick("active", isActive), func(r *registration) any {
			return map[string]any{"grade": 100, "graderComment": "credit given for hard-copy"}
		}, "passed", func(*registration) float64 { return 100 }, "credit given for hard-copy"},
		// providers.md §3.3: re-grading a completed registration recomputes pass/fail.
		{"re-grade passed to failed", pick("passed", func(r *registration, _ *offering) bool { return r.status == statusPassed }),
			func(r *registration) any { return map[string]float64{"grade": 0} }, "failed", func(*registration) float64 { return 0 }, ""},
		{"re-grade failed to passed", pick("failed", func(r *registration, _ *offering) bool { return r.status == statusFailed }),
			func(r *registration) any { return map[string]float64{"grade": 100} }, "passed", func(*registration) float64 { return 100 }, ""},
		// providers.md §3.3: grading an ejected registration clears the ejection.
		{"grade clears ejection", pick("ejected", func(r *registration, _ *offering) bool { return r.status == statusEjected }),
			func(r *registration) any { return map[string]float64{"grade": 100} }, "passed", func(*registration) float64 { return 100 }, ""},
		// providers.md §3.3 eject: only from active; no grade.
		{"eject active", pick("active", isActive), func(*registration) any { return map[string]string{"status": "ejected"} },
			"ejected", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.reg.id.String()
			before := f.getReg(t, id)
			res := f.call(t, "PUT", "/registrations/"+id, c.body(c.reg))
			if res.status != 204 || len(res.body) != 0 {
				t.Fatalf("got %d %q, want 204 and no body", res.status, res.body)
			}
			got := f.getReg(t, id)
			if got.Status != c.wantStatus || got.EndDate != now {
				t.Fatalf("status %s endDate %s, want %s at %s", got.Status, got.EndDate, c.wantStatus, now)
			}
			if c.wantGrade == nil {
				if got.Grade != nil || got.GraderID != "" {
					t.Fatalf("ejection left grade fields: %+v", got)
				}
			} else {
				if got.Grade == nil || *got.Grade != c.wantGrade(c.reg) {
					t.Fatalf("grade %v, want %v", got.Grade, c.wantGrade(c.reg))
				}
				// seed 000: graded via the API, graderId is the token's user.
				if got.GraderID != admin || got.GraderComment != c.comment {
					t.Fatalf("graderId %q comment %q", got.GraderID, got.GraderComment)
				}
			}
			if got.CreatedDate != before.CreatedDate || got.UserID != before.UserID || got.BeginDate != before.BeginDate {
				t.Fatalf("PUT changed other fields:\n%+v\n%+v", before, got)
			}
		})
	}
}

func TestUpdateRefusals(t *testing.T) {
	f := setup(t, Config{})
	active := f.find(t, "active", func(r *registration, _ *offering) bool { return r.status == statusActive })
	passed := f.find(t, "passed", func(r *registration, _ *offering) bool { return r.status == statusPassed })
	failed := f.find(t, "failed", func(r *registration, _ *offering) bool { return r.status == statusFailed })
	ejected := f.find(t, "ejected", func(r *registration, _ *offering) bool { return r.status == statusEjected })

	cases := []struct {
		name       string
		reg        *registration
		body       any
		wantCode   int
		wantField  string // fieldErrors key; "" means errors[]
		unchanged  bool
		targetPath string
	}{
		// providers.md §3.3: the grade must be 0–100, else 400 fieldErrors on the grade.
		{"grade above 100", active, map[string]float64{"grade": 100.1}, 400, "grade", true, ""},
		{"grade below 0", active, map[string]float64{"grade": -1}, 400, "grade", true, ""},
		{"grade as a string", active, map[string]string{"grade": "90"}, 400, "grade", true, ""},
		{"grade null", active, `{"grade":null}`, 400, "grade", true, ""},
		{"gradePercentage above 100", active, map[string]float64{"gradePercentage": 101}, 400, "gradePercentage", true, ""},
		{"names disagreeing", active, map[string]float64{"grade": 50, "gradePercentage": 60}, 400, "gradePercentage", true, ""},
		// providers.md §3.3: do not send status together with a grade.
		{"status with grade", active, map[string]any{"grade": 90, "status": "passed"}, 400, "status", true, ""},
		{"ejected with grade", active, map[string]any{"grade": 90, "status": "ejected"}, 400, "status", true, ""},
		// providers.md §3.3 eject: only while active, else fieldErrors.status.
		{"eject passed", passed, map[string]string{"status": "ejected"}, 400, "status", true, ""},
		{"eject failed", failed, map[string]string{"status": "ejected"}, 400, "status", true, ""},
		{"eject ejected", ejected, map[string]string{"status": "ejected"}, 400, "status", true, ""},
		// providers.md §3.3: other status values are presumed rejected (UNCERTAIN).
		{"status active", ejected, map[string]string{"status": "active"}, 400, "status", true, ""},
		{"status passed", active, map[string]string{"status": "passed"}, 400, "status", true, ""},
		{"status number", active, map[string]int{"status": 1}, 400, "status", true, ""},
		{"nothing to do", active, map[string]string{"graderComment": "hi"}, 400, "", true, ""},
		{"not JSON", active, "grade=90", 400, "", true, ""},
		// providers.md §3.3: unknown or malformed id → 404.
		{"unknown id", active, map[string]float64{"grade": 90}, 404, "", true, "/registrations/" + strings.Repeat("0", 32)},
		{"malformed id", active, map[string]float64{"grade": 90}, 404, "", true, "/registrations/XYZ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.getReg(t, c.reg.id.String())
			path := c.targetPath
			if path == "" {
				path = "/registrations/" + c.reg.id.String()
			}
			res := f.call(t, "PUT", path, c.body)
			if res.status != c.wantCode {
				t.Fatalf("status %d, want %d: %s", res.status, c.wantCode, res.body)
			}
			e := res.errors(t)
			if c.wantField != "" && e.FieldErrors[c.wantField] == "" {
				t.Fatalf("want fieldErrors.%s: %s", c.wantField, res.body)
			}
			if c.wantField == "" && len(e.Errors) == 0 {
				t.Fatalf("want errors[]: %s", res.body)
			}
			if after := f.getReg(t, c.reg.id.String()); !reflect.DeepEqual(after, before) {
				t.Fatalf("refused PUT changed the registration:\n%+v\n%+v", before, after)
			}
		})
	}
}
