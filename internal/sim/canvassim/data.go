package canvassim

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// enrollmentType is declared in the alphabetical order of the Canvas type
// names, because Canvas orders enrollment lists by the `type` column
// (providers.md §1.6 "Order"), so comparing the numbers compares the names.
type enrollmentType uint8

const (
	designerEnrollment enrollmentType = iota
	observerEnrollment
	studentEnrollment
	taEnrollment
	teacherEnrollment
	numTypes
)

func (t enrollmentType) String() string {
	switch t {
	case designerEnrollment:
		return "DesignerEnrollment"
	case observerEnrollment:
		return "ObserverEnrollment"
	case studentEnrollment:
		return "StudentEnrollment"
	case taEnrollment:
		return "TaEnrollment"
	case teacherEnrollment:
		return "TeacherEnrollment"
	}
	return "UnknownEnrollment"
}

// roleID is the id of the built-in role of each type, as a default Canvas
// install numbers them (custom roles are not simulated).
func (t enrollmentType) roleID() int64 {
	switch t {
	case studentEnrollment:
		return 3
	case teacherEnrollment:
		return 4
	case taEnrollment:
		return 5
	case designerEnrollment:
		return 6
	case observerEnrollment:
		return 7
	}
	return 0
}

func parseEnrollmentType(s string) (enrollmentType, bool) {
	for t := range numTypes {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

func typeForRoleID(id int64) (enrollmentType, bool) {
	for t := range numTypes {
		if t.roleID() == id {
			return t, true
		}
	}
	return 0, false
}

// workflowState is an enrollment's stored workflow_state (providers.md §1.5).
type workflowState uint8

const (
	stateActive workflowState = iota
	stateInvited
	stateCreationPending
	stateDeleted
	stateRejected
	stateCompleted
	stateInactive
	numStates
)

func (s workflowState) String() string {
	switch s {
	case stateActive:
		return "active"
	case stateInvited:
		return "invited"
	case stateCreationPending:
		return "creation_pending"
	case stateDeleted:
		return "deleted"
	case stateRejected:
		return "rejected"
	case stateCompleted:
		return "completed"
	case stateInactive:
		return "inactive"
	}
	return "unknown"
}

func parseWorkflowState(s string) (workflowState, bool) {
	for st := range numStates {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}

// courseState is a course's workflow_state as the Courses API shows it.
type courseState uint8

const (
	courseAvailable courseState = iota
	courseUnpublished
	courseCompleted
)

func (s courseState) String() string {
	switch s {
	case courseUnpublished:
		return "unpublished"
	case courseCompleted:
		return "completed"
	}
	return "available"
}

// Id bases keep every id of a kind the same width, so that numeric and
// lexical order agree (EnrollmentIDs is sorted as strings).
const (
	userIDBase       = 1000001
	courseIDBase     = 10001
	sectionIDBase    = 20001
	enrollmentIDBase = 100000001
	// adminUserID is the account admin who owns the token; it has no
	// enrollments.
	adminUserID = 1
)

type user struct {
	id      int64
	first   string
	last    string
	login   string
	email   string
	sisID   string
	created int64
	// rank is the user's position in sortable-name order, the second sort
	// key of enrollment lists.
	rank int32
}

func (u *user) name() string         { return u.first + " " + u.last }
func (u *user) sortableName() string { return u.last + ", " + u.first }

type course struct {
	id         int64
	name       string
	code       string
	sisID      string
	state      courseState
	hasScheme  bool // a grading scheme turns scores into letter grades
	created    int64
	startAt    int64
	endAt      int64
	sections   []int32
	enrollment []int32 // positions, in list order
}

type section struct {
	id         int64
	course     int32
	name       string
	sisID      string
	created    int64
	enrollment []int32 // positions, in list order
}

// noScore marks a grade that has not been computed yet.
const noScore = -1

// enrollment is kept compact (about 100 bytes) so that a million of them fit
// well under a gigabyte. Times are Unix seconds, 0 meaning null.
type enrollment struct {
	id             int64
	user           int32
	course         int32
	section        int32
	associatedUser int32 // -1: none (only observers have one)
	typ            enrollmentType
	state          workflowState
	limitToSection bool
	selfEnrolled   bool
	gone           bool // hard-deleted through the admin API
	created        int64
	updated        int64
	startAt        int64
	endAt          int64
	lastActivity   int64
	lastAttended   int64
	completedAt    int64
	totalActivity  int32
	// Scores in hundredths of a percent, or noScore.
	currentScore int32
	finalScore   int32
}

// store is the data set. Enrollment positions are id - enrollmentIDBase.
type store struct {
	users       []user
	courses     []course
	sections    []section
	enrollments []enrollment
	userEnrolls [][]int32 // per user, positions in list order
	byRank      []int32   // user indexes in sortable-name order
	live        int       // enrollments not hard-deleted

	userBySIS    map[string]int32
	userByLogin  map[string]int32
	courseBySIS  map[string]int32
	sectionBySIS map[string]int32
}

// sortKey orders enrollments as Canvas's bookmarked index does: type, the
// user's sortable name, then id (providers.md §1.6). The position is in the
// low bits, so a key names exactly one enrollment.
func sortKey(typ enrollmentType, rank int32, pos int32) uint64 {
	return uint64(typ)<<61 | uint64(rank)<<32 | uint64(uint32(pos))
}

func (st *store) key(pos int32) uint64 {
	e := &st.enrollments[pos]
	return sortKey(e.typ, st.users[e.user].rank, pos)
}

// after returns the index of the first entry of idx whose key is greater than k.
func (st *store) after(idx []int32, k uint64) int {
	return sort.Search(len(idx), func(i int) bool { return st.key(idx[i]) > k })
}

func (st *store) insertSorted(idx []int32, pos int32) []int32 {
	i := st.after(idx, st.key(pos))
	return slices.Insert(idx, i, pos)
}

func (st *store) removeSorted(idx []int32, pos int32) []int32 {
	k := st.key(pos)
	i := sort.Search(len(idx), func(i int) bool { return st.key(idx[i]) >= k })
	if i < len(idx) && idx[i] == pos {
		return slices.Delete(idx, i, i+1)
	}
	return idx
}

// index adds a new enrollment to the course, section and user lists.
func (st *store) index(pos int32) {
	e := &st.enrollments[pos]
	c := &st.courses[e.course]
	c.enrollment = st.insertSorted(c.enrollment, pos)
	sec := &st.sections[e.section]
	sec.enrollment = st.insertSorted(sec.enrollment, pos)
	st.userEnrolls[e.user] = st.insertSorted(st.userEnrolls[e.user], pos)
	st.live++
}

func (st *store) unindex(pos int32) {
	e := &st.enrollments[pos]
	c := &st.courses[e.course]
	c.enrollment = st.removeSorted(c.enrollment, pos)
	sec := &st.sections[e.section]
	sec.enrollment = st.removeSorted(sec.enrollment, pos)
	st.userEnrolls[e.user] = st.removeSorted(st.userEnrolls[e.user], pos)
	st.live--
}

// inCourse reports whether the user has any enrollment in the course.
func (st *store) inCourse(u, co int32) bool {
	for _, pos := range st.userEnrolls[u] {
		if st.enrollments[pos].course == co {
			return true
		}
	}
	return false
}

// enrollmentByID returns the enrollment with a Canvas id, or nil when there is
// none or it was hard-deleted.
func (st *store) enrollmentByID(id int64) (int32, *enrollment) {
	pos := id - enrollmentIDBase
	if pos < 0 || pos >= int64(len(st.enrollments)) {
		return -1, nil
	}
	e := &st.enrollments[pos]
	if e.gone {
		return -1, nil
	}
	return int32(pos), e
}

// generate builds the data set from the seed; now anchors every date.
func generate(cfg Config, now time.Time) *store {
	nowS := now.Unix()
	day := int64(24 * 60 * 60)
	st := &store{
		users:        make([]user, cfg.Users),
		courses:      make([]course, cfg.Courses),
		userEnrolls:  make([][]int32, cfg.Users),
		userBySIS:    make(map[string]int32, cfg.Users),
		userByLogin:  make(map[string]int32, cfg.Users),
		courseBySIS:  make(map[string]int32, cfg.Courses),
		sectionBySIS: map[string]int32{},
	}

	r := simkit.RNG(cfg.Seed, "canvas-users")
	for i := range st.users {
		p := simkit.PersonAt(cfg.Seed, i)
		u := &st.users[i]
		*u = user{
			id:      userIDBase + int64(i),
			first:   p.First,
			last:    p.Last,
			login:   p.Login,
			email:   p.Email,
			sisID:   fmt.Sprintf("U%07d", i+1),
			created: nowS - 400*day - r.Int64N(1000*day),
		}
		st.userBySIS[u.sisID] = int32(i)
		st.userByLogin[u.login] = int32(i)
	}
	order := make([]int32, len(st.users))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ua, ub := &st.users[a], &st.users[b]
		return cmp.Or(
			strings.Compare(strings.ToLower(ua.sortableName()), strings.ToLower(ub.sortableName())),
			cmp.Compare(ua.id, ub.id))
	})
	for rank, i := range order {
		st.users[i].rank = int32(rank)
	}
	st.byRank = order

	r = simkit.RNG(cfg.Seed, "canvas-courses")
	for i := range st.courses {
		c := &st.courses[i]
		title := simkit.CourseTitleAt(cfg.Seed, i)
		*c = course{
			id:        courseIDBase + int64(i),
			name:      title,
			code:      fmt.Sprintf("C%04d", i+1),
			sisID:     fmt.Sprintf("SIS-C%04d", i+1),
			hasScheme: i%4 != 3,
			created:   nowS - 500*day + r.Int64N(100*day),
		}
		// Course 0 is always published and open, so tests have a known
		// course; every 10th is unpublished and every 10th concluded.
		switch {
		case i%10 == 7:
			c.state = courseUnpublished
		case i%10 == 9:
			c.state = courseCompleted
			c.startAt = nowS - 300*day
			c.endAt = nowS - 30*day - r.Int64N(60*day)
		default:
			c.startAt = nowS - 120*day + r.Int64N(60*day)
			if r.IntN(2) == 0 {
				c.endAt = nowS + 60*day + r.Int64N(200*day)
			}
		}
		st.courseBySIS[c.sisID] = int32(i)
		nSections := 1 + r.IntN(3)
		for j := range nSections {
			name := title
			if j > 0 {
				name = fmt.Sprintf("%s, section %c", title, 'A'+j-1)
			}
			sec := section{
				id:      sectionIDBase + int64(len(st.sections)),
				course:  int32(i),
				name:    name,
				sisID:   fmt.Sprintf("SIS-S%04d-%d", i+1, j),
				created: c.created,
			}
			c.sections = append(c.sections, int32(len(st.sections)))
			st.sectionBySIS[sec.sisID] = int32(len(st.sections))
			st.sections = append(st.sections, sec)
		}
	}

	st.enrollments = make([]enrollment, 0, cfg.Enrollments)
	if cfg.Users > 0 && cfg.Courses > 0 {
		r = simkit.RNG(cfg.Seed, "canvas-enrollments")
		// taken avoids generating what Canvas would treat as a duplicate
		// (same user, type and section, providers.md §1.7) while there is
		// room; a data set asked to be denser than that gets duplicates.
		taken := make(map[uint64]struct{}, cfg.Enrollments)
		for i := 0; i < cfg.Enrollments; i++ {
			var e enrollment
			for try := 0; ; try++ {
				e = randomEnrollment(r, st, nowS)
				k := uint64(e.user)<<32 | uint64(e.section)<<3 | uint64(e.typ)
				if _, dup := taken[k]; !dup || try >= 8 {
					taken[k] = struct{}{}
					break
				}
			}
			e.id = enrollmentIDBase + int64(i)
			st.enrollments = append(st.enrollments, e)
		}
	}
	st.buildIndexes()
	return st
}

// buildIndexes sorts every list once, which is much faster than inserting a
// million rows one by one.
func (st *store) buildIndexes() {
	perCourse := make([]int, len(st.courses))
	perSection := make([]int, len(st.sections))
	perUser := make([]int, len(st.users))
	for i := range st.enrollments {
		e := &st.enrollments[i]
		perCourse[e.course]++
		perSection[e.section]++
		perUser[e.user]++
	}
	for i := range st.courses {
		st.courses[i].enrollment = make([]int32, 0, perCourse[i])
	}
	for i := range st.sections {
		st.sections[i].enrollment = make([]int32, 0, perSection[i])
	}
	for i := range st.users {
		st.userEnrolls[i] = make([]int32, 0, perUser[i])
	}
	// Appending in key order leaves every list sorted.
	all := make([]uint64, len(st.enrollments))
	for i := range st.enrollments {
		all[i] = st.key(int32(i))
	}
	slices.Sort(all)
	for _, k := range all {
		pos := int32(uint32(k))
		e := &st.enrollments[pos]
		st.courses[e.course].enrollment = append(st.courses[e.course].enrollment, pos)
		st.sections[e.section].enrollment = append(st.sections[e.section].enrollment, pos)
		st.userEnrolls[e.user] = append(st.userEnrolls[e.user], pos)
	}
	st.live = len(st.enrollments)
}

func pick[T any](r interface{ IntN(int) int }, weights []int, values []T) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return values[i]
		}
		n -= w
	}
	return values[len(values)-1]
}

