package absorbsim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Enrollment statuses, providers.md §2.4 (VERIFIED [A4]).
const (
	statusNotStarted                = 0
	statusInProgress                = 1
	statusPendingApproval           = 2
	statusComplete                  = 3
	statusNotComplete               = 4
	statusFailed                    = 5
	statusDeclined                  = 6
	statusPendingEvaluationRequired = 7
	statusOnWaitlist                = 8
	statusAbsent                    = 9
	statusNotApplicable             = 10
	statusPendingProctor            = 11
	statusReadyForReview            = 12
	maxStatus                       = 12
)

const (
	courseTypeOnline      = "OnlineCourse"
	courseTypeInstructor  = "InstructorLedCourse"
	ticksPerSecond        = 10_000_000 // .NET ticks are 100 ns (providers.md §2.6)
	day                   = int64(24 * 60 * 60)
	historyShare          = 0.05 // share of current rows that also have an earlier attempt kept as history
	dataSpanSeconds       = 2 * 365 * day
	instructorLedEvery    = 7 // every 7th course (from index 3) is instructor-led
	instructorLedOffset   = 3
	sessionsPerILC        = 2
	maxGeneratedEditDrift = 2 * day
)

type user struct {
	id                      guid
	idx                     int
	username, first, last   string
	email, jobTitle, avatar string
	departmentID            guid
	activeStatus            int
	dateAdded, dateEdited   int64
	customString1           string
	enrollments             []*enrollment // every row of this user, in default order
}

func (u *user) fullName() string { return u.first + " " + u.last }

type course struct {
	id                    guid
	idx                   int
	name, courseType      string
	description           string
	versionID             guid
	hasCertificate        bool
	credits               float64
	validityDays          int64 // completions expire after this many days; 0 = never
	activeStatus          int
	dateAdded, dateEdited int64
	sessions              []*session
	chapters              []*chapter
	lessons               []*lesson
	enrollments           []*enrollment // every row in this course, in default order
}

type session struct {
	id          guid
	course      *course
	name        string
	start       int64
	enrollments []*enrollment // rows holding a session enrollment here, in default order
}

type chapter struct {
	id      guid
	course  *course
	name    string
	lessons []*lesson
}

type lesson struct {
	id      guid
	idx     int // position within its course
	chapter *chapter
	name    string
	kind    string
}

// enrollment is one course enrollment row, current or history. Times are
// Unix seconds with 0 meaning "no date"; this keeps a million rows in a few
// hundred megabytes.
type enrollment struct {
	id                 guid
	user               *user
	course             *course
	status             int8
	isActive           bool
	acceptedTerms      bool
	hasCredits         bool
	progress           float64
	score              float64
	credits            float64
	dateAdded          int64
	dateEdited         int64
	dateStarted        int64
	dateCompleted      int64
	dateExpires        int64
	dateDue            int64
	accessDate         int64
	timeSpentTicks     int64
	courseVersionID    guid
	enrollmentKeyID    guid
	certificateID      guid
	courseCollectionID guid
	session            *session
	sessionEnrollID    guid
	sessionEdited      int64
	lessons            map[int]*lessonProgress // lessons touched through the API; others are derived
}

// lessonProgress is a lesson enrollment that attempts have changed.
type lessonProgress struct {
	status         int8
	attempts       int
	failures       int
	score          float64
	lastAttempt    int64
	dateStarted    int64
	dateCompleted  int64
	dateEdited     int64
	timeSpentTicks int64
	attemptList    []*attempt
}

type attempt struct {
	id             guid
	enrollment     *enrollment
	lesson         *lesson
	status         int8
	score          float64
	hasScore       bool
	startDate      int64
	completionDate int64
	timeSpentTicks int64
}

// before is the default order of every enrollment list: oldest first, then
// by id. New rows get the newest dateAdded, so they land on the last page
// and paging a list never repeats or skips a row that existed when the walk
// began (the vendor's own default order is UNCERTAIN, providers.md §2.5).
func before(a, b *enrollment) int {
	if c := cmp.Compare(a.dateAdded, b.dateAdded); c != 0 {
		return c
	}
	return compareGUID(a.id, b.id)
}

