package canvassim

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestIncludes(t *testing.T) {
	s, base := startSim(t, Config{Seed: 6})
	student := fixture(s, func(st *store, e *enrollment) bool {
		return e.typ == studentEnrollment && e.state == stateActive && e.currentScore != noScore
	})
	list := base + "/api/v1/users/" + strconv.FormatInt(s.userID(student), 10) + "/enrollments?type[]=StudentEnrollment&per_page=100"
	cases := []struct {
		name    string
		include string
		check   func(row map[string]any) bool
		// honoured: whether asking makes check true (never without asking)
		honoured bool
	}{
		// seed 004: include[]=avatar_url goes on the user record.
		{"avatar_url", "avatar_url", func(row map[string]any) bool { return row["user"].(map[string]any)["avatar_url"] != nil }, true},
		// seed 004: include[]=current_points adds points to grades (and
		// unposted points for graders, providers.md §1.4).
		{"current_points", "current_points", func(row map[string]any) bool {
			g := row["grades"].(map[string]any)
			return g["current_points"] != nil && g["unposted_current_points"] != nil
		}, true},
		// lib/api/v1/user.rb: enrollment_json passes only avatar_url (and
		// group_ids) to the user summary, so include[]=email adds nothing.
		{"email never on enrollments", "email", func(row map[string]any) bool {
			_, ok := row["user"].(map[string]any)["email"]
			return ok
		}, false},
		// providers.md §1.4 optional includes.
		{"can_be_removed", "can_be_removed", func(row map[string]any) bool { return row["can_be_removed"] == true }, true},
		{"locked", "locked", func(row map[string]any) bool { return row["locked"] == false }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, with := range []bool{false, true} {
				u := list
				if with {
					u += "&include[]=" + tc.include
				}
				var rows []map[string]any
				send(t, "GET", u, nil).json(t, &rows)
				var row map[string]any
				for _, r := range rows {
					if int64(r["id"].(float64)) == student.id {
						row = r
					}
				}
				if row == nil {
					t.Fatal("fixture row not listed")
				}
				if tc.check(row) != (with && tc.honoured) {
					t.Fatalf("include=%v: %v", with, row)
				}
			}
		})
	}
}

func TestUsersRouteEmail(t *testing.T) {
	_, base := startSim(t, Config{Seed: 6})
	cases := []struct {
		query string
		want  bool
	}{
		// lib/api/v1/user.rb user_json: email with include[]=email for an
		// admin (read_email_addresses), never otherwise.
		{"", false},
		{"?include[]=email", true},
	}
	for _, tc := range cases {
		var users []map[string]any
		send(t, "GET", base+"/api/v1/accounts/1/users"+tc.query, nil).json(t, &users)
		if len(users) == 0 {
			t.Fatal("no users")
		}
		for _, u := range users {
			if _, ok := u["email"]; ok != tc.want {
				t.Fatalf("%q: user %v", tc.query, u)
			}
		}
	}
}

// TestConcurrentRequests reads, writes and mutates at once; run with -race
// it proves the data is guarded.
func TestConcurrentRequests(t *testing.T) {
	s, base := startSim(t, Config{Seed: 13, Users: 300, Courses: 4, Enrollments: 800})
	// t.Fatal must not run off the test goroutine, so workers only report.
	do := func(method, u string, body url.Values) {
		req, _ := http.NewRequest(method, u, strings.NewReader(body.Encode()))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s %s: %d", method, u, res.StatusCode)
		}
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				switch g % 3 {
				case 0:
					do("GET", base+"/api/v1/courses/10002/enrollments?per_page=50&page=first", nil)
				case 1:
					do("POST", base+"/api/v1/courses/10001/enrollments", url.Values{"enrollment[user_id]": {userN(g*20 + i)}})
				case 2:
					if _, err := s.Mutate(3, uint64(g*100+i)); err != nil {
						t.Error(err)
					}
					do("GET", fmt.Sprintf("%s/api/v1/accounts/1/enrollments/%d", base, enrollmentIDBase+i), nil)
				}
			}
		}()
	}
	wg.Wait()
	if got := len(s.EnrollmentIDs()); got != s.Counts()["enrollments"] {
		t.Fatalf("%d ids, counts %v", got, s.Counts())
	}
}
