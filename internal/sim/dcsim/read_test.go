package dcsim

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	f := setup(t, Config{})
	anyID := f.sim.EnrollmentIDs()[0]
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		token  string
		want   int
	}{
		// providers.md §3.1: OAuth2 bearer token in Authorization.
		{"right token", "GET", "/registrations", nil, "Bearer " + testToken, 200},
		{"scheme is case-insensitive", "GET", "/registrations", nil, "bearer " + testToken, 200},
		// providers.md §3.4: 401 for a bad or missing token is UNCERTAIN; the sim answers 401 errors[].
		{"no header", "GET", "/registrations", nil, "-", 401},
		{"wrong token", "GET", "/registrations", nil, "Bearer nope", 401},
		{"token without scheme", "GET", "/registrations", nil, testToken, 401},
		{"basic scheme", "GET", "/users", nil, "Basic " + testToken, 401},
		{"write without token", "POST", "/registrations", map[string]string{"userId": "x", "offeringId": "y"}, "-", 401},
		{"grade without token", "PUT", "/registrations/" + anyID, map[string]int{"grade": 50}, "Bearer nope", 401},
		{"offerings without token", "GET", "/offerings", nil, "-", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.call(t, c.method, c.path, c.body, c.token)
			if res.status != c.want {
				t.Fatalf("status %d, want %d (%s)", res.status, c.want, res.body)
			}
			if c.want == 401 {
				if e := res.errors(t); len(e.Errors) == 0 {
					t.Fatalf("401 body has no errors[]: %s", res.body)
				}
			}
		})
	}
	// A refused write changed nothing.
	if got := f.getReg(t, anyID); got.Grade != nil && *got.Grade == 50 && got.GraderID == f.sim.APIUserID() {
		t.Fatalf("unauthenticated PUT graded the registration: %+v", got)
	}
}

func TestPaging(t *testing.T) {
	f := setup(t, Config{})
	total := len(f.sim.EnrollmentIDs())
	cases := []struct {
		name               string
		query              url.Values
		wantStatus         int
		wantCount          int
		wantNext, wantPrev string // "" = absent, else the offset the link must carry
	}{
		// providers.md §3.2: default limit 15, next only when more exist, prev only when offset > 0.
		{"defaults", url.Values{}, 200, 15, "15", ""},
		{"middle page", url.Values{"limit": {"5"}, "offset": {"5"}}, 200, 5, "10", "0"},
		{"prev never below zero", url.Values{"limit": {"5"}, "offset": {"3"}}, 200, 5, "8", "0"},
		{"last partial page", url.Values{"limit": {"5"}, "offset": {strconv.Itoa(total - 3)}}, 200, 3, "", strconv.Itoa(total - 8)},
		{"page ends exactly at the end", url.Values{"limit": {"5"}, "offset": {strconv.Itoa(total - 5)}}, 200, 5, "", strconv.Itoa(total - 10)},
		{"offset past the end", url.Values{"limit": {"5"}, "offset": {strconv.Itoa(total + 10)}}, 200, 0, "", strconv.Itoa(total + 5)},
		// providers.md §3.2: max 100; beyond it the sim clamps (UNCERTAIN, documented on parsePage).
		{"limit over the cap is clamped", url.Values{"limit": {"500"}}, 200, 100, "100", ""},
		{"limit at the cap", url.Values{"limit": {"100"}, "offset": {"100"}}, 200, 100, "200", "0"},
		// providers.md §3.4: bad input is 400 fieldErrors.
		{"limit zero", url.Values{"limit": {"0"}}, 400, 0, "", ""},
		{"limit not a number", url.Values{"limit": {"ten"}}, 400, 0, "", ""},
		{"negative offset", url.Values{"offset": {"-1"}}, 400, 0, "", ""},
		// providers.md §3.2: an empty collection has neither link. The API account has no registrations.
		{"empty list", url.Values{"userId": {f.sim.APIUserID()}}, 200, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.call(t, "GET", "/registrations?"+c.query.Encode(), nil)
			if res.status != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, c.wantStatus, res.body)
			}
			if c.wantStatus != 200 {
				if e := res.errors(t); len(e.FieldErrors) == 0 {
					t.Fatalf("400 without fieldErrors: %s", res.body)
				}
				return
			}
			var raw map[string]json.RawMessage
			res.json(t, &raw)
			if _, ok := raw["total"]; ok {
				t.Error("the vendor has no total count (providers.md §3.2)")
			}
			if strings.Contains(string(res.body), `\u0026`) {
				t.Error("links must read as plain URLs, not with & escaped")
			}
			if string(raw["results"]) == "null" {
				t.Error("results must be an array, not null")
			}
			var p regPage
			res.json(t, &p)
			if len(p.Results) != c.wantCount {
				t.Errorf("%d results, want %d", len(p.Results), c.wantCount)
			}
			checkLink(t, "next", p.Next, c.wantNext, c.query)
			checkLink(t, "prev", p.Prev, c.wantPrev, c.query)
		})
	}
}

