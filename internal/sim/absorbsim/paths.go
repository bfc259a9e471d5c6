package absorbsim

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Op names one vendor operation; handlers are bound to ops, and ops to
// paths through the route table.
type Op string

// Route is where the simulator serves an operation. Status records how sure
// the reference is of the path (providers.md §2.3).
type Route struct {
	Op     Op
	Method string
	Path   string // a net/http pattern path; wildcards keep these names
	Status string
}

// The operations of seed 003, numbered as in providers.md §2.3, plus the
// authentication and the user and course lists a client walks first.
const (
	OpAuthenticate            Op = "Authenticate"
	OpListUsers               Op = "ListUsers"
	OpGetUser                 Op = "GetUser"
	OpListCourses             Op = "ListCourses"
	OpGetCourse               Op = "GetCourse"
	OpListUserEnrollments     Op = "ListUserEnrollments"     // 1
	OpListCourseEnrollments   Op = "ListCourseEnrollments"   // 2
	OpGetUserCourseEnrollment Op = "GetUserCourseEnrollment" // 3
	OpCreateEnrollment        Op = "CreateEnrollment"        // 4
	OpCreateOrUpdate          Op = "CreateOrUpdateEnrollment"
	OpGetEnrollment           Op = "GetEnrollment"
	OpUnenroll                Op = "Unenroll"
	OpBulkEnrollments         Op = "ListEnrollmentsForUsers"
	OpListUserSessions        Op = "ListUserSessionEnrollments"
	OpGetUserSession          Op = "GetUserSessionEnrollment"
	OpCreateILCEnrollment     Op = "CreateILCEnrollment"
	OpListSessionEnrollments  Op = "ListSessionEnrollments"
	OpListChapters            Op = "ListChapterEnrollments"
	OpGetChapter              Op = "GetChapterEnrollment"
	OpListLessonEnrollments   Op = "ListLessonEnrollments"
	OpGetChapterLesson        Op = "GetChapterLessonEnrollment"
	OpListUserLessons         Op = "ListUserLessonEnrollments"
	OpGetUserLesson           Op = "GetUserLessonEnrollment"
	OpListChapterLessons      Op = "ListChapterLessonEnrollments"
	OpListAttempts            Op = "ListLessonAttempts"
	OpStartAttempt            Op = "StartLessonAttempt"
	OpFinishAttempt           Op = "FinishAttempt"
	OpFinishUserAttempt       Op = "FinishUserLessonAttempt"
	OpGetMyEnrollment         Op = "GetMyEnrollment"
	OpCreateMyEnrollment      Op = "CreateMyEnrollment"
	OpListMyEnrollments       Op = "ListMyEnrollments"
)

