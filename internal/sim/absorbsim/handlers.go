package absorbsim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Read handlers hold Sim.mu for reading while they render, so a page is one
// consistent snapshot. A path id that is not a GUID is a 404, as an ASP.NET
// route with a {id:guid} constraint answers.

func pathGUID(r *http.Request, name string) (guid, bool) {
	return parseGUID(r.PathValue(name))
}

func (d *dataset) userAt(r *http.Request) *user {
	if id, ok := pathGUID(r, "userId"); ok {
		return d.usersByID[id]
	}
	return nil
}

func (d *dataset) courseAt(r *http.Request) *course {
	if id, ok := pathGUID(r, "courseId"); ok {
		return d.coursesByID[id]
	}
	return nil
}

// userAndCourse resolves {userId} and {courseId}, answering 404 otherwise.
func (d *dataset) userAndCourse(w http.ResponseWriter, r *http.Request) (*user, *course, bool) {
	u := d.userAt(r)
	if u == nil {
		notFound(w, "The user")
		return nil, nil, false
	}
	c := d.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return nil, nil, false
	}
	return u, c, true
}

// currentAt resolves the user's current enrollment in the path's course.
func (d *dataset) currentAt(w http.ResponseWriter, r *http.Request) (*enrollment, bool) {
	u, c, ok := d.userAndCourse(w, r)
	if !ok {
		return nil, false
	}
	e := u.currentIn(c)
	if e == nil {
		notFound(w, "The enrollment")
		return nil, false
	}
	return e, true
}

// queryFilters reads `status` and `modifiedSince` of a get-style operation,
// answering 400 when they are malformed.
func queryFilters(w http.ResponseWriter, r *http.Request) (int, int64, bool) {
	var status int
	var since int64
	if err := readQueryFilters(r.URL.Query(), &status, &since); err != nil {
		badRequest(w, "The query parameters are invalid.", err.Error())
		return 0, 0, false
	}
	return status, since, true
}

func readBool(w http.ResponseWriter, r *http.Request, name string) (bool, bool) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return false, true
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		badRequest(w, "The query parameters are invalid.", name+" must be true or false.")
		return false, false
	}
	return b, true
}

// --- users and courses ---

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request, _ *user) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.listError(w, err)
		return
	}
	p.status = -1 // an enrollment filter; users and courses have none
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, err := paginate(s.data.users, p, userFields(), func(*user) int8 { return -1 }, func(u *user) int64 { return u.dateEdited })
	if err != nil {
		s.listError(w, err)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, envelope(p, pg, "users", userView))
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.data.userAt(r)
	if u == nil {
		notFound(w, "The user")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, userView(u))
}

func (s *Sim) listCourses(w http.ResponseWriter, r *http.Request, _ *user) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.listError(w, err)
		return
	}
	p.status = -1 // an enrollment filter; users and courses have none
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, err := paginate(s.data.courses, p, courseFields(), func(*course) int8 { return -1 }, func(c *course) int64 { return c.dateEdited })
	if err != nil {
		s.listError(w, err)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, envelope(p, pg, "courses", courseView))
}

func (s *Sim) getCourse(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.data.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, courseView(c))
}

// --- course enrollments: reads ---

func enrollmentStatus(e *enrollment) int8  { return e.status }
func enrollmentEdited(e *enrollment) int64 { return e.dateEdited }

// writeEnrollmentPage answers a paged course-enrollment list (history rows
// included: they are part of the collection, told apart by isActive).
func (s *Sim) writeEnrollmentPage(w http.ResponseWriter, r *http.Request, rows []*enrollment) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.listError(w, err)
		return
	}
	pg, err := paginate(rows, p, enrollmentFields(), enrollmentStatus, enrollmentEdited)
	if err != nil {
		s.listError(w, err)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, envelope(p, pg, "enrollments", courseEnrollmentView))
}

func (s *Sim) listUserEnrollments(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.data.userAt(r)
	if u == nil {
		notFound(w, "The user")
		return
	}
	s.writeEnrollmentPage(w, r, u.enrollments)
}

func (s *Sim) listCourseEnrollments(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.data.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return
	}
	s.writeEnrollmentPage(w, r, c.enrollments)
}

func (s *Sim) listMyEnrollments(w http.ResponseWriter, r *http.Request, me *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.writeEnrollmentPage(w, r, me.enrollments)
}