// checkLink asserts a link is the request URL with only the offset changed
// (providers.md §3.2).
func checkLink(t *testing.T, name, link, wantOffset string, query url.Values) {
	t.Helper()
	if wantOffset == "" {
		if link != "" {
			t.Errorf("%s = %q, want none", name, link)
		}
		return
	}
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		t.Fatalf("%s = %q, want an absolute URL", name, link)
	}
	if !strings.HasSuffix(u.Path, "/dc/api/v5/registrations") {
		t.Errorf("%s path = %q", name, u.Path)
	}
	got := u.Query()
	if got.Get("offset") != wantOffset {
		t.Errorf("%s offset = %q, want %s", name, got.Get("offset"), wantOffset)
	}
	for k, v := range query {
		if k != "offset" && !slices.Equal(got[k], v) {
			t.Errorf("%s lost parameter %s=%v: %s", name, k, v, link)
		}
	}
}

func TestOffsetWalkReturnsEachRowOnce(t *testing.T) {
	f := setup(t, Config{})
	// providers.md §3.2: walking next links with any page size visits every row once.
	for _, limit := range []string{"1", "7", "15", "100", "1000"} {
		t.Run("limit "+limit, func(t *testing.T) {
			got := ids(f.walk(t, "/registrations?limit="+limit))
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("%s listed twice", id)
				}
				seen[id] = true
			}
			slices.Sort(got)
			if want := f.sim.EnrollmentIDs(); !slices.Equal(got, want) {
				t.Fatalf("walk found %d ids, EnrollmentIDs has %d", len(got), len(want))
			}
		})
	}
}

