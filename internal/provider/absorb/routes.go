package absorb

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// route is one Absorb operation: its HTTP method and path template. Path
// parameters are written {name} and filled path-escaped.
type route struct {
	Method string
	Path   string
}

func (r route) String() string { return r.Method + " " + r.Path }

// routeSpec documents where a route's default comes from.
type routeSpec struct {
	Name    string
	Default route
	// Source cites providers.md; every route that is not VERIFIED there can
	// be overridden with the setting "path_<Name>".
	Source string
}

// The route names the connector calls.
const (
	routeAuthenticate      = "authenticate"
	routeCourses           = "courses"
	routeUsers             = "users"
	routeCourseEnrollments = "course_enrollments"
	routeEnrollmentGet     = "enrollment_get"
	routeEnroll            = "enroll"
	routeEnrollmentUpsert  = "enrollment_upsert"
	routeUnenroll          = "unenroll"
	routeSessionEnroll     = "session_enroll"
	routeAttemptStart      = "attempt_start"
	routeAttemptFinish     = "attempt_finish"
)

// routeTable is the one table of every path the connector calls. Seed 003
// lists the operations without URLs and providers.md §2.3 could confirm only a
// few, so each one is a setting ("path_<name>", value "METHOD /path") that an
// operator corrects from the tenant's OpenAPI file without a new release.
func routeTable() []routeSpec {
	return []routeSpec{
		{routeAuthenticate, route{"POST", "/authenticate"}, "providers.md §2.2, VERIFIED"},
		{routeCourses, route{"GET", "/courses"}, "course catalogue, paged like every v2 list (§2.5); path not in seed 003, UNCERTAIN"},
		{routeUsers, route{"GET", "/users"}, "user list, paged (§2.5); path not in seed 003, UNCERTAIN"},
		{routeCourseEnrollments, route{"GET", "/courses/{courseId}/enrollments"}, "§2.3 #2, VERIFIED-2"},
		{routeEnrollmentGet, route{"GET", "/enrollments/{id}"}, "§2.3 #6, UNCERTAIN"},
		{routeEnroll, route{"POST", "/users/{userId}/enrollments/{courseId}"}, "§2.3 #4, UNCERTAIN"},
		{routeEnrollmentUpsert, route{"POST", "/users/{userId}/enrollments"}, "§2.3 #5, UNCERTAIN"},
		{routeUnenroll, route{"POST", "/enrollments/unenroll"}, "§2.3 #7, UNCERTAIN"},
		{routeSessionEnroll, route{"POST", "/users/{userId}/enrollments/{courseId}/sessions/{sessionId}"}, "§2.3 #11, UNCERTAIN"},
		{routeAttemptStart, route{"POST", "/users/{userId}/enrollments/{courseId}/lessons/{lessonId}/attempts"}, "§2.3 #21, UNCERTAIN"},
		{routeAttemptFinish, route{"PUT", "/attempts/{attemptId}"}, "§2.3 #22, UNCERTAIN (method too)"},
	}
}

var placeholderPattern = regexp.MustCompile(`\{([A-Za-z]+)\}`)

func placeholders(path string) []string {
	var names []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(path, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return names
}

// parseRoute reads an override "METHOD /path" and checks that it keeps the
// placeholders of the default, so a typo fails at connection time and not in
// the middle of a sync.
func parseRoute(value string, def route) (route, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(value), " ")
	path = strings.TrimSpace(path)
	if !ok || !strings.HasPrefix(path, "/") {
		return route{}, fmt.Errorf("must be \"METHOD /path\", e.g. %q", def.String())
	}
	method = strings.ToUpper(method)
	if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, method) {
		return route{}, fmt.Errorf("unknown HTTP method %q", method)
	}
	if got, want := placeholders(path), placeholders(def.Path); !slices.Equal(got, want) {
		return route{}, fmt.Errorf("path must use the placeholders {%s}, got {%s}", strings.Join(want, "}, {"), strings.Join(got, "}, {"))
	}
	return route{Method: method, Path: path}, nil
}

// expand fills the path parameters of r.
func (r route) expand(params map[string]string) string {
	return placeholderPattern.ReplaceAllStringFunc(r.Path, func(m string) string {
		return url.PathEscape(params[m[1:len(m)-1]])
	})
}
