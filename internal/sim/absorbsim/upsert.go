package absorbsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// settable tells whether a (lowercased) property is one of the only eight
// that create-or-update may change (seed 003 "Create or update course
// enrollment"; providers.md §2.3), and returns its documented spelling.
// Names are matched case-insensitively, as a .NET model binder does.
func settable(key string) (string, bool) {
	switch key {
	case "status":
		return "Status", true
	case "datecompleted":
		return "DateCompleted", true
	case "dateexpires":
		return "DateExpires", true
	case "courseversionid":
		return "CourseVersionId", true
	case "acceptedtermsandconditions":
		return "AcceptedTermsAndConditions", true
	case "enrollmentkeyid":
		return "EnrollmentKeyId", true
	case "credits":
		return "Credits", true
	case "score":
		return "Score", true
	}
	return "", false
}

// enrollmentUpdate is a validated create-or-update body.
type enrollmentUpdate struct {
	courseID guid
	id       guid // optional: must name the user's current row in the course
	set      map[string]json.RawMessage
}

// parseUpdate validates the body: courseId is required, id and userId may
// identify the row, and every other property must be settable (anything
// else is a 400 naming it, so a client learns at once that a field it
// sends is ignored by the vendor).
func parseUpdate(body map[string]json.RawMessage, pathUser guid) (enrollmentUpdate, []string) {
	up := enrollmentUpdate{set: map[string]json.RawMessage{}}
	var problems []string
	var readOnly []string
	hasCourse := false
	for name, raw := range body {
		key := strings.ToLower(name)
		switch key {
		case "courseid":
			var s string
			g, ok := guid{}, json.Unmarshal(raw, &s) == nil
			if ok {
				g, ok = parseGUID(s)
			}
			if !ok {
				problems = append(problems, "courseId must be a GUID.")
				continue
			}
			up.courseID, hasCourse = g, true
		case "userid", "id":
			if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				continue
			}
			var s string
			g, ok := guid{}, json.Unmarshal(raw, &s) == nil
			if ok {
				g, ok = parseGUID(s)
			}
			switch {
			case !ok:
				problems = append(problems, name+" must be a GUID.")
			case key == "userid" && g != pathUser:
				problems = append(problems, "userId in the body does not match the user in the path.")
			case key == "id":
				up.id = g
			}
		default:
			if _, ok := settable(key); !ok {
				readOnly = append(readOnly, name)
				continue
			}
			up.set[key] = raw
		}
	}
	if !hasCourse {
		problems = append(problems, "courseId is required.")
	}
	for _, name := range sortedStrings(readOnly) {
		problems = append(problems, fmt.Sprintf("%s is not a settable property. Settable properties are Status, DateCompleted, DateExpires, CourseVersionId, AcceptedTermsAndConditions, EnrollmentKeyId, Credits, Score.", name))
	}
	return up, problems
}