// writeOne answers a get-style course-enrollment read; a row that does not
// match `status`/`modifiedSince` is a 404.
func writeOne(w http.ResponseWriter, r *http.Request, e *enrollment) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	if !matchesQueryFilters(status, since, e.status, e.dateEdited) {
		notFound(w, "The enrollment")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, courseEnrollmentView(e))
}

func (s *Sim) getUserCourseEnrollment(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e, ok := s.data.currentAt(w, r); ok {
		writeOne(w, r, e)
	}
}

func (s *Sim) getMyEnrollment(w http.ResponseWriter, r *http.Request, me *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.data.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return
	}
	e := me.currentIn(c)
	if e == nil {
		notFound(w, "The enrollment")
		return
	}
	writeOne(w, r, e)
}

func (s *Sim) getEnrollment(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, _ := pathGUID(r, "id")
	e := s.data.enrollments[id]
	if e == nil {
		notFound(w, "The enrollment")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, courseEnrollmentView(e))
}

// bulkEnrollments is "List course enrollments for bulk user list": a bare
// array of the rows matching userIds and courseIds (each repeatable or
// comma-separated, with or without []).
func (s *Sim) bulkEnrollments(w http.ResponseWriter, r *http.Request, _ *user) {
	q := r.URL.Query()
	readIDs := func(name string) ([]guid, []string) {
		var ids []guid
		var bad []string
		for _, raw := range append(q[name], q[name+"[]"]...) {
			for _, part := range strings.Split(raw, ",") {
				if part = strings.TrimSpace(part); part == "" {
					continue
				}
				if g, ok := parseGUID(part); ok {
					ids = append(ids, g)
				} else {
					bad = append(bad, name+": "+strconv.Quote(part)+" is not a GUID.")
				}
			}
		}
		return ids, bad
	}
	userIDs, badU := readIDs("userIds")
	courseIDs, badC := readIDs("courseIds")
	if bad := append(badU, badC...); len(bad) > 0 {
		badRequest(w, "The query parameters are invalid.", bad...)
		return
	}
	if len(userIDs) == 0 && len(courseIDs) == 0 {
		badRequest(w, "The query parameters are invalid.", "userIds or courseIds is required.")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wantCourse := map[guid]bool{}
	for _, id := range courseIDs {
		wantCourse[id] = true
	}
	out := []courseEnrollmentJSON{}
	if len(userIDs) > 0 {
		for _, id := range userIDs {
			if u := s.data.usersByID[id]; u != nil {
				for _, e := range u.enrollments {
					if len(wantCourse) == 0 || wantCourse[e.course.id] {
						out = append(out, courseEnrollmentView(e))
					}
				}
			}
		}
	} else {
		for _, id := range courseIDs {
			if c := s.data.coursesByID[id]; c != nil {
				for _, e := range c.enrollments {
					out = append(out, courseEnrollmentView(e))
				}
			}
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

// --- course enrollments: writes ---

type createdJSON struct {
	EnrollmentID string `json:"enrollmentId"`
	CourseID     string `json:"courseId"`
	UserID       string `json:"userId"`
}

func created(e *enrollment) createdJSON {
	return createdJSON{EnrollmentID: e.id.String(), CourseID: e.course.id.String(), UserID: e.user.id.String()}
}

// enrollOrReuse is the create semantics of seed 003 "Create enrollment for
// user and course": reEnroll=true keeps the current row as history and
// makes a new one; without reEnroll an existing current row is answered
// as is (UNCERTAIN, providers.md §5 q6: the vendor may answer 400 or 422).
func (d *dataset) enrollOrReuse(u *user, c *course, reEnroll bool, now int64) *enrollment {
	cur := u.currentIn(c)
	switch {
	case cur == nil:
		return d.enroll(u, c, now)
	case reEnroll:
		return d.reEnroll(cur, now)
	}
	return cur
}

func (s *Sim) createEnrollment(w http.ResponseWriter, r *http.Request, _ *user) {
	reEnroll, ok := readBool(w, r, "reEnroll")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, ok := s.data.userAndCourse(w, r)
	if !ok {
		return
	}
	simkit.WriteJSON(w, http.StatusCreated, created(s.data.enrollOrReuse(u, c, reEnroll, s.now())))
}

func (s *Sim) createMyEnrollment(w http.ResponseWriter, r *http.Request, me *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.data.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return
	}
	simkit.WriteJSON(w, http.StatusCreated, created(s.data.enrollOrReuse(me, c, false, s.now())))
}

// unenroll takes a JSON array of enrollment ids. It is all or nothing: any
// unknown id is a 422 naming each, and nothing changes. Un-enrolled rows
// vanish from every list and get (UNCERTAIN, providers.md §5 q3: they might
// stay with some status instead), and success is 204 (UNCERTAIN, §2.7: the
// seed shows only 400 and 422).
func (s *Sim) unenroll(w http.ResponseWriter, r *http.Request, _ *user) {
	var ids []string
	if err := decodeJSON(w, r, &ids); err != nil {
		badRequest(w, "The request body must be a JSON array of enrollment ids.", err.Error())
		return
	}
	if len(ids) == 0 {
		badRequest(w, "The request body must list at least one enrollment id.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows []*enrollment
	var problems []string
	for _, raw := range ids {
		g, ok := parseGUID(raw)
		e := s.data.enrollments[g]
		if !ok || e == nil {
			problems = append(problems, "Enrollment "+strconv.Quote(raw)+" was not found.")
			continue
		}
		rows = append(rows, e)
	}
	if len(problems) > 0 {
		unprocessable(w, "Some enrollments could not be un-enrolled.", problems...)
		return
	}
	for _, e := range rows {
		if _, still := s.data.enrollments[e.id]; still { // the same id listed twice
			s.data.remove(e)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- ILC sessions ---

func (s *Sim) sessionAt(w http.ResponseWriter, r *http.Request, c *course) (*session, bool) {
	id, _ := pathGUID(r, "sessionId")
	ses := s.data.sessions[id]
	if ses == nil || ses.course != c {
		notFound(w, "The session")
		return nil, false
	}
	return ses, true
}

func (s *Sim) listUserSessions(w http.ResponseWriter, r *http.Request, _ *user) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, c, ok := s.data.userAndCourse(w, r)
	if !ok {
		return
	}
	out := []sessionEnrollmentJSON{}
	for _, e := range u.enrollments {
		if e.course == c && e.session != nil && matchesQueryFilters(status, since, e.status, max(e.sessionEdited, e.dateEdited)) {
			out = append(out, sessionEnrollmentView(e))
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sim) getUserSession(w http.ResponseWriter, r *http.Request, _ *user) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, c, ok := s.data.userAndCourse(w, r)
	if !ok {
		return
	}
	ses, ok := s.sessionAt(w, r, c)
	if !ok {
		return
	}
	// The current row's session enrollment; a history row keeps its own
	// (listed by the list operations) but is not "the" enrollment.
	for _, e := range u.enrollments {
		if e.isActive && e.session == ses && matchesQueryFilters(status, since, e.status, max(e.sessionEdited, e.dateEdited)) {
			simkit.WriteJSON(w, http.StatusOK, sessionEnrollmentView(e))
			return
		}
	}
	notFound(w, "The session enrollment")
}

type ilcCreatedJSON struct {
	UserID              string `json:"userId"`
	CourseID            string `json:"courseId"`
	SessionID           string `json:"sessionId"`
	EnrollmentID        string `json:"enrollmentId"`
	SessionEnrollmentID string `json:"sessionEnrollmentId"`
}

// createILCEnrollment is seed 003 "Create ILC enrollment for user": it
// enrolls in the course if needed and in the session (moving a session
// enrollment from another session of the course), re-enrolls with
// reEnroll=true, and with cancelSession=true cancels the user's enrollment
// in this session, answering the cancelled session enrollment's id (what
// cancel answers is UNCERTAIN).
func (s *Sim) createILCEnrollment(w http.ResponseWriter, r *http.Request, _ *user) {
	reEnroll, ok := readBool(w, r, "reEnroll")
	if !ok {
		return
	}
	cancel, ok := readBool(w, r, "cancelSession")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, ok := s.data.userAndCourse(w, r)
	if !ok {
		return
	}
	ses, ok := s.sessionAt(w, r, c)
	if !ok {
		return
	}
	if c.courseType != courseTypeInstructor {
		unprocessable(w, "The course is not an instructor led course.")
		return
	}
	now := s.now()
	cur := u.currentIn(c)
	answer := func(e *enrollment, sessionEnrollID guid) {
		simkit.WriteJSON(w, http.StatusCreated, ilcCreatedJSON{UserID: u.id.String(), CourseID: c.id.String(),
			SessionID: ses.id.String(), EnrollmentID: e.id.String(), SessionEnrollmentID: sessionEnrollID.String()})
	}
	if cancel {
		if cur == nil || cur.session != ses {
			unprocessable(w, "The user has no enrollment in this session to cancel.")
			return
		}
		id := cur.sessionEnrollID
		s.data.setSession(cur, nil, now)
		answer(cur, id)
		return
	}
	switch {
	case cur == nil:
		cur = s.data.enroll(u, c, now)
	case reEnroll:
		cur = s.data.reEnroll(cur, now)
	}
	if cur.session != ses {
		s.data.setSession(cur, ses, now)
	}
	answer(cur, cur.sessionEnrollID)
}

func (s *Sim) listSessionEnrollments(w http.ResponseWriter, r *http.Request, _ *user) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.listError(w, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.data.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return
	}
	ses, ok := s.sessionAt(w, r, c)
	if !ok {
		return
	}
	pg, err := paginate(ses.enrollments, p, sessionEnrollmentFields(), enrollmentStatus,
		func(e *enrollment) int64 { return max(e.sessionEdited, e.dateEdited) })
	if err != nil {
		s.listError(w, err)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, envelope(p, pg, "enrollments", sessionEnrollmentView))
}

// --- chapters and lessons ---

func (s *Sim) chapterAt(w http.ResponseWriter, r *http.Request, c *course) (*chapter, bool) {
	id, _ := pathGUID(r, "chapterId")
	ch := s.data.chapters[id]
	if ch == nil || ch.course != c {
		notFound(w, "The chapter")
		return nil, false
	}
	return ch, true
}

func (s *Sim) lessonAt(w http.ResponseWriter, r *http.Request, c *course) (*lesson, bool) {
	id, _ := pathGUID(r, "lessonId")
	l := s.data.lessons[id]
	if l == nil || l.chapter.course != c {
		notFound(w, "The lesson")
		return nil, false
	}
	return l, true
}

func (s *Sim) listChapters(w http.ResponseWriter, r *http.Request, _ *user) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	out := []chapterEnrollmentJSON{}
	for _, ch := range e.course.chapters {
		if j := chapterEnrollmentView(e, ch); matchesQueryFilters(status, since, j.Status, e.dateEdited) {
			out = append(out, j)
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sim) getChapter(w http.ResponseWriter, r *http.Request, _ *user) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	ch, ok := s.chapterAt(w, r, e.course)
	if !ok {
		return
	}
	j := chapterEnrollmentView(e, ch)
	if !matchesQueryFilters(status, since, j.Status, e.dateEdited) {
		notFound(w, "The chapter enrollment")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, j)
}

func writeLessonRows(w http.ResponseWriter, r *http.Request, e *enrollment, lessons []*lesson) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	out := []lessonEnrollmentJSON{}
	for _, l := range lessons {
		if row := lessonState(e, l); matchesQueryFilters(status, since, row.status, row.dateEdited) {
			out = append(out, lessonEnrollmentView(row))
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func writeLessonRow(w http.ResponseWriter, r *http.Request, e *enrollment, l *lesson) {
	status, since, ok := queryFilters(w, r)
	if !ok {
		return
	}
	row := lessonState(e, l)
	if !matchesQueryFilters(status, since, row.status, row.dateEdited) {
		notFound(w, "The lesson enrollment")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, lessonEnrollmentView(row))
}

func (s *Sim) listUserLessons(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e, ok := s.data.currentAt(w, r); ok {
		writeLessonRows(w, r, e, e.course.lessons)
	}
}

func (s *Sim) listChapterLessons(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	if ch, ok := s.chapterAt(w, r, e.course); ok {
		writeLessonRows(w, r, e, ch.lessons)
	}
}

func (s *Sim) getUserLesson(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	if l, ok := s.lessonAt(w, r, e.course); ok {
		writeLessonRow(w, r, e, l)
	}
}

func (s *Sim) getChapterLesson(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	ch, ok := s.chapterAt(w, r, e.course)
	if !ok {
		return
	}
	l, ok := s.lessonAt(w, r, e.course)
	if !ok {
		return
	}
	if l.chapter != ch {
		notFound(w, "The lesson")
		return
	}
	writeLessonRow(w, r, e, l)
}

// listLessonEnrollments is the paged "Lists enrollments for a lesson": one
// row per current course enrollment of the course.
func (s *Sim) listLessonEnrollments(w http.ResponseWriter, r *http.Request, _ *user) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.listError(w, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.data.courseAt(r)
	if c == nil {
		notFound(w, "The course")
		return
	}
	l, ok := s.lessonAt(w, r, c)
	if !ok {
		return
	}
	rows := make([]lessonRow, 0, len(c.enrollments))
	for _, e := range c.enrollments {
		if e.isActive {
			rows = append(rows, lessonState(e, l))
		}
	}
	pg, err := paginate(rows, p, lessonEnrollmentFields(), func(r lessonRow) int8 { return r.status },
		func(r lessonRow) int64 { return r.dateEdited })
	if err != nil {
		s.listError(w, err)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, envelope(p, pg, "enrollments", lessonEnrollmentView))
}

// --- attempts ---

func (s *Sim) listAttempts(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	l, ok := s.lessonAt(w, r, e.course)
	if !ok {
		return
	}
	out := []attemptJSON{}
	if lp := e.lessons[l.idx]; lp != nil {
		for _, a := range lp.attemptList {
			out = append(out, attemptView(a))
		}
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

// notAttemptable says why a course status keeps a learner from working on
// a lesson, so "Start attempt for active lesson enrollment" answers 422
// (which statuses count as active is the simulator's reading).
func notAttemptable(status int8) (string, bool) {
	switch status {
	case statusPendingApproval:
		return "pending approval", true
	case statusDeclined:
		return "declined", true
	case statusOnWaitlist:
		return "on the waitlist", true
	case statusAbsent:
		return "absent", true
	case statusNotApplicable:
		return "not applicable", true
	}
	return "", false
}

func (s *Sim) startAttempt(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data.currentAt(w, r)
	if !ok {
		return
	}
	l, ok := s.lessonAt(w, r, e.course)
	if !ok {
		return
	}
	if why, blocked := notAttemptable(e.status); blocked {
		unprocessable(w, "The lesson enrollment is not active: the course enrollment is "+why+".")
		return
	}
	a := s.data.startAttempt(e, l, s.now())
	// 200, not 201, per seed 003 "Start attempt for active lesson enrollment".
	simkit.WriteJSON(w, http.StatusOK, map[string]string{
		"attemptId": a.id.String(), "courseId": e.course.id.String(), "userId": e.user.id.String()})
}

func (s *Sim) finishAttempt(w http.ResponseWriter, r *http.Request, _ *user) {
	s.finish(w, r, nil)
}

func (s *Sim) finishUserAttempt(w http.ResponseWriter, r *http.Request, _ *user) {
	s.finish(w, r, func(a *attempt) bool {
		u, c := s.data.userAt(r), s.data.courseAt(r)
		id, _ := pathGUID(r, "lessonId")
		return u != nil && c != nil && a.enrollment.user == u && a.enrollment.course == c && a.lesson.id == id
	})
}

// finish is seed 003 "Finish attempt": body {status (required, 1/3/5),
// score, startDate, completionDate} → 200 {attemptId}. A bad status or a
// second finish is a 422.
func (s *Sim) finish(w http.ResponseWriter, r *http.Request, belongs func(*attempt) bool) {
	var body struct {
		Status         *int     `json:"status"`
		Score          *float64 `json:"score"`
		StartDate      *string  `json:"startDate"`
		CompletionDate *string  `json:"completionDate"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		badRequest(w, "The request body is not valid JSON.", err.Error())
		return
	}
	var problems []string
	if body.Status == nil || *body.Status != statusInProgress && *body.Status != statusComplete && *body.Status != statusFailed {
		problems = append(problems, "status is required and must be 1, 3 or 5.")
	}
	if body.Score != nil && (*body.Score < 0 || *body.Score > 100) {
		problems = append(problems, "score must be between 0 and 100.")
	}
	readDate := func(name string, raw *string) int64 {
		if raw == nil || *raw == "" {
			return 0
		}
		t, err := parseAbsorbTime(*raw)
		if err != nil {
			problems = append(problems, name+" must be a date-time such as 2024-01-31T00:00:00.")
			return 0
		}
		return t.Unix()
	}
	start, completion := readDate("startDate", body.StartDate), readDate("completionDate", body.CompletionDate)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := pathGUID(r, "attemptId")
	a := s.data.attempts[id]
	if a == nil || belongs != nil && !belongs(a) {
		notFound(w, "The attempt")
		return
	}
	if a.status != statusInProgress {
		problems = append(problems, "The attempt is already finished.")
	}
	if len(problems) > 0 {
		unprocessable(w, "The attempt could not be finished.", problems...)
		return
	}
	s.data.finishAttempt(a, int8(*body.Status), body.Score, start, completion, s.now())
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"attemptId": a.id.String()})
}
