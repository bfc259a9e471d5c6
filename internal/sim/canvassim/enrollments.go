package canvassim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// effectiveState is Canvas's date-based state (providers.md §1.5
// state_based_on_date): an invited/active enrollment past its own or its
// course's end is soft-concluded, one before its start is pending.
func (st *store) effectiveState(e *enrollment, now int64) string {
	switch e.state {
	case stateCompleted:
		return "completed"
	case stateActive, stateInvited:
		co := &st.courses[e.course]
		if co.state == courseCompleted || (e.endAt != 0 && e.endAt < now) || (co.endAt != 0 && co.endAt < now) {
			return "completed"
		}
		if e.startAt != 0 && e.startAt > now {
			return "pending_" + e.state.String()
		}
	}
	return e.state.String()
}

// enrollmentFilter decides which rows a list answers.
type enrollmentFilter struct {
	types     [numTypes]bool
	stored    [numStates]bool // used when effective is nil
	effective map[string]bool // own-user lists filter the date-based state
	course    int32           // -1: any
	section   int32           // -1: any
	// SIS filters (seed 004 sis_*_id[]); nil means no filter.
	sisUsers, sisSections, sisCourses map[int32]bool
}

func (f *enrollmentFilter) match(st *store, e *enrollment, now int64) bool {
	if !f.types[e.typ] || (f.course >= 0 && e.course != f.course) || (f.section >= 0 && e.section != f.section) {
		return false
	}
	if (f.sisUsers != nil && !f.sisUsers[e.user]) || (f.sisSections != nil && !f.sisSections[e.section]) ||
		(f.sisCourses != nil && !f.sisCourses[e.course]) {
		return false
	}
	if f.effective != nil {
		return f.effective[st.effectiveState(e, now)]
	}
	return f.stored[e.state]
}

// typeFilter reads role_id[], role[] and type[], in Canvas's precedence
// (enrollment_index_conditions): role ids win, then role names, then types.
// Only built-in roles exist, so a role name is a type name.
func (c *call) typeFilter(f *enrollmentFilter) bool {
	roleIDs, roles := c.list("role_id"), c.list("role")
	switch {
	case len(roleIDs) > 0:
		// Unknown role ids simply match nothing.
		for _, r := range roleIDs {
			id, _ := strconv.ParseInt(r, 10, 64)
			if t, ok := typeForRoleID(id); ok {
				f.types[t] = true
			}
		}
	case len(roles) > 0:
		for _, r := range roles {
			t, ok := parseEnrollmentType(r)
			if !ok {
				// providers.md §1.6: an unknown role name raises
				// ActionController::BadRequest, a generic 400.
				c.railsBadRequest()
				return false
			}
			f.types[t] = true
		}
	default:
		types := c.list("type")
		for t := range numTypes {
			f.types[t] = len(types) == 0 || slices.Contains(types, t.String())
		}
	}
	return true
}

// listExtras applies what the index action does after choosing its scope:
// the SIS filters (the admin has read_sis, so they are allowed) and the
// grading period check. The simulated courses have no grading periods, so
// any grading_period_id is unknown (providers.md §1.4).
func (c *call) listExtras(st *store, f *enrollmentFilter) bool {
	pick := func(name string, index map[string]int32) map[int32]bool {
		values := c.list(name)
		if len(values) == 0 {
			return nil
		}
		set := map[int32]bool{}
		for _, v := range values {
			if i, ok := index[v]; ok {
				set[i] = true
			}
		}
		return set
	}
	f.sisUsers = pick("sis_user_id", st.userBySIS)
	f.sisSections = pick("sis_section_id", st.sectionBySIS)
	f.sisCourses = pick("sis_course_id", st.courseBySIS)
	// The simulated account has no SIS id, so filtering by one matches
	// nothing.
	if len(c.list("sis_account_id")) > 0 {
		f.sisCourses = map[int32]bool{}
	}
	if c.params.Get("grading_period_id") != "" {
		c.badRequest("invalid grading_period_id")
		return false
	}
	return true
}

// storedStates fills the stored-state filter from state[] or the default.
func (c *call) storedStates(f *enrollmentFilter, defaults ...workflowState) {
	states := c.list("state")
	if len(states) == 0 {
		for _, s := range defaults {
			f.stored[s] = true
		}
		return
	}
	// On course, section and other users' lists state[] filters the stored
	// workflow_state; other values match nothing (providers.md §1.6).
	for _, name := range states {
		if s, ok := parseWorkflowState(name); ok {
			f.stored[s] = true
		}
	}
}