// applyUpdate checks the settable values and, when all are valid, writes
// them to e. Type errors are 400s (returned first), out-of-range values 422s.
func applyUpdate(e *enrollment, set map[string]json.RawMessage, now int64, dryRun bool) (badType, badValue []string) {
	isNull := func(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
	var status *int
	var score, credits *float64
	var accepted *bool
	dates := map[string]int64{}
	guids := map[string]guid{}
	for key, raw := range set {
		name, _ := settable(key)
		switch key {
		case "status":
			var n int
			if err := json.Unmarshal(raw, &n); err != nil {
				badType = append(badType, name+" must be an integer.")
			} else if n < 0 || n > maxStatus {
				badValue = append(badValue, fmt.Sprintf("Status must be from 0 to %d.", maxStatus))
			} else {
				status = &n
			}
		case "score", "credits":
			if key == "credits" && isNull(raw) {
				zero := -1.0
				credits = &zero
				continue
			}
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				badType = append(badType, name+" must be a number.")
			} else if key == "score" && (f < 0 || f > 100) {
				badValue = append(badValue, "Score must be a percentage from 0 to 100.")
			} else if f < 0 {
				badValue = append(badValue, name+" must not be negative.")
			} else if key == "score" {
				score = &f
			} else {
				credits = &f
			}
		case "acceptedtermsandconditions":
			var b bool
			if err := json.Unmarshal(raw, &b); err != nil {
				badType = append(badType, name+" must be true or false.")
			} else {
				accepted = &b
			}
		case "datecompleted", "dateexpires":
			if isNull(raw) {
				dates[key] = 0
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				badType = append(badType, name+" must be a date-time string.")
				continue
			}
			t, err := parseAbsorbTime(s)
			if err != nil {
				badType = append(badType, name+" must be yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss.")
				continue
			}
			dates[key] = t.Unix()
		case "courseversionid", "enrollmentkeyid":
			if isNull(raw) {
				guids[key] = guid{}
				continue
			}
			var s string
			g, ok := guid{}, json.Unmarshal(raw, &s) == nil
			if ok {
				g, ok = parseGUID(s)
			}
			if !ok {
				badType = append(badType, name+" must be a GUID.")
				continue
			}
			if key == "courseversionid" && g != e.course.versionID {
				badValue = append(badValue, "CourseVersionId does not name a version of this course.")
				continue
			}
			guids[key] = g
		}
	}
	if dryRun || len(badType) > 0 || len(badValue) > 0 {
		return sortedStrings(badType), sortedStrings(badValue)
	}
	if status != nil {
		setStatus(e, int8(*status), now)
	}
	if t, ok := dates["datecompleted"]; ok {
		e.dateCompleted = t
	}
	if t, ok := dates["dateexpires"]; ok {
		e.dateExpires = t
	}
	if score != nil {
		e.score = *score
	}
	if credits != nil {
		e.credits, e.hasCredits = max(*credits, 0), *credits >= 0
	}
	if accepted != nil {
		e.acceptedTerms = *accepted
	}
	if g, ok := guids["courseversionid"]; ok {
		e.courseVersionID = g
	}
	if g, ok := guids["enrollmentkeyid"]; ok {
		e.enrollmentKeyID = g
	}
	e.dateEdited = now
	return nil, nil
}

// createOrUpdateEnrollment is seed 003 "Create or update course
// enrollment": it updates the user's current row in the body's course (or
// creates it; with reEnroll=true it keeps the current row as history and
// creates a new one) and answers 201 {enrollmentId, courseId, userId}.
func (s *Sim) createOrUpdateEnrollment(w http.ResponseWriter, r *http.Request, _ *user) {
	reEnroll, ok := readBool(w, r, "reEnroll")
	if !ok {
		return
	}
	var body map[string]json.RawMessage
	if err := decodeJSON(w, r, &body); err != nil || body == nil {
		msg := "the body must be a JSON object"
		if err != nil {
			msg = err.Error()
		}
		badRequest(w, "The request body is not a valid course enrollment.", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.data.userAt(r)
	if u == nil {
		notFound(w, "The user")
		return
	}
	up, problems := parseUpdate(body, u.id)
	if len(problems) > 0 {
		badRequest(w, "The request body is not a valid course enrollment.", problems...)
		return
	}
	c := s.data.coursesByID[up.courseID]
	if c == nil {
		notFound(w, "The course")
		return
	}
	cur := u.currentIn(c)
	if !up.id.isZero() && (cur == nil || cur.id != up.id) {
		unprocessable(w, "The enrollment could not be updated.", "id does not name the user's current enrollment in this course.")
		return
	}
	// Validate against a stand-in row first, so a bad value changes nothing.
	probe := &enrollment{course: c}
	if badType, badValue := applyUpdate(probe, up.set, 0, true); len(badType) > 0 {
		badRequest(w, "The request body is not a valid course enrollment.", badType...)
		return
	} else if len(badValue) > 0 {
		unprocessable(w, "The enrollment could not be updated.", badValue...)
		return
	}
	now := s.now()
	e := s.data.enrollOrReuse(u, c, reEnroll, now)
	applyUpdate(e, up.set, now, false)
	simkit.WriteJSON(w, http.StatusCreated, created(e))
}
