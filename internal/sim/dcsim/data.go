package dcsim

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// status is a registration's state; the four values of seed 000.
type status uint8

const (
	statusActive status = iota
	statusPassed
	statusFailed
	statusEjected
)

var statusNames = [...]string{"active", "passed", "failed", "ejected"}

func (s status) String() string { return statusNames[s] }

func parseStatus(v string) (status, bool) {
	for i, n := range statusNames {
		if n == v {
			return status(i), true
		}
	}
	return 0, false
}

// vendorID is a DigitalChalk id: 32 lowercase hex characters (providers.md
// §3.3), kept as 16 bytes so a million registrations stay small.
type vendorID [16]byte

func (id vendorID) String() string { return hex.EncodeToString(id[:]) }

// parseVendorID accepts only the vendor's shape, so malformed ids are 404
// like unknown ones (providers.md §3.3).
func parseVendorID(s string) (vendorID, bool) {
	var id vendorID
	if len(s) != 32 || strings.ToLower(s) != s {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, false
	}
	return id, true
}

func newVendorID(r *rand.Rand) vendorID {
	var id vendorID
	a, b := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		id[i] = byte(a >> (8 * i))
		id[8+i] = byte(b >> (8 * i))
	}
	return id
}

// registration is one row, compact on purpose: the simulator must hold a
// million of them in well under a GiB. Dates are Unix seconds, 0 = unset
// (the vendor omits unset fields, seed 000).
type registration struct {
	id                              vendorID
	created, begin, lastActive, end int64
	grade                           float64
	comment                         string
	user                            int32
	offering                        int32
	grader                          int32 // user index of a manual grader, -1 when graded by the course
	status                          status
	hasGrade                        bool
	deleted                         bool
}

type user struct {
	id       vendorID
	first    string
	last     string
	username string
	email    string
	created  int64
}

// offering is the enrollable unit (providers.md §3.5). passingGrade and
// allowRetake drive the state machine but are not in the documented JSON.
type offering struct {
	id                          vendorID
	title                       string
	created, begin, end         int64 // end 0 = open-ended
	regBegin, regEnd            int64 // regEnd 0 = open while the offering runs
	catalog, dashboard, deliver string
	price                       float64
	categoryIDs                 []string
	tags                        []string
	orderIndex                  int
	passingGrade                float64
	allowRetake                 bool
	settled                     bool // its end passed and its active registrations were graded
}

// registrationOpen reports whether the offering takes registrations at now.
func (o *offering) registrationOpen(now int64) bool {
	if o.regBegin > now {
		return false
	}
	if o.regEnd != 0 && o.regEnd < now {
		return false
	}
	return o.end == 0 || o.end > now
}

// offeringKind shapes the data set so every state of the vendor appears in
// any data set of ten or more offerings.
type offeringKind int

const (
	kindOpen      offeringKind = iota
	kindOpenEnded              // open, no endDate
	kindClosed                 // registration closed, offering still running
	kindEnded                  // endDate passed: everything graded (providers.md §3.5)
	kindNotYetOpen
)

var kindCycle = [10]struct {
	kind    offeringKind
	retakes bool
}{
	{kindOpen, true}, {kindOpenEnded, false}, {kindClosed, false}, {kindEnded, true}, {kindNotYetOpen, false},
	{kindOpen, true}, {kindOpen, false}, {kindOpenEnded, true}, {kindEnded, false}, {kindOpen, false},
}

var (
	categoryIDs = []string{"2c9f8a1e4b0d41a3a1f0c6e5d4b3a291", "7e1d2c3b4a5968778695a4b3c2d1e0f9", "a0b1c2d3e4f5061728394a5b6c7d8e9f"}
	tagPool     = []string{"compliance", "safety", "onboarding", "annual", "leadership", "it", "health"}
	comments    = []string{
		"credit given for hard-copy of assessment received. -course admin",
		"Graded after proctored exam.",
		"Retake approved by manager.",
		"Manual override: certificate of équivalence accepted.",
	}
)

