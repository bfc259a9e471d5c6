package app_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// walkPeople pages through a users or courses list and returns the ids.
func walkPeople(t *testing.T, s *server, path string, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		m := want(t, s.do("GET", path+"?"+q.Encode(), s.ReadKey, nil), 200)
		for _, d := range m["data"].([]any) {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		cursor, _ = m["next_cursor"].(string)
		if cursor == "" {
			return ids
		}
		if pages > 100 {
			t.Fatal("the walk does not end")
		}
	}
}

func TestUsersAndCoursesLists(t *testing.T) {
	s := startServer(t)
	a := s.connect(t, canvasConnection("a"))
	b := s.connect(t, canvasConnection("b"))
	ctx := context.Background()
	var users []lms.User
	var courses []lms.Course
	var wantUsers, wantCourses []string
	for i := 0; i < 23; i++ {
		id := fmt.Sprintf("u%02d", i)
		users = append(users, lms.User{ID: id, Name: "Learner " + id, Emails: []lms.Email{{Email: id + "@example.com"}}})
		wantUsers = append(wantUsers, id)
	}
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("c%d", i)
		courses = append(courses, lms.Course{ID: id, Title: "Course " + id})
		wantCourses = append(wantCourses, id)
	}
	err := s.App.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.UserUpsertMany(ctx, a, users); err != nil {
			return err
		}
		if err := tx.UserUpsertMany(ctx, b, []lms.User{{ID: "other", Name: "Elsewhere"}}); err != nil {
			return err
		}
		return tx.CourseUpsertMany(ctx, a, courses)
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		list  string
		limit int
		want  []string
	}{
		{"users", 1, wantUsers}, {"users", 5, wantUsers}, {"users", 1000, wantUsers},
		{"courses", 3, wantCourses}, {"courses", 50, wantCourses},
	} {
		got := walkPeople(t, s, "/v1/connections/"+a+"/"+tc.list, tc.limit)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s limit %d: %v, want %v", tc.list, tc.limit, got, tc.want)
		}
	}
	first := want(t, s.do("GET", "/v1/connections/"+a+"/users?limit=1", s.ReadKey, nil), 200)
	if u := first["data"].([]any)[0].(map[string]any); u["name"] != "Learner u00" || !strings.Contains(fmt.Sprint(u["emails"]), "u00@example.com") {
		t.Fatalf("user shape: %v", u)
	}
	if got := walkPeople(t, s, "/v1/connections/"+b+"/courses", 10); len(got) != 0 {
		t.Fatalf("connection b has courses %v", got)
	}
	empty := want(t, s.do("GET", "/v1/connections/"+b+"/courses", s.ReadKey, nil), 200)
	if data, ok := empty["data"].([]any); !ok || len(data) != 0 {
		t.Fatalf("an empty list is not an empty array: %v", empty)
	}

	cursor := first["next_cursor"].(string)
	for _, sc := range []scenario{
		{method: "GET", path: "/v1/connections/con_nope/users", key: "ro", wantStatus: 404, wantType: "not-found"},
		{method: "GET", path: "/v1/connections/con_nope/courses", key: "ro", wantStatus: 404, wantType: "not-found"},
		{method: "GET", path: "/v1/connections/" + a + "/users", wantStatus: 401, wantType: "unauthenticated"},
		{method: "GET", path: "/v1/connections/" + a + "/users?cursor=junk", key: "ro", wantStatus: 400, wantContain: []string{"query.cursor"}},
		{method: "GET", path: "/v1/connections/" + a + "/courses?cursor=" + cursor, key: "ro", wantStatus: 400, wantContain: []string{"another list"}},
		{method: "GET", path: "/v1/connections/" + b + "/users?cursor=" + cursor, key: "ro", wantStatus: 400, wantContain: []string{"another list"}},
		{method: "GET", path: "/v1/connections/" + a + "/users?limit=0", key: "ro", wantStatus: 400},
	} {
		t.Run(sc.path, func(t *testing.T) { s.run(t, sc) })
	}
}