func compareGUID(a, b guid) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func insertSorted(list []*enrollment, e *enrollment) []*enrollment {
	i, _ := slices.BinarySearchFunc(list, e, before)
	return slices.Insert(list, i, e)
}

func removeSorted(list []*enrollment, e *enrollment) []*enrollment {
	i, found := slices.BinarySearchFunc(list, e, before)
	if !found || list[i] != e {
		return list
	}
	return slices.Delete(list, i, i+1)
}

// dataset is everything the simulator serves. Sim guards it with a RWMutex.
type dataset struct {
	users       []*user
	usersByID   map[guid]*user
	usersByName map[string]*user
	courses     []*course
	coursesByID map[guid]*course
	sessions    map[guid]*session
	chapters    map[guid]*chapter
	lessons     map[guid]*lesson
	enrollments map[guid]*enrollment
	attempts    map[guid]*attempt
	ids         *rand.Rand // GUIDs for rows created after load
}

var jobTitles = []string{
	"Nurse", "Warehouse Associate", "Software Engineer", "Account Manager", "HR Generalist",
	"Line Cook", "Forklift Operator", "Compliance Officer", "Store Manager", "Data Analyst",
}

// currentIn returns the user's current (isActive) row in a course.
func (u *user) currentIn(c *course) *enrollment {
	for _, e := range u.enrollments {
		if e.course == c && e.isActive {
			return e
		}
	}
	return nil
}

// generate builds the data set for cfg. All generated times lie before
// end, so anything the API or Mutate changes later is strictly newer.
func generate(cfg Config, end time.Time) (*dataset, error) {
	d := &dataset{
		usersByID:   make(map[guid]*user, cfg.Users),
		usersByName: make(map[string]*user, cfg.Users),
		coursesByID: make(map[guid]*course, cfg.Courses),
		sessions:    map[guid]*session{},
		chapters:    map[guid]*chapter{},
		lessons:     map[guid]*lesson{},
		enrollments: make(map[guid]*enrollment, cfg.Enrollments+cfg.Enrollments/16),
		attempts:    map[guid]*attempt{},
		ids:         simkit.RNG(cfg.Seed, "absorb/new-ids"),
	}
	endSec := end.Unix()
	startSec := endSec - dataSpanSeconds
	d.generateUsers(cfg, startSec)
	d.generateCourses(cfg, startSec)
	if err := d.generateEnrollments(cfg, startSec, endSec); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *dataset) generateUsers(cfg Config, startSec int64) {
	r := simkit.RNG(cfg.Seed, "absorb/users")
	depts := make([]guid, 8)
	for i := range depts {
		depts[i] = newGUID(r)
	}
	d.users = make([]*user, cfg.Users)
	for i := range d.users {
		p := simkit.PersonAt(cfg.Seed, i)
		u := &user{
			id:           newGUID(r),
			idx:          i,
			username:     p.Login,
			first:        p.First,
			last:         p.Last,
			email:        p.Email,
			jobTitle:     jobTitles[r.IntN(len(jobTitles))],
			departmentID: depts[r.IntN(len(depts))],
			dateAdded:    startSec - 30*day + r.Int64N(30*day),
		}
		if i == 0 {
			// The admin is a learner too, so my-enrollments has rows.
			u.username = cfg.Username
		}
		u.dateEdited = u.dateAdded + r.Int64N(60*day)
		if r.IntN(10) < 3 {
			u.avatar = "/Files/Avatars/" + u.id.String() + ".png"
		}
		if r.IntN(20) == 0 {
			u.activeStatus = 1
		}
		u.customString1 = fmt.Sprintf("EMP-%06d", i+1)
		d.users[i] = u
		d.usersByID[u.id] = u
		d.usersByName[foldUsername(u.username)] = u
	}
}