const day = 24 * 60 * 60

// generate builds the data set. Dates are anchored at the start of the
// clock's current UTC day, so one seed gives the same data all day long, and
// all generated activity lies before the clock.
func (s *Sim) generate(now time.Time) {
	anchor := now.UTC().Truncate(24 * time.Hour).Unix()
	seed := s.cfg.Seed

	s.users = make([]user, s.cfg.Users)
	s.userIndex = make(map[vendorID]int32, s.cfg.Users)
	ur := simkit.RNG(seed, "dcsim/users")
	for i := range s.users {
		p := simkit.PersonAt(seed, i)
		u := user{id: newVendorID(ur), first: p.First, last: p.Last, username: p.Login, email: p.Email,
			created: anchor - int64(400+ur.IntN(1000))*day - ur.Int64N(day)}
		if i == 0 {
			// The account whose API token the simulator accepts: it is the
			// graderId of every grade assigned through the API (seed 000).
			u.first, u.last, u.username, u.email = "Org", "Administrator", "api.admin", "api.admin@example.com"
		}
		s.users[i] = u
		s.userIndex[u.id] = int32(i)
	}

	s.offerings = make([]offering, s.cfg.Courses)
	s.offeringIndex = make(map[vendorID]int32, s.cfg.Courses)
	or := simkit.RNG(seed, "dcsim/offerings")
	passMarks := []float64{60, 70, 75, 80}
	for i := range s.offerings {
		shape := kindCycle[i%len(kindCycle)]
		title := simkit.CourseTitleAt(seed, i)
		o := offering{
			id:           newVendorID(or),
			title:        title,
			catalog:      "Learn the essentials of " + title + ".",
			dashboard:    "Welcome to " + title + ". Work through every module, then take the final assessment.",
			deliver:      "Self-paced online.",
			price:        float64(or.IntN(20)) * 25,
			categoryIDs:  []string{categoryIDs[i%len(categoryIDs)]},
			tags:         pickTags(or),
			orderIndex:   i,
			passingGrade: passMarks[or.IntN(len(passMarks))],
			allowRetake:  shape.retakes,
		}
		switch shape.kind {
		case kindOpen, kindOpenEnded:
			o.regBegin = anchor - int64(200+or.IntN(165))*day
			if shape.kind == kindOpen {
				o.end = anchor + int64(30+or.IntN(335))*day
				o.regEnd = o.end - 7*day
			}
		case kindClosed:
			o.regBegin = anchor - int64(250+or.IntN(100))*day
			o.regEnd = anchor - int64(5+or.IntN(55))*day
			o.end = anchor + int64(30+or.IntN(150))*day
		case kindEnded:
			o.regBegin = anchor - int64(400+or.IntN(300))*day
			o.end = anchor - int64(10+or.IntN(90))*day
			o.regEnd = o.end - 30*day
		case kindNotYetOpen:
			o.regBegin = anchor + int64(10+or.IntN(50))*day
			o.regEnd = o.regBegin + 90*day
			o.end = o.regBegin + 180*day
		}
		o.begin = o.regBegin
		o.created = o.regBegin - int64(10+or.IntN(60))*day
		s.offerings[i] = o
		s.offeringIndex[o.id] = int32(i)
	}

	s.generateRegistrations(anchor)
}

func pickTags(r *rand.Rand) []string {
	n := 1 + r.IntN(3)
	perm := r.Perm(len(tagPool))
	tags := make([]string, n)
	for i := range tags {
		tags[i] = tagPool[perm[i]]
	}
	return tags
}