var (
	typeWeights = []int{2, 4, 85, 3, 6}
	typeValues  = []enrollmentType{designerEnrollment, observerEnrollment, studentEnrollment, taEnrollment, teacherEnrollment}
	// Every stored state appears, weighted towards what a live school has.
	stateWeights = []int{62, 9, 4, 5, 3, 11, 6}
	stateValues  = []workflowState{stateActive, stateInvited, stateCreationPending, stateDeleted, stateRejected, stateCompleted, stateInactive}
)

type rng interface {
	IntN(int) int
	Int64N(int64) int64
}

func randomEnrollment(r rng, st *store, now int64) enrollment {
	day := int64(24 * 60 * 60)
	ci := int32(r.IntN(len(st.courses)))
	c := &st.courses[ci]
	e := enrollment{
		user:           int32(r.IntN(len(st.users))),
		course:         ci,
		section:        c.sections[r.IntN(len(c.sections))],
		associatedUser: -1,
		typ:            pick(r, typeWeights, typeValues),
		state:          pick(r, stateWeights, stateValues),
		currentScore:   noScore,
		finalScore:     noScore,
	}
	e.created = max(c.created, now-400*day) + r.Int64N(200*day)
	e.updated = e.created + r.Int64N(100*day)
	switch c.state {
	case courseUnpublished:
		// Nobody can have started an unpublished course: students wait
		// in creation_pending, staff are invited (providers.md §1.7).
		if e.state == stateActive || e.state == stateInvited || e.state == stateCompleted {
			e.state = stateCreationPending
			if e.typ != studentEnrollment && e.typ != observerEnrollment {
				e.state = stateInvited
			}
		}
	case courseCompleted:
		if e.state == stateCreationPending || e.state == stateInvited {
			e.state = stateCompleted
		}
	default:
		if e.state == stateCreationPending {
			// creation_pending belongs to unpublished courses.
			e.state = stateInvited
		}
	}
	if e.typ == observerEnrollment {
		e.associatedUser = int32(r.IntN(len(st.users)))
	}
	if r.IntN(20) == 0 {
		e.limitToSection = true
	}
	if e.typ == studentEnrollment && r.IntN(25) == 0 {
		e.selfEnrolled = true
	}
	switch r.IntN(10) {
	case 0: // an enrollment whose own end date passed (soft-concluded, §1.10)
		e.startAt = e.created
		e.endAt = now - r.Int64N(60*day) - day
	case 1: // one that starts in the future
		e.startAt = now + day + r.Int64N(30*day)
		e.endAt = e.startAt + 90*day
	}
	active := e.state == stateActive || e.state == stateCompleted || e.state == stateInactive || e.state == stateDeleted
	// About half of the active enrollments have activity.
	if active && r.IntN(2) == 0 {
		e.lastActivity = min(now-r.Int64N(30*day), e.updated)
		e.lastActivity = max(e.lastActivity, e.created)
		e.totalActivity = int32(60 + r.IntN(40*60*60))
		if r.IntN(3) == 0 {
			e.lastAttended = e.lastActivity - e.lastActivity%day
		}
	}
	if e.state == stateCompleted {
		e.completedAt = e.updated
	}
	if e.typ == studentEnrollment && e.lastActivity != 0 {
		e.currentScore = int32(3000 + r.IntN(7001))
		e.finalScore = e.currentScore * int32(30+r.IntN(71)) / 100
	}
	e.updated = min(e.updated, now)
	return e
}