func (d *dataset) generateCourses(cfg Config, startSec int64) {
	r := simkit.RNG(cfg.Seed, "absorb/courses")
	d.courses = make([]*course, cfg.Courses)
	for i := range d.courses {
		c := &course{
			id:             newGUID(r),
			idx:            i,
			name:           simkit.CourseTitleAt(cfg.Seed, i),
			courseType:     courseTypeOnline,
			versionID:      newGUID(r),
			hasCertificate: r.IntN(10) < 6,
			dateAdded:      startSec - 60*day + r.Int64N(30*day),
		}
		c.dateEdited = c.dateAdded + r.Int64N(30*day)
		c.description = "Learn " + c.name + "."
		if r.IntN(2) == 0 {
			c.credits = float64(1 + r.IntN(4))
		}
		if r.IntN(10) < 4 {
			c.validityDays = 365
		}
		if i%instructorLedEvery == instructorLedOffset {
			c.courseType = courseTypeInstructor
			for s := 0; s < sessionsPerILC; s++ {
				ses := &session{id: newGUID(r), course: c, name: fmt.Sprintf("%s – Session %c", c.name, 'A'+s),
					start: c.dateAdded + int64(s+1)*90*day}
				c.sessions = append(c.sessions, ses)
				d.sessions[ses.id] = ses
			}
		} else {
			for ch := 0; ch < 2+r.IntN(2); ch++ {
				chap := &chapter{id: newGUID(r), course: c, name: fmt.Sprintf("Chapter %d", ch+1)}
				for l := 0; l < 2+r.IntN(2); l++ {
					les := &lesson{id: newGUID(r), idx: len(c.lessons), chapter: chap,
						name: fmt.Sprintf("Lesson %d.%d", ch+1, l+1), kind: []string{"ObjectLesson", "Assessment", "VideoLesson"}[r.IntN(3)]}
					chap.lessons = append(chap.lessons, les)
					c.lessons = append(c.lessons, les)
					d.lessons[les.id] = les
				}
				c.chapters = append(c.chapters, chap)
				d.chapters[chap.id] = chap
			}
		}
		d.courses[i] = c
		d.coursesByID[c.id] = c
	}
}

// statusWeights picks the status of generated current rows after the first
// thirteen, which cover every status 0–12 once.
var statusWeights = []struct {
	status int8
	weight int
}{
	{statusNotStarted, 16}, {statusInProgress, 24}, {statusPendingApproval, 3}, {statusComplete, 34},
	{statusNotComplete, 4}, {statusFailed, 5}, {statusDeclined, 2}, {statusPendingEvaluationRequired, 2},
	{statusOnWaitlist, 2}, {statusAbsent, 2}, {statusNotApplicable, 1}, {statusPendingProctor, 2}, {statusReadyForReview, 3},
}

func pickStatus(r *rand.Rand) int8 {
	total := 0
	for _, w := range statusWeights {
		total += w.weight
	}
	n := r.IntN(total)
	for _, w := range statusWeights {
		if n < w.weight {
			return w.status
		}
		n -= w.weight
	}
	return statusNotStarted
}