// generateRegistrations spreads the registrations over distinct (user,
// offering) pairs, each pair holding a chain of attempts: every attempt but
// the last is finished, so there is never more than one active registration
// per pair, and where retakes are not allowed the earlier attempts are
// ejections, never completions (providers.md §3.3: a completed offering
// without retakes cannot be registered again).
func (s *Sim) generateRegistrations(anchor int64) {
	n := s.cfg.Enrollments
	s.regs = make([]registration, 0, n+n/100+16)
	learners := len(s.users) - 1
	var eligible []int32
	for i := range s.offerings {
		if s.offerings[i].regBegin < anchor {
			eligible = append(eligible, int32(i))
		}
	}
	if n == 0 || learners == 0 || len(eligible) == 0 {
		s.buildIndexes()
		return
	}
	r := simkit.RNG(s.cfg.Seed, "dcsim/registrations")
	pairs := uint64(learners) * uint64(len(eligible))
	chains := n - n/8
	if uint64(chains) > pairs {
		chains = int(pairs)
	}
	lengths := make([]int32, chains)
	for i := range lengths {
		lengths[i] = 1
	}
	for extra := n - chains; extra > 0; extra-- {
		lengths[r.IntN(chains)]++
	}
	// An affine map j → (a·j + b) mod pairs with gcd(a, pairs) = 1 is a
	// permutation, so chains get distinct pairs without materialising them.
	a := r.Uint64N(pairs) | 1
	for gcd(a, pairs) != 1 {
		a = r.Uint64N(pairs) | 1
	}
	b := r.Uint64N(pairs)
	for j := 0; j < chains; j++ {
		hi, lo := bits.Mul64(a, uint64(j))
		_, p := bits.Div64(hi, lo, pairs) // a·j mod pairs without overflow; hi < pairs since a < pairs
		p = (p + b) % pairs
		u := int32(1 + p%uint64(learners))
		o := eligible[p/uint64(learners)]
		s.generateChain(r, anchor, u, o, int(lengths[j]))
	}

	// List in creation order, as a log of registrations would be; new
	// registrations then simply append.
	slices.SortFunc(s.regs, func(x, y registration) int {
		if x.created != y.created {
			return int(x.created - y.created)
		}
		return slices.Compare(x.id[:], y.id[:])
	})
	s.buildIndexes()
}

func (s *Sim) generateChain(r *rand.Rand, anchor int64, u, oi int32, attempts int) {
	o := &s.offerings[oi]
	from, to := o.regBegin, anchor
	if o.regEnd != 0 && o.regEnd < to {
		to = o.regEnd
	}
	if o.end != 0 && o.end < to {
		to = o.end - day
	}
	slot := (to - from) / int64(attempts)
	if slot < 4 {
		slot = 4
	}
	for t := 0; t < attempts; t++ {
		start := from + int64(t)*slot
		reg := registration{
			id:       newVendorID(r),
			user:     u,
			offering: oi,
			grader:   -1,
			created:  start + r.Int64N(slot/4+1),
		}
		slotEnd := start + slot - 1
		last := t == attempts-1
		switch {
		case !last && o.allowRetake:
			reg.status = []status{statusFailed, statusFailed, statusFailed, statusEjected, statusPassed}[r.IntN(5)]
		case !last:
			reg.status = statusEjected
		default:
			reg.status = []status{statusActive, statusActive, statusActive, statusActive, statusActive,
				statusPassed, statusPassed, statusPassed, statusFailed, statusEjected}[r.IntN(10)]
		}
		if last {
			slotEnd = anchor - 1
			if o.end != 0 && o.end <= anchor {
				slotEnd = o.end - 1
			}
		}
		if reg.status == statusActive {
			if r.IntN(10) >= 3 { // 30% never started: "enrolled" rather than "in progress"
				reg.begin = reg.created + r.Int64N(2*day)
				reg.lastActive = between(r, reg.begin, max(reg.begin, slotEnd))
			}
		} else {
			if reg.status != statusEjected || r.IntN(2) == 0 {
				reg.begin = reg.created + r.Int64N(2*day)
			}
			reg.end = between(r, max(reg.begin, reg.created)+60, max(reg.begin, reg.created, slotEnd))
			if reg.begin != 0 {
				reg.lastActive = between(r, reg.begin, reg.end)
			}
			if reg.status == statusPassed || reg.status == statusFailed {
				reg.hasGrade = true
				if reg.status == statusPassed {
					reg.grade = roundGrade(o.passingGrade + r.Float64()*(100-o.passingGrade))
				} else {
					reg.grade = roundGrade(r.Float64() * (o.passingGrade - 0.1))
				}
				if r.IntN(10) < 3 { // graded by hand, sometimes with a comment (seed 000)
					reg.grader = 0
					if r.IntN(2) == 0 {
						reg.comment = comments[r.IntN(len(comments))]
					}
				}
			}
		}
		s.regs = append(s.regs, reg)
	}
}