var ownStateSets = map[string][]string{
	"current_and_invited":           {"active", "invited"},
	"current_and_future":            {"active", "invited", "creation_pending", "pending_active", "pending_invited"},
	"current_and_concluded":         {"active", "completed"},
	"current_future_and_restricted": {"active", "invited", "creation_pending", "pending_active", "pending_invited", "inactive"},
}

// ownStates fills the date-based filter of the caller's own list
// (providers.md §1.6): by default current_and_invited without concluded.
func (c *call) ownStates(f *enrollmentFilter) bool {
	states := c.list("state")
	f.effective = map[string]bool{}
	if len(states) == 0 {
		states = []string{"current_and_invited"}
	}
	for _, name := range states {
		if set, ok := ownStateSets[name]; ok {
			for _, s := range set {
				f.effective[s] = true
			}
			continue
		}
		if _, ok := parseWorkflowState(name); ok || name == "pending_active" || name == "pending_invited" {
			f.effective[name] = true
			continue
		}
		c.badRequest("Invalid state " + name)
		return false
	}
	return true
}

// bookmark is the page token of Canvas's bookmarked collections
// (providers.md §1.11): "bookmark:" and the URL-safe base64 of the JSON sort
// values of the last row served, [type, sortable_name, id], as Canvas's
// SimpleBookmarker makes them. The next page is one binary search away
// however deep it is.
func (st *store) bookmark(pos int32) string {
	e := &st.enrollments[pos]
	b, _ := json.Marshal([]any{e.typ.String(), st.users[e.user].sortableName(), e.id})
	return "bookmark:" + base64.RawURLEncoding.EncodeToString(b)
}

// parseBookmark returns the sort key a bookmark stands for; false sends
// the client to the first page, as Canvas does with a bookmark it cannot
// read. The id names the row, whose type and user never change, so the key
// is exact even when that row has since been hard-deleted.
func (st *store) parseBookmark(tok string) (uint64, bool) {
	raw, ok := strings.CutPrefix(tok, "bookmark:")
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return 0, false
	}
	var v []json.RawMessage
	if json.Unmarshal(b, &v) != nil || len(v) != 3 {
		return 0, false
	}
	var typ string
	var id int64
	if json.Unmarshal(v[0], &typ) != nil || json.Unmarshal(v[2], &id) != nil {
		return 0, false
	}
	pos := id - enrollmentIDBase
	if pos < 0 || pos >= int64(len(st.enrollments)) || st.enrollments[pos].typ.String() != typ {
		return 0, false
	}
	return st.key(int32(pos)), true
}

// servePage answers one page of a bookmarked enrollment list.
func (c *call) servePage(st *store, idx []int32, f *enrollmentFilter) {
	per := c.perPage()
	now := c.sim.kit.Clock.Now().Unix()
	page := c.params.Get("page")
	i := 0
	if k, ok := st.parseBookmark(page); ok {
		i = st.after(idx, k)
	} else {
		page = "first"
	}
	out := make([]enrollmentJSON, 0, min(per, len(idx)))
	next, last := "", int32(-1)
	for ; i < len(idx); i++ {
		if !f.match(st, &st.enrollments[idx[i]], now) {
			continue
		}
		if len(out) == per {
			// Another row exists, so there is a next page; it starts
			// after the last row served.
			next = st.bookmark(last)
			break
		}
		out = append(out, c.renderEnrollment(st, idx[i], true))
		last = idx[i]
	}
	c.rows = len(out)
	c.setLinks(per, link{"current", page}, link{"next", next}, link{"first", "first"})
	c.json(http.StatusOK, out)
}

func (s *Sim) listCourseEnrollments(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	co, ok := s.st.findCourse(c.r.PathValue("course_id"))
	if !ok {
		c.notFound()
		return
	}
	s.listScoped(c, co, -1, s.st.courses[co].enrollment)
}

func (s *Sim) listSectionEnrollments(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, ok := s.st.findSection(c.r.PathValue("section_id"))
	if !ok {
		c.notFound()
		return
	}
	s.listScoped(c, -1, sec, s.st.sections[sec].enrollment)
}

// listScoped serves a course or section list. The token is an account admin
// with read_as_admin, so the default is all_active_or_pending, which keeps
// inactive rows (providers.md §1.6); with user_id the user logic applies,
// restricted to the course or section.
func (s *Sim) listScoped(c *call, co, sec int32, idx []int32) {
	f := &enrollmentFilter{course: co, section: sec}
	if !c.typeFilter(f) {
		return
	}
	if raw := c.params.Get("user_id"); raw != "" {
		u, ok := s.st.findUser(raw, c.caller)
		if !ok {
			c.notFound()
			return
		}
		if !s.userStates(c, f, u) || !c.listExtras(s.st, f) {
			return
		}
		var userIdx []int32
		if u >= 0 {
			userIdx = s.st.userEnrolls[u]
		}
		c.servePage(s.st, userIdx, f)
		return
	}
	c.storedStates(f, stateActive, stateInvited, stateCreationPending, stateInactive)
	if !c.listExtras(s.st, f) {
		return
	}
	c.servePage(s.st, idx, f)
}