func (d *dataset) generateEnrollments(cfg Config, startSec, endSec int64) error {
	r := simkit.RNG(cfg.Seed, "absorb/enrollments")
	pairs := uint64(len(d.users)) * uint64(len(d.courses))
	if uint64(cfg.Enrollments) > pairs {
		return fmt.Errorf("absorbsim: %d enrollments do not fit %d users × %d courses (one current enrollment per user and course)",
			cfg.Enrollments, len(d.users), len(d.courses))
	}
	// Walking the user×course pairs with a stride coprime to their count
	// visits each pair at most once and scatters rows over users and
	// courses without a shuffle table.
	stride := uint64(2654435761) % pairs
	for stride == 0 || gcd(stride, pairs) != 1 {
		stride++
	}
	offset := r.Uint64N(pairs)
	const chunk = 1 << 14
	var pool []enrollment
	alloc := func() *enrollment {
		if len(pool) == cap(pool) {
			pool = make([]enrollment, 0, chunk)
		}
		pool = pool[:len(pool)+1]
		return &pool[len(pool)-1]
	}
	n := int64(max(cfg.Enrollments, 1))
	for i := 0; i < cfg.Enrollments; i++ {
		p := (offset + uint64(i)*stride) % pairs
		u, c := d.users[p/uint64(len(d.courses))], d.courses[p%uint64(len(d.courses))]
		status := pickStatus(r)
		if i <= maxStatus {
			status = int8(i)
		}
		added := startSec + dataSpanSeconds*int64(i)/n + r.Int64N(3600)
		e := alloc()
		fillGenerated(e, r, u, c, status, added, endSec)
		if r.Float64() < historyShare || i == maxStatus+1 {
			h := alloc()
			prevStatus := []int8{statusComplete, statusFailed, statusNotComplete}[r.IntN(3)]
			prevAdded := max(added-30*day-r.Int64N(200*day), startSec-60*day)
			fillGenerated(h, r, u, c, prevStatus, prevAdded, added)
			h.isActive = false
			h.session, h.sessionEnrollID = nil, guid{} // history rows keep no session enrollment
			d.add(h)
		}
		d.add(e)
	}
	for _, u := range d.users {
		slices.SortFunc(u.enrollments, before)
	}
	for _, c := range d.courses {
		slices.SortFunc(c.enrollments, before)
		for _, s := range c.sessions {
			slices.SortFunc(s.enrollments, before)
		}
	}
	return nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// add indexes a generated row (lists are sorted once at the end).
func (d *dataset) add(e *enrollment) {
	d.enrollments[e.id] = e
	e.user.enrollments = append(e.user.enrollments, e)
	e.course.enrollments = append(e.course.enrollments, e)
	if e.session != nil {
		e.session.enrollments = append(e.session.enrollments, e)
	}
}

// fillGenerated makes a plausible row in the given status, with every date
// before limit.
func fillGenerated(e *enrollment, r *rand.Rand, u *user, c *course, status int8, added, limit int64) {
	last := limit - 1
	clamp := func(t int64) int64 { return min(t, last) }
	*e = enrollment{id: newGUID(r), user: u, course: c, status: status, isActive: true, dateAdded: clamp(added)}
	e.acceptedTerms = r.IntN(10) < 6
	if r.IntN(10) < 7 {
		e.courseVersionID = c.versionID
	}
	edited := e.dateAdded
	switch status {
	case statusInProgress, statusComplete, statusNotComplete, statusFailed,
		statusPendingEvaluationRequired, statusPendingProctor, statusReadyForReview, statusAbsent:
		e.dateStarted = clamp(e.dateAdded + r.Int64N(10*day))
		e.timeSpentTicks = (5 + r.Int64N(600)) * 60 * ticksPerSecond
		edited = e.dateStarted
	}
	switch status {
	case statusComplete:
		e.dateCompleted = clamp(e.dateStarted + day + r.Int64N(30*day))
		e.progress = 100
		e.score = float64(700+r.IntN(301)) / 10
		edited = e.dateCompleted
		if c.hasCertificate {
			e.certificateID = newGUID(r)
		}
		if c.credits > 0 {
			e.credits, e.hasCredits = c.credits, true
		}
		if c.validityDays > 0 {
			e.dateExpires = e.dateCompleted + c.validityDays*day
		}
	case statusFailed:
		e.progress = 100
		e.score = float64(100+r.IntN(490)) / 10
	case statusNotComplete:
		e.progress = float64(30 + r.IntN(60))
		e.score = float64(r.IntN(600)) / 10
	case statusInProgress, statusPendingEvaluationRequired, statusPendingProctor, statusReadyForReview:
		e.progress = float64(5 + r.IntN(90))
	}
	if r.IntN(10) < 4 {
		e.dateDue = e.dateAdded + (30+r.Int64N(90))*day
	}
	if e.dateExpires == 0 && r.IntN(20) == 0 {
		e.dateExpires = e.dateAdded + 180*day
	}
	if r.IntN(10) == 0 {
		e.accessDate = e.dateAdded + r.Int64N(7*day)
	}
	if r.IntN(10) == 0 {
		e.enrollmentKeyID = newGUID(r)
	}
	if r.IntN(10) == 0 {
		e.courseCollectionID = newGUID(r)
	}
	if len(c.sessions) > 0 && r.IntN(100) < 85 {
		e.session = c.sessions[r.IntN(len(c.sessions))]
		e.sessionEnrollID = newGUID(r)
	}
	e.dateEdited = clamp(edited + r.Int64N(maxGeneratedEditDrift))
	e.sessionEdited = e.dateEdited
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