// DefaultRoutes is the path table of providers.md §2.3. Most paths are
// guesses from the pattern of the few confirmed ones: correct them here (or
// through Config.Routes) once the real OpenAPI file is at hand.
func DefaultRoutes() []Route {
	const guess = "UNCERTAIN (providers.md §2.3 pattern guess)"
	return []Route{
		{OpAuthenticate, "POST", "/authenticate", "VERIFIED [A7] (providers.md §2.2)"},
		{OpListUsers, "GET", "/users", "UNCERTAIN (not in seed 003; v1.5 API family pattern [A7])"},
		{OpGetUser, "GET", "/users/{userId}", "UNCERTAIN (not in seed 003; v1.5 API family pattern [A7])"},
		{OpListCourses, "GET", "/courses", "UNCERTAIN (not in seed 003; v1.5 API family pattern [A7])"},
		{OpGetCourse, "GET", "/courses/{courseId}", "UNCERTAIN (not in seed 003; v1.5 API family pattern [A7])"},
		{OpListUserEnrollments, "GET", "/users/{userId}/enrollments", "VERIFIED [A7], VERIFIED-2 [A9]"},
		{OpListCourseEnrollments, "GET", "/courses/{courseId}/enrollments", "VERIFIED-2 [A9]"},
		{OpGetUserCourseEnrollment, "GET", "/users/{userId}/enrollments/{courseId}", "VERIFIED-2 [A9]"},
		{OpCreateEnrollment, "POST", "/users/{userId}/enrollments/{courseId}", guess},
		{OpCreateOrUpdate, "POST", "/users/{userId}/enrollments", guess},
		{OpGetEnrollment, "GET", "/enrollments/{id}", guess},
		{OpUnenroll, "POST", "/enrollments/unenroll", "UNCERTAIN (weak hint [A11])"},
		{OpBulkEnrollments, "GET", "/enrollments", guess},
		{OpListUserSessions, "GET", "/users/{userId}/enrollments/{courseId}/sessions", guess},
		{OpGetUserSession, "GET", "/users/{userId}/enrollments/{courseId}/sessions/{sessionId}", guess},
		{OpCreateILCEnrollment, "POST", "/users/{userId}/enrollments/{courseId}/sessions/{sessionId}", guess},
		{OpListSessionEnrollments, "GET", "/instructor-led-courses/{courseId}/sessions/{sessionId}/enrollments", guess},
		{OpListChapters, "GET", "/users/{userId}/enrollments/{courseId}/chapters", guess},
		{OpGetChapter, "GET", "/users/{userId}/enrollments/{courseId}/chapters/{chapterId}", guess},
		{OpListLessonEnrollments, "GET", "/courses/{courseId}/lessons/{lessonId}/enrollments", guess},
		{OpGetChapterLesson, "GET", "/users/{userId}/enrollments/{courseId}/chapters/{chapterId}/lessons/{lessonId}", guess},
		{OpListUserLessons, "GET", "/users/{userId}/enrollments/{courseId}/lessons", guess},
		{OpGetUserLesson, "GET", "/users/{userId}/enrollments/{courseId}/lessons/{lessonId}", guess},
		{OpListChapterLessons, "GET", "/users/{userId}/enrollments/{courseId}/chapters/{chapterId}/lessons", guess},
		{OpListAttempts, "GET", "/users/{userId}/enrollments/{courseId}/lessons/{lessonId}/attempts", guess},
		{OpStartAttempt, "POST", "/users/{userId}/enrollments/{courseId}/lessons/{lessonId}/attempts", guess},
		{OpFinishAttempt, "PUT", "/attempts/{attemptId}", "UNCERTAIN (path and method)"},
		{OpFinishUserAttempt, "PUT", "/users/{userId}/enrollments/{courseId}/lessons/{lessonId}/attempts/{attemptId}", guess},
		{OpGetMyEnrollment, "GET", "/my-enrollments/{courseId}", "UNCERTAIN (my-… prefix hinted by [A11])"},
		{OpCreateMyEnrollment, "POST", "/my-enrollments/{courseId}", "UNCERTAIN (my-… prefix hinted by [A11])"},
		{OpListMyEnrollments, "GET", "/my-enrollments", "UNCERTAIN (my-… prefix hinted by [A11])"},
	}
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

func wildcards(path string) []string {
	w := wildcard.FindAllString(path, -1)
	slices.Sort(w)
	return w
}

// checkRoutes makes sure a replaced table still names every operation once
// and keeps the path wildcards the handlers read.
func checkRoutes(routes []Route) error {
	defaults := map[Op]Route{}
	for _, r := range DefaultRoutes() {
		defaults[r.Op] = r
	}
	seen := map[Op]bool{}
	for _, r := range routes {
		def, ok := defaults[r.Op]
		switch {
		case !ok:
			return fmt.Errorf("route table: unknown operation %q", r.Op)
		case seen[r.Op]:
			return fmt.Errorf("route table: operation %q listed twice", r.Op)
		case !strings.HasPrefix(r.Path, "/") || strings.HasPrefix(r.Path, "/_sim/"):
			return fmt.Errorf("route table: %s path %q must start with / and stay out of /_sim/", r.Op, r.Path)
		case !slices.Equal(wildcards(r.Path), wildcards(def.Path)):
			return fmt.Errorf("route table: %s path %q must use the wildcards %v", r.Op, r.Path, wildcards(def.Path))
		}
		seen[r.Op] = true
	}
	if len(seen) != len(defaults) {
		return fmt.Errorf("route table: %d of %d operations listed", len(seen), len(defaults))
	}
	return nil
}

// authedHandler is a vendor handler that runs after the key and token checks.
type authedHandler func(w http.ResponseWriter, r *http.Request, me *user)

func (s *Sim) handlers() map[Op]authedHandler {
	return map[Op]authedHandler{
		OpListUsers:               s.listUsers,
		OpGetUser:                 s.getUser,
		OpListCourses:             s.listCourses,
		OpGetCourse:               s.getCourse,
		OpListUserEnrollments:     s.listUserEnrollments,
		OpListCourseEnrollments:   s.listCourseEnrollments,
		OpGetUserCourseEnrollment: s.getUserCourseEnrollment,
		OpCreateEnrollment:        s.createEnrollment,
		OpCreateOrUpdate:          s.createOrUpdateEnrollment,
		OpGetEnrollment:           s.getEnrollment,
		OpUnenroll:                s.unenroll,
		OpBulkEnrollments:         s.bulkEnrollments,
		OpListUserSessions:        s.listUserSessions,
		OpGetUserSession:          s.getUserSession,
		OpCreateILCEnrollment:     s.createILCEnrollment,
		OpListSessionEnrollments:  s.listSessionEnrollments,
		OpListChapters:            s.listChapters,
		OpGetChapter:              s.getChapter,
		OpListLessonEnrollments:   s.listLessonEnrollments,
		OpGetChapterLesson:        s.getChapterLesson,
		OpListUserLessons:         s.listUserLessons,
		OpGetUserLesson:           s.getUserLesson,
		OpListChapterLessons:      s.listChapterLessons,
		OpListAttempts:            s.listAttempts,
		OpStartAttempt:            s.startAttempt,
		OpFinishAttempt:           s.finishAttempt,
		OpFinishUserAttempt:       s.finishUserAttempt,
		OpGetMyEnrollment:         s.getMyEnrollment,
		OpCreateMyEnrollment:      s.createMyEnrollment,
		OpListMyEnrollments:       s.listMyEnrollments,
	}
}

// routes registers the route table on mux. Every route checks x-api-key;
// every route but /authenticate also needs a token.
func (s *Sim) routes(mux *http.ServeMux) {
	hs := s.handlers()
	for _, rt := range s.cfg.Routes {
		pattern := rt.Method + " " + rt.Path
		if rt.Op == OpAuthenticate {
			mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
				if s.checkKey(w, r) {
					s.authenticate(w, r)
				}
			})
			continue
		}
		h := hs[rt.Op]
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !s.checkKey(w, r) {
				return
			}
			me, ok := s.caller(w, r)
			if !ok {
				return
			}
			// Handlers render while they hold the data lock; buffering the
			// answer sends it after the lock is released, so a slow client
			// never holds up writers.
			buf := &bufferedResponse{header: w.Header()}
			h(buf, r, me)
			buf.flush(w)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		notFound(w, "The resource "+r.Method+" "+r.URL.Path)
	})
}

// bufferedResponse holds an answer until the handler has returned.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) flush(w http.ResponseWriter) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