// userStates picks the filter of a user's list: the caller's own list
// filters the date-based state, another user's the stored one, by default
// active and invited (providers.md §1.6).
func (s *Sim) userStates(c *call, f *enrollmentFilter, u int32) bool {
	if u == c.caller {
		return c.ownStates(f)
	}
	c.storedStates(f, stateActive, stateInvited)
	return true
}

func (s *Sim) listUserEnrollments(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.st.findUser(c.r.PathValue("user_id"), c.caller)
	if !ok {
		c.notFound()
		return
	}
	f := &enrollmentFilter{course: -1, section: -1}
	if !c.typeFilter(f) || !s.userStates(c, f, u) || !c.listExtras(s.st, f) {
		return
	}
	var idx []int32
	if u >= 0 {
		idx = s.st.userEnrolls[u]
	}
	c.servePage(s.st, idx, f)
}

// showEnrollment finds soft-deleted enrollments too, as Canvas looks in
// all_enrollments (providers.md §1.3).
func (s *Sim) showEnrollment(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.accountMatches(c.r.PathValue("account_id")) {
		c.notFound()
		return
	}
	id, err := strconv.ParseInt(localID(c.r.PathValue("id")), 10, 64)
	if err != nil {
		c.notFound()
		return
	}
	pos, e := s.st.enrollmentByID(id)
	if e == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, c.renderEnrollment(s.st, pos, false))
}

func (s *Sim) createCourseEnrollment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.st.findCourse(c.r.PathValue("course_id"))
	if !ok {
		c.notFound()
		return
	}
	s.create(c, co, -1)
}

func (s *Sim) createSectionEnrollment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.st.findSection(c.r.PathValue("section_id"))
	if !ok {
		c.notFound()
		return
	}
	s.create(c, s.st.sections[sec].course, sec)
}

// paramBool is Canvas's value_to_boolean.
func paramBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		return true
	}
	return false
}

