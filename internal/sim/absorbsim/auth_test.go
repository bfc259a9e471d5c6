package absorbsim

import (
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

func TestAPIKeyAndTokenChecks(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	key := h.sim.cfg.APIKey
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		// providers.md §2.1: a missing or invalid x-api-key is a 401.
		{"no api key", map[string]string{"Authorization": "Bearer " + h.token}, 401},
		{"wrong api key", map[string]string{"x-api-key": "00000000-0000-4000-8000-000000000000", "Authorization": "Bearer " + h.token}, 401},
		// providers.md §2.2: Bearer (OAuth docs [A5]) and bare (v1.5 client [A8]) both work.
		{"bearer token", map[string]string{"x-api-key": key, "Authorization": "Bearer " + h.token}, 200},
		{"bare token", map[string]string{"x-api-key": key, "Authorization": h.token}, 200},
		{"api key is case-insensitive GUID", map[string]string{"x-api-key": strings.ToUpper(key), "Authorization": h.token}, 200},
		// providers.md §2.7: a missing or unknown token is a 401 (UNCERTAIN status).
		{"no token", map[string]string{"x-api-key": key}, 401},
		{"unknown token", map[string]string{"x-api-key": key, "Authorization": "Bearer nope"}, 401},
		// providers.md §2.1: x-api-version 2 is the only version served.
		{"other api version", map[string]string{"x-api-key": key, "x-api-version": "1", "Authorization": h.token}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw("GET", "/courses", nil, tc.headers)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want != 200 {
				r.errorBody(t)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	cfg := h.sim.cfg
	tests := []struct {
		name string
		key  string
		body any
		want int
	}{
		// providers.md §2.2: 200 with the token as a bare JSON string.
		{"valid", cfg.APIKey, map[string]string{"username": "admin", "password": cfg.Password, "privateKey": cfg.APIKey}, 200},
		{"username is case-insensitive", cfg.APIKey, map[string]string{"username": "ADMIN", "password": cfg.Password, "privateKey": cfg.APIKey}, 200},
		// providers.md §2.2: 400 when body params are missing.
		{"missing password", cfg.APIKey, map[string]string{"username": "admin", "privateKey": cfg.APIKey}, 400},
		{"missing private key", cfg.APIKey, map[string]string{"username": "admin", "password": cfg.Password}, 400},
		{"not json", cfg.APIKey, "{", 400},
		// Wrong password → 401 is UNCERTAIN (providers.md §2.2 lists 200/400/403 only).
		{"wrong password", cfg.APIKey, map[string]string{"username": "admin", "password": "x", "privateKey": cfg.APIKey}, 401},
		{"unknown user", cfg.APIKey, map[string]string{"username": "nobody", "password": cfg.Password, "privateKey": cfg.APIKey}, 401},
		{"private key differs from api key", cfg.APIKey, map[string]string{"username": "admin", "password": cfg.Password, "privateKey": "00000000-0000-4000-8000-000000000000"}, 401},
		// providers.md §2.1: x-api-key on every call, /authenticate included.
		{"no api key header", "", map[string]string{"username": "admin", "password": cfg.Password, "privateKey": cfg.APIKey}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{}
			if tc.key != "" {
				headers["x-api-key"] = tc.key
			}
			r := h.raw("POST", "/authenticate", tc.body, headers)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want == 200 {
				var tok string
				r.decode(t, &tok)
				if len(tok) < 20 {
					t.Fatalf("token %q is not a bare JSON string token", r.body)
				}
				return
			}
			r.errorBody(t)
		})
	}
}

func TestTokenRevocationAndExpiry(t *testing.T) {
	t.Parallel()
	clock := simkit.NewFixedClock(testNow)
	h := setup(t, Config{Clock: clock})
	get := func(tok string) int {
		return h.raw("GET", "/courses", nil, map[string]string{"x-api-key": h.sim.cfg.APIKey, "Authorization": "Bearer " + tok}).status
	}
	first := h.token
	// providers.md §2.2: a new /authenticate token revokes the user's previous one.
	second := h.login("admin")
	if got := get(first); got != 401 {
		t.Fatalf("superseded token: %d, want 401", got)
	}
	if got := get(second); got != 200 {
		t.Fatalf("new token: %d, want 200", got)
	}
	// Another user's login does not revoke admin's token.
	var users userPage
	h.token = second
	h.must(200, "GET", "/users?_limit=5", nil).decode(t, &users)
	h.login(users.Users[1].Username)
	if got := get(second); got != 200 {
		t.Fatalf("other user's login revoked admin's token: %d", got)
	}
	// providers.md §2.2: tokens live 4 hours; the admin API moves the clock.
	clock.Advance(4*time.Hour - time.Second)
	if got := get(second); got != 200 {
		t.Fatalf("token just before expiry: %d, want 200", got)
	}
	r := h.raw("POST", "/_sim/clock", `{"advance":"1s"}`, nil)
	if r.status != 200 {
		t.Fatalf("advance clock: %d %s", r.status, r.body)
	}
	if got := get(second); got != 401 {
		t.Fatalf("expired token: %d, want 401", got)
	}
}

func TestMyEnrollmentsActAsTheCaller(t *testing.T) {
	t.Parallel()
	h := setup(t, Config{})
	var users userPage
	h.must(200, "GET", "/users?_limit=10", nil).decode(t, &users)
	learner := users.Users[3]
	h.token = h.login(learner.Username)
	// seed 003 "List currently authenticated user's course enrollments".
	mine := h.page("/my-enrollments?_limit=1000")
	theirs := h.page("/users/" + learner.ID + "/enrollments?_limit=1000")
	if mine.TotalItems == 0 || mine.TotalItems != theirs.TotalItems {
		t.Fatalf("my-enrollments has %d rows, the user's list %d", mine.TotalItems, theirs.TotalItems)
	}
	for _, e := range mine.Enrollments {
		if e.UserID != learner.ID {
			t.Fatalf("my-enrollments returned another user's row %s", e.ID)
		}
	}
	// seed 003 "Get currently authenticated user's course enrollment".
	var current courseEnrollmentJSON
	for _, e := range mine.Enrollments {
		if e.IsActive {
			current = e
			break
		}
	}
	var got courseEnrollmentJSON
	h.must(200, "GET", "/my-enrollments/"+current.CourseID, nil).decode(t, &got)
	if got.ID != current.ID {
		t.Fatalf("my enrollment %s, want %s", got.ID, current.ID)
	}
	// seed 003 "Create course enrollment for the currently authenticated user".
	enrolled := map[string]bool{}
	for _, e := range mine.Enrollments {
		enrolled[e.CourseID] = true
	}
	for _, c := range h.courses() {
		if enrolled[c.ID] {
			continue
		}
		var made createdJSON
		h.must(201, "POST", "/my-enrollments/"+c.ID, nil).decode(t, &made)
		if made.UserID != learner.ID || made.CourseID != c.ID {
			t.Fatalf("created %+v for the wrong user or course", made)
		}
		h.must(200, "GET", "/my-enrollments/"+c.ID, nil)
		return
	}
	t.Fatal("the learner is enrolled in every course")
}