func TestRegistrationFilters(t *testing.T) {
	f := setup(t, Config{})
	all := f.walk(t, "/registrations?limit=100")
	withBegin := f.find(t, "begun", func(r *registration, _ *offering) bool { return r.begin != 0 && r.end != 0 })
	someone := f.find(t, "a learner with several registrations", func(r *registration, _ *offering) bool {
		return len(f.sim.byUser[r.user]) > 2
	})
	user := f.userID(someone.user)
	offeringID := f.offeringID(someone.offering)
	created := formatDate(withBegin.created)
	day := created[:10]
	month := created[:7]

	cases := []struct {
		name  string
		query url.Values
		keep  func(r registrationJSON) bool
	}{
		// providers.md §3.3: status, userId, offeringId, all ANDed.
		{"status active", url.Values{"status": {"active"}}, func(r registrationJSON) bool { return r.Status == "active" }},
		{"status passed", url.Values{"status": {"passed"}}, func(r registrationJSON) bool { return r.Status == "passed" }},
		{"status ejected", url.Values{"status": {"ejected"}}, func(r registrationJSON) bool { return r.Status == "ejected" }},
		{"userId", url.Values{"userId": {user}}, func(r registrationJSON) bool { return r.UserID == user }},
		{"offeringId", url.Values{"offeringId": {offeringID}}, func(r registrationJSON) bool { return r.OfferingID == offeringID }},
		{"userId and offeringId", url.Values{"userId": {user}, "offeringId": {offeringID}}, func(r registrationJSON) bool {
			return r.UserID == user && r.OfferingID == offeringID
		}},
		{"offeringId and status", url.Values{"offeringId": {offeringID}, "status": {"failed"}}, func(r registrationJSON) bool {
			return r.OfferingID == offeringID && r.Status == "failed"
		}},
		{"unknown userId matches nothing", url.Values{"userId": {strings.Repeat("ab", 16)}}, func(registrationJSON) bool { return false }},
		{"malformed offeringId matches nothing", url.Values{"offeringId": {"42"}}, func(registrationJSON) bool { return false }},
		// providers.md §3.3: date filters take a precise timestamp, an imprecise date meaning its period, or a range.
		{"createdDate precise", url.Values{"createdDate": {created}}, func(r registrationJSON) bool { return r.CreatedDate == created }},
		{"createdDate day", url.Values{"createdDate": {day}}, func(r registrationJSON) bool { return strings.HasPrefix(r.CreatedDate, day) }},
		{"createdDate month", url.Values{"createdDate": {month}}, func(r registrationJSON) bool { return strings.HasPrefix(r.CreatedDate, month) }},
		// The range syntax "from,to" is UNCERTAIN (providers.md §3.3, Date Filtering page not retrieved).
		{"createdDate range", url.Values{"createdDate": {month + "-01," + day}}, func(r registrationJSON) bool {
			return r.CreatedDate >= month+"-01" && r.CreatedDate[:10] <= day
		}},
		{"endDate open-ended range", url.Values{"endDate": {day + ","}}, func(r registrationJSON) bool { return r.EndDate != "" && r.EndDate[:10] >= day }},
		{"beginDate up to", url.Values{"beginDate": {"," + day}}, func(r registrationJSON) bool { return r.BeginDate != "" && r.BeginDate[:10] <= day }},
		{"lastActiveDate year", url.Values{"lastActiveDate": {created[:4]}}, func(r registrationJSON) bool {
			return strings.HasPrefix(r.LastActiveDate, created[:4])
		}},
		{"endDate and status active match nothing", url.Values{"endDate": {"2000,2100"}, "status": {"active"}}, func(registrationJSON) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for _, r := range all {
				if c.keep(r) {
					want = append(want, r.ID)
				}
			}
			c.query.Set("limit", "4") // several pages, so filtering and paging combine
			got := ids(f.walk(t, "/registrations?"+c.query.Encode()))
			if !slices.Equal(got, want) {
				t.Fatalf("got %d ids, want %d\n got %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}

	bad := []struct{ name, query, field string }{
		// providers.md §3.4: 400 with fieldErrors naming the parameter.
		{"unknown status", "status=done", "status"},
		{"not a date", "createdDate=yesterday", "createdDate"},
		{"reversed range", "endDate=2026-02-01,2026-01-01", "endDate"},
		{"empty range", "beginDate=,", "beginDate"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			res := f.call(t, "GET", "/registrations?"+c.query, nil)
			if res.status != 400 || res.errors(t).FieldErrors[c.field] == "" {
				t.Fatalf("got %d %s, want 400 fieldErrors.%s", res.status, res.body, c.field)
			}
		})
	}
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestGetRegistration(t *testing.T) {
	f := setup(t, Config{})
	enrolled := f.find(t, "active and never begun", func(r *registration, _ *offering) bool { return r.status == statusActive && r.begin == 0 })
	inProgress := f.find(t, "active and begun", func(r *registration, _ *offering) bool { return r.status == statusActive && r.begin != 0 })
	graded := f.find(t, "graded by hand with a comment", func(r *registration, _ *offering) bool { return r.grader >= 0 && r.comment != "" })
	ejected := f.find(t, "ejected", func(r *registration, _ *offering) bool { return r.status == statusEjected })

	cases := []struct {
		name        string
		reg         *registration
		wantStatus  string
		present     []string
		absent      []string
		wantGraderI int32
	}{
		// providers.md §3.3: unset fields are omitted; an active registration has no endDate and no grade fields.
		{"active, not begun", enrolled, "active", []string{"id", "userId", "offeringId", "title", "status", "createdDate"},
			[]string{"beginDate", "lastActiveDate", "endDate", "grade", "graderId", "graderComment"}, -1},
		{"active, begun", inProgress, "active", []string{"beginDate", "lastActiveDate"}, []string{"endDate", "grade", "graderId"}, -1},
		// seed 000: a grade assigned by hand carries graderId and graderComment.
		{"graded by hand", graded, graded.status.String(), []string{"grade", "graderId", "graderComment", "endDate"}, nil, 0},
		// seed 000: ejected has no grade, and an endDate.
		{"ejected", ejected, "ejected", []string{"endDate"}, []string{"grade", "graderId"}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.call(t, "GET", "/registrations/"+c.reg.id.String(), nil)
			if res.status != 200 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var raw map[string]any
			res.json(t, &raw)
			for _, k := range c.present {
				if _, ok := raw[k]; !ok {
					t.Errorf("field %s missing: %s", k, res.body)
				}
			}
			for _, k := range c.absent {
				if _, ok := raw[k]; ok {
					t.Errorf("unset field %s present: %s", k, res.body)
				}
			}
			if raw["status"] != c.wantStatus {
				t.Errorf("status %v, want %s", raw["status"], c.wantStatus)
			}
			for _, k := range []string{"id", "userId", "offeringId"} {
				if s, _ := raw[k].(string); !hexID.MatchString(s) {
					t.Errorf("%s = %q, want 32 lowercase hex (providers.md §3.3)", k, s)
				}
			}
			for _, k := range []string{"createdDate", "beginDate", "lastActiveDate", "endDate"} {
				if s, ok := raw[k].(string); ok && !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(s) {
					t.Errorf("%s = %q, want 2012-03-01T06:03:10Z form", k, s)
				}
			}
			if c.wantGraderI >= 0 && raw["graderId"] != f.userID(c.wantGraderI) {
				t.Errorf("graderId %v, want the API account", raw["graderId"])
			}
		})
	}

	missing := []struct{ name, id string }{
		// providers.md §3.3: unknown or invalid id → 404.
		{"unknown", strings.Repeat("0", 32)},
		{"upper case", strings.ToUpper(enrolled.id.String())},
		{"too short", enrolled.id.String()[:31]},
		{"not hex", strings.Repeat("z", 32)},
	}
	for _, c := range missing {
		t.Run("404 "+c.name, func(t *testing.T) {
			res := f.call(t, "GET", "/registrations/"+c.id, nil)
			if res.status != 404 || len(res.errors(t).Errors) == 0 {
				t.Fatalf("got %d %s, want 404 errors[]", res.status, res.body)
			}
		})
	}
}

func TestUsersAndOfferings(t *testing.T) {
	f := setup(t, Config{})
	closedOI, _ := f.findOffering(t, "closed for registration", func(_ int32, o *offering) bool { return !o.registrationOpen(testNow.Unix()) })
	openOI, open := f.findOffering(t, "open", func(_ int32, o *offering) bool { return o.registrationOpen(testNow.Unix()) })
	active := f.find(t, "active in an open offering", func(r *registration, o *offering) bool {
		return r.status == statusActive && o.registrationOpen(testNow.Unix())
	})

	t.Run("users list and item", func(t *testing.T) {
		// providers.md §3.5: /users returns results of users with id, firstName, lastName, username.
		res := f.call(t, "GET", "/users?limit=100", nil)
		var p struct {
			Results []userJSON `json:"results"`
			Next    string     `json:"next"`
		}
		res.json(t, &p)
		if res.status != 200 || len(p.Results) != 60 || p.Next != "" {
			t.Fatalf("got %d, %d users, next %q", res.status, len(p.Results), p.Next)
		}
		u := p.Results[3]
		if u.FirstName == "" || u.LastName == "" || u.Username == "" || !hexID.MatchString(u.ID) {
			t.Fatalf("incomplete user %+v", u)
		}
		var one userJSON
		f.call(t, "GET", "/users/"+u.ID, nil).json(t, &one)
		if one != u {
			t.Fatalf("item %+v differs from list %+v", one, u)
		}
		if res := f.call(t, "GET", "/users/"+strings.Repeat("1", 32), nil); res.status != 404 {
			t.Fatalf("unknown user: %d", res.status)
		}
		if res := f.call(t, "GET", "/users/?limit=2", nil); res.status != 200 {
			t.Fatalf("trailing slash form of the docs' example: %d", res.status)
		}
	})

	cases := []struct {
		name  string
		query url.Values
		want  func(oi int32, o *offering) bool
	}{
		// providers.md §3.5: title is a case-insensitive substring.
		{"title", url.Values{"title": {strings.ToUpper(open.title[:6])}}, func(_ int32, o *offering) bool {
			return strings.Contains(strings.ToLower(o.title), strings.ToLower(open.title[:6]))
		}},
		// providers.md §3.5: userId/studentId lists only offerings open for registration for that user.
		{"userId", url.Values{"userId": {f.userID(active.user)}}, func(oi int32, o *offering) bool {
			return f.sim.available(active.user, oi, testNow.Unix())
		}},
		{"studentId", url.Values{"studentId": {f.userID(active.user)}}, func(oi int32, o *offering) bool {
			return f.sim.available(active.user, oi, testNow.Unix())
		}},
		{"tag", url.Values{"tag": {open.tags[0]}}, func(_ int32, o *offering) bool { return slices.Contains(o.tags, open.tags[0]) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for i := range f.sim.offerings {
				if c.want(int32(i), &f.sim.offerings[i]) {
					want = append(want, f.offeringID(int32(i)))
				}
			}
			c.query.Set("limit", "100")
			var p struct {
				Results []offeringJSON `json:"results"`
			}
			f.call(t, "GET", "/offerings?"+c.query.Encode(), nil).json(t, &p)
			var got []string
			for _, o := range p.Results {
				got = append(got, o.ID)
			}
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("got %v, want %v (non-empty)", got, want)
			}
		})
	}
	t.Run("userId excludes the active offering and closed ones", func(t *testing.T) {
		var p struct {
			Results []offeringJSON `json:"results"`
		}
		f.call(t, "GET", "/offerings?limit=100&userId="+f.userID(active.user), nil).json(t, &p)
		for _, o := range p.Results {
			if o.ID == f.offeringID(active.offering) || o.ID == f.offeringID(closedOI) {
				t.Fatalf("offering %s listed as open to the user", o.ID)
			}
		}
	})
	t.Run("offering item", func(t *testing.T) {
		var o map[string]any
		res := f.call(t, "GET", "/offerings/"+f.offeringID(openOI), nil)
		res.json(t, &o)
		for _, k := range []string{"id", "title", "createdDate", "beginDate", "registrationBeginDate", "catalogDescription", "price", "tags"} {
			if _, ok := o[k]; !ok {
				t.Errorf("offering lacks %s (providers.md §3.5): %s", k, res.body)
			}
		}
		for _, k := range []string{"passingGrade", "allowRetake"} {
			if _, ok := o[k]; ok {
				t.Errorf("offering shows undocumented %s", k)
			}
		}
		if res := f.call(t, "GET", "/offerings/nope", nil); res.status != 404 {
			t.Fatalf("malformed offering id: %d", res.status)
		}
	})
}

func TestUnsupportedMethodsAndPaths(t *testing.T) {
	f := setup(t, Config{})
	id := f.sim.EnrollmentIDs()[0]
	cases := []struct {
		name, method, path string
		want               int
	}{
		// providers.md §3.3: there is no DELETE for registrations.
		{"delete registration", "DELETE", "/registrations/" + id, 405},
		{"put collection", "PUT", "/registrations", 405},
		{"post users", "POST", "/users", 405},
		{"unknown resource", "GET", "/courses", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.call(t, c.method, c.path, nil)
			if res.status != c.want || len(res.errors(t).Errors) == 0 {
				t.Fatalf("got %d %s, want %d errors[]", res.status, res.body, c.want)
			}
		})
	}
	if got := f.getReg(t, id); got.ID != id {
		t.Fatal("DELETE removed the registration")
	}
}