// paramTime reads an ISO 8601 time; ok is false when it is absent.
func paramTime(v string) (int64, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// create is Enroll a user (seed 004, providers.md §1.7). sec is -1 on the
// course URL.
func (s *Sim) create(c *call, co int32, sec int32) {
	p := c.params
	given := false
	for k := range p {
		if strings.HasPrefix(k, "enrollment[") {
			given = true
			break
		}
	}
	if !given {
		c.badMessage("No parameters given")
		return
	}
	// The controller's order (providers.md §1.7): type and role errors,
	// then the missing user, reported together; then the section, the
	// user (404), and only then the concluded course, alone.
	var errs []string
	typ, typeErr := enrollmentTypeParam(p.Get("enrollment[type]"), p.Get("enrollment[role_id]"), p.Get("enrollment[role]"))
	if typeErr != "" {
		errs = append(errs, typeErr)
	}
	userRaw := p.Get("enrollment[user_id]")
	if userRaw == "" {
		errs = append(errs, "Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment")
	}
	requested := p.Get("enrollment[enrollment_state]")
	if requested != "" && requested != "active" && requested != "invited" && requested != "inactive" {
		// UNCERTAIN: the docs allow only these three; Canvas passes the
		// value on to the model, whose answer to another was not read.
		errs = append(errs, "Invalid enrollment_state")
	}
	if len(errs) > 0 {
		c.badMessage(strings.Join(errs, ", "))
		return
	}
	course := &s.st.courses[co]
	sectionGiven := sec >= 0
	if sec < 0 {
		sec = course.sections[0]
		if raw := p.Get("enrollment[course_section_id]"); raw != "" {
			found, ok := s.st.findSection(raw)
			if !ok || s.st.sections[found].course != co {
				c.notFound()
				return
			}
			sec, sectionGiven = found, true
		}
	}
	u, ok := s.st.findUser(userRaw, c.caller)
	if !ok || u < 0 {
		c.notFound()
		return
	}
	// A concluded course still lets a user already in it move to another
	// section (the controller's "allow moving users" exception); simulated
	// sections never conclude.
	if course.state == courseCompleted && !(sectionGiven && s.st.inCourse(u, co)) {
		c.badMessage("Can't add an enrollment to a concluded course.")
		return
	}
	associated := int32(-1)
	if raw := p.Get("enrollment[associated_user_id]"); raw != "" && typ == observerEnrollment {
		a, ok := s.st.findUser(raw, c.caller)
		if !ok || a < 0 {
			c.notFound()
			return
		}
		associated = a
	}
	state := defaultState(course, typ, requested)
	now := s.kit.Clock.Now().Unix()

	// Optional fields a duplicate POST overwrites too.
	apply := func(e *enrollment) bool {
		before := *e
		if v := p.Get("enrollment[limit_privileges_to_course_section]"); v != "" {
			e.limitToSection = paramBool(v)
		}
		if t, ok := paramTime(p.Get("enrollment[start_at]")); ok {
			e.startAt = t
		}
		if t, ok := paramTime(p.Get("enrollment[end_at]")); ok {
			e.endAt = t
		}
		if v := p.Get("enrollment[self_enrolled]"); v != "" {
			e.selfEnrolled = paramBool(v)
		}
		return *e != before
	}

	// Duplicate: the same user, type, role, associated user and section,
	// deleted rows included (providers.md §1.7).
	for _, pos := range s.st.userEnrolls[u] {
		e := &s.st.enrollments[pos]
		if e.section != sec || e.typ != typ || e.associatedUser != associated {
			continue
		}
		changed := apply(e)
		if s.st.effectiveState(e, now) != "active" {
			if e.state == stateCompleted || e.state == stateRejected || e.state == stateDeleted || e.state != state {
				e.state = state
				e.completedAt = 0
				changed = true
			}
		}
		if changed {
			e.updated = now
		}
		c.json(http.StatusOK, c.renderEnrollment(s.st, pos, false))
		return
	}

	e := enrollment{
		id:             enrollmentIDBase + int64(len(s.st.enrollments)),
		user:           u,
		course:         co,
		section:        sec,
		associatedUser: associated,
		typ:            typ,
		state:          state,
		created:        now,
		updated:        now,
		currentScore:   noScore,
		finalScore:     noScore,
	}
	apply(&e)
	s.st.enrollments = append(s.st.enrollments, e)
	pos := int32(len(s.st.enrollments) - 1)
	s.st.index(pos)
	c.json(http.StatusOK, c.renderEnrollment(s.st, pos, false))
}

// enrollmentTypeParam resolves enrollment[type], enrollment[role_id] and
// the deprecated enrollment[role] as the controller does (providers.md
// §1.7): a role (by id, else by name) gives the base type and must agree
// with a given type; without a role the type defaults to StudentEnrollment.
func enrollmentTypeParam(typeRaw, roleIDRaw, roleRaw string) (enrollmentType, string) {
	var role enrollmentType
	var ok bool
	switch {
	case roleIDRaw != "":
		id, _ := strconv.ParseInt(roleIDRaw, 10, 64)
		role, ok = typeForRoleID(id)
	case roleRaw != "":
		role, ok = parseEnrollmentType(roleRaw)
	default:
		if typeRaw == "" {
			return studentEnrollment, ""
		}
		t, ok := parseEnrollmentType(typeRaw)
		if !ok {
			return 0, "Invalid type"
		}
		return t, ""
	}
	switch {
	case !ok:
		return 0, "Invalid role"
	case typeRaw != "" && typeRaw != role.String():
		return 0, "The specified type must match the base type for the role"
	}
	return role, ""
}

// defaultState is Course#enroll_user's rule (providers.md §1.7): invited in
// a published course, creation_pending in an unpublished one, except that
// teachers, TAs and designers are always invited; observers start active.
func defaultState(co *course, typ enrollmentType, requested string) workflowState {
	if requested == "" && typ == observerEnrollment {
		return stateActive
	}
	state := requested
	if state == "" {
		state = "invited"
		if co.state != courseAvailable {
			state = "creation_pending"
		}
	}
	switch typ {
	case teacherEnrollment, taEnrollment, designerEnrollment:
		if state == "creation_pending" {
			state = "invited"
		}
	default:
		if state == "invited" && co.state != courseAvailable {
			state = "creation_pending"
		}
	}
	ws, _ := parseWorkflowState(state)
	return ws
}

// courseEnrollment finds an enrollment through the course, as destroy,
// accept, reject and reactivate do. Course#enrollments leaves out deleted
// rows (course.rb: workflow_state<>'deleted'), so a deleted enrollment is
// 404 there, though show still finds it.
func (s *Sim) courseEnrollment(c *call) (int32, *enrollment, bool) {
	co, ok := s.st.findCourse(c.r.PathValue("course_id"))
	if !ok {
		c.notFound()
		return -1, nil, false
	}
	id, err := strconv.ParseInt(localID(c.r.PathValue("id")), 10, 64)
	if err != nil {
		c.notFound()
		return -1, nil, false
	}
	pos, e := s.st.enrollmentByID(id)
	if e == nil || e.course != co || e.state == stateDeleted {
		c.notFound()
		return -1, nil, false
	}
	return pos, e, true
}

// destroyEnrollment maps task to the model call (providers.md §1.8).
func (s *Sim) destroyEnrollment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, e, ok := s.courseEnrollment(c)
	if !ok {
		return
	}
	now := s.kit.Clock.Now().Unix()
	switch c.params.Get("task") {
	case "delete":
		e.state = stateDeleted
	case "inactivate", "deactivate":
		e.state = stateInactive
	default:
		// No task is conclude. UNCERTAIN: an unknown task is treated as
		// conclude too, which is how the controller's case falls through.
		e.state = stateCompleted
		e.completedAt = now
	}
	e.updated = now
	c.json(http.StatusOK, c.renderEnrollment(s.st, pos, false))
}