func between(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo+1)
}

// roundGrade keeps one decimal, as the vendor's example 99.7 (providers.md §3.3).
func roundGrade(g float64) float64 { return math.Round(g*10) / 10 }

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// buildIndexes rebuilds the id index and the listing orders from s.regs.
func (s *Sim) buildIndexes() {
	s.regIndex = make(map[vendorID]int32, cap(s.regs))
	s.live = make([]int32, 0, cap(s.regs))
	s.byUser = make([][]int32, len(s.users))
	s.byOffering = make([][]int32, len(s.offerings))
	for i := range s.regs {
		reg := &s.regs[i]
		if _, dup := s.regIndex[reg.id]; dup {
			// 128 random bits: a collision means a broken generator.
			panic(fmt.Sprintf("dcsim: duplicate registration id %s", reg.id))
		}
		s.regIndex[reg.id] = int32(i)
		s.live = append(s.live, int32(i))
		s.byUser[reg.user] = append(s.byUser[reg.user], int32(i))
		s.byOffering[reg.offering] = append(s.byOffering[reg.offering], int32(i))
	}
	s.nextEnd = s.computeNextEnd()
}

// computeNextEnd is the earliest end of an offering not yet settled, so
// requests check cheaply whether any offering ended since the last one.
func (s *Sim) computeNextEnd() int64 {
	next := int64(math.MaxInt64)
	for i := range s.offerings {
		o := &s.offerings[i]
		if o.end != 0 && !o.settled && o.end < next {
			next = o.end
		}
	}
	return next
}

// settle halts and grades the active registrations of every offering whose
// endDate has passed (providers.md §3.5). It runs lazily, on requests, so a
// /_sim/clock advance shows up on the next vendor call. Caller holds s.mu.
func (s *Sim) settle(now int64) {
	if now < s.nextEnd {
		return
	}
	for oi := range s.offerings {
		o := &s.offerings[oi]
		if o.end == 0 || o.settled || o.end > now {
			continue
		}
		for _, ri := range s.byOffering[oi] {
			reg := &s.regs[ri]
			if reg.status != statusActive {
				continue
			}
			// Never started means nothing earned; otherwise a score derived
			// from the id, so the outcome is the same on every run.
			grade := 0.0
			if reg.begin != 0 {
				grade = roundGrade(35 + float64(uint16(reg.id[0])<<8|uint16(reg.id[1]))/65535*65)
			}
			s.assignGrade(reg, grade, o.end, -1, "")
		}
		o.settled = true
	}
	s.nextEnd = s.computeNextEnd()
}

// assignGrade halts a registration with a grade: passed or failed by the
// offering's passing grade (providers.md §3.3 "assign grade").
func (s *Sim) assignGrade(reg *registration, grade float64, at int64, grader int32, comment string) {
	o := &s.offerings[reg.offering]
	reg.grade, reg.hasGrade = grade, true
	reg.status = statusFailed
	if grade >= o.passingGrade {
		reg.status = statusPassed
	}
	reg.end = at
	reg.grader = grader
	reg.comment = comment
}