func (c *call) success() { c.json(http.StatusOK, map[string]bool{"success": true}) }

// acceptEnrollment runs the guards of providers.md §1.9 in their order.
func (s *Sim) acceptEnrollment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ok := s.courseEnrollment(c)
	if !ok {
		return
	}
	now := s.kit.Clock.Now().Unix()
	state := s.st.effectiveState(e, now)
	switch {
	case e.user != c.caller:
		c.unauthorized()
		return
	case state == "active":
		c.success()
		return
	case state == "inactive":
		c.badRequest("membership not activated")
		return
	}
	// Step 4: a rejected invitation is reset to invited and saved, even
	// when a later guard refuses the accept.
	if e.state == stateRejected {
		e.state = stateInvited
		e.updated = now
		state = s.st.effectiveState(e, now)
	}
	switch {
	case e.selfEnrolled:
		c.badRequest("self enroll")
	case state != "invited":
		c.badRequest("no current invitation")
	default:
		e.state = stateActive
		e.updated = now
		c.success()
	}
}

func (s *Sim) rejectEnrollment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ok := s.courseEnrollment(c)
	if !ok {
		return
	}
	now := s.kit.Clock.Now().Unix()
	switch {
	case e.user != c.caller:
		c.unauthorized()
	case e.state == stateRejected:
		c.success()
	case s.st.effectiveState(e, now) == "inactive":
		c.badRequest("membership not activated")
	case e.selfEnrolled:
		c.badRequest("self enroll")
	case s.st.effectiveState(e, now) != "invited":
		c.badRequest("no current invitation")
	default:
		e.state = stateRejected
		e.updated = now
		c.success()
	}
}

// reactivateEnrollment works only from the stored inactive state (§1.9).
func (s *Sim) reactivateEnrollment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, e, ok := s.courseEnrollment(c)
	if !ok {
		return
	}
	if e.state != stateInactive {
		c.badRequest("enrollment not inactive")
		return
	}
	e.state = stateActive
	e.updated = s.kit.Clock.Now().Unix()
	c.json(http.StatusOK, c.renderEnrollment(s.st, pos, false))
}

// parseAttendedDate accepts ISO 8601 and the JavaScript Date string of the
// seed's example ("Thu Dec 21 2017 00:00:00 GMT-0700 (MST)").
func parseAttendedDate(v string) (time.Time, bool) {
	if t, ok := paramTime(v); ok {
		return time.Unix(t, 0), true
	}
	if i := strings.Index(v, " ("); i > 0 {
		v = v[:i]
	}
	if t, err := time.Parse("Mon Jan 02 2006 15:04:05 GMT-0700", v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// lastAttended sets last_attended_at on every enrollment of the user in the
// course and answers {"date":…} (providers.md §1.3). Canvas does this with
// update_all on the raw ids, so updated_at does not move, deleted rows are
// written too, and a user with no enrollment there still gets 200.
func (s *Sim) lastAttended(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.st.findCourse(c.r.PathValue("course_id"))
	if !ok {
		c.notFound()
		return
	}
	date, ok := parseAttendedDate(c.params.Get("date"))
	if !ok {
		c.badMessage("Invalid date time input")
		return
	}
	// The user id is used as a plain number, not through api_find.
	if u, ok := numericIndex(c.r.PathValue("user_id"), userIDBase, len(s.st.users)); ok {
		for _, pos := range s.st.userEnrolls[u] {
			if e := &s.st.enrollments[pos]; e.course == co {
				e.lastAttended = date.Unix()
			}
		}
	}
	c.json(http.StatusOK, map[string]jsonTime{"date": jsonTime(date.Unix())})
}
