package canvassim

import (
	"fmt"
	"strconv"
	"time"
)

// jsonID is a Canvas id: a JSON integer, or a string when the client sent
// `Accept: application/json+canvas-string-ids` (providers.md §1.2).
type jsonID struct {
	v     int64
	str   bool
	valid bool
}

func (i jsonID) MarshalJSON() ([]byte, error) {
	if !i.valid {
		return []byte("null"), nil
	}
	if i.str {
		return strconv.AppendQuote(nil, strconv.FormatInt(i.v, 10)), nil
	}
	return strconv.AppendInt(nil, i.v, 10), nil
}

// jsonTime is Unix seconds rendered as Canvas does, UTC with no fraction
// (providers.md §1.2); 0 is null.
type jsonTime int64

const timeLayout = "2006-01-02T15:04:05Z"

func (t jsonTime) MarshalJSON() ([]byte, error) {
	if t == 0 {
		return []byte("null"), nil
	}
	return strconv.AppendQuote(nil, time.Unix(int64(t), 0).UTC().Format(timeLayout)), nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// enrollmentJSON is the Enrollment object of providers.md §1.4 as an account
// admin (read_sis, read_reports, grader) sees it.
type enrollmentJSON struct {
	ID                   jsonID      `json:"id"`
	UserID               jsonID      `json:"user_id"`
	CourseID             jsonID      `json:"course_id"`
	Type                 string      `json:"type"`
	CreatedAt            jsonTime    `json:"created_at"`
	UpdatedAt            jsonTime    `json:"updated_at"`
	AssociatedUserID     jsonID      `json:"associated_user_id"`
	StartAt              jsonTime    `json:"start_at"`
	EndAt                jsonTime    `json:"end_at"`
	CourseSectionID      jsonID      `json:"course_section_id"`
	RootAccountID        jsonID      `json:"root_account_id"`
	LimitPrivileges      bool        `json:"limit_privileges_to_course_section"`
	EnrollmentState      string      `json:"enrollment_state"`
	Role                 string      `json:"role"`
	RoleID               jsonID      `json:"role_id"`
	LastActivityAt       jsonTime    `json:"last_activity_at"`
	LastAttendedAt       jsonTime    `json:"last_attended_at"`
	TotalActivityTime    int64       `json:"total_activity_time"`
	SISAccountID         *string     `json:"sis_account_id"`
	SISCourseID          *string     `json:"sis_course_id"`
	CourseIntegrationID  *string     `json:"course_integration_id"`
	SISSectionID         *string     `json:"sis_section_id"`
	SectionIntegrationID *string     `json:"section_integration_id"`
	SISUserID            *string     `json:"sis_user_id"`
	SISImportID          jsonID      `json:"sis_import_id"`
	HTMLURL              string      `json:"html_url"`
	Grades               *gradesJSON `json:"grades,omitempty"`
	User                 *userJSON   `json:"user,omitempty"`
	Locked               *bool       `json:"locked,omitempty"`
	CanBeRemoved         *bool       `json:"can_be_removed,omitempty"`
}

// gradesJSON is what a grader sees: posted and unposted values (§1.4).
type gradesJSON struct {
	HTMLURL               string   `json:"html_url"`
	CurrentGrade          *string  `json:"current_grade"`
	CurrentScore          *float64 `json:"current_score"`
	FinalGrade            *string  `json:"final_grade"`
	FinalScore            *float64 `json:"final_score"`
	CurrentPoints         *float64 `json:"current_points,omitempty"`
	UnpostedCurrentGrade  *string  `json:"unposted_current_grade"`
	UnpostedCurrentScore  *float64 `json:"unposted_current_score"`
	UnpostedFinalGrade    *string  `json:"unposted_final_grade"`
	UnpostedFinalScore    *float64 `json:"unposted_final_score"`
	UnpostedCurrentPoints *float64 `json:"unposted_current_points,omitempty"`
}

// userJSON is Canvas's User summary as list answers embed it.
type userJSON struct {
	ID            jsonID   `json:"id"`
	Name          string   `json:"name"`
	CreatedAt     jsonTime `json:"created_at"`
	SortableName  string   `json:"sortable_name"`
	ShortName     string   `json:"short_name"`
	SISUserID     *string  `json:"sis_user_id"`
	IntegrationID *string  `json:"integration_id"`
	LoginID       string   `json:"login_id"`
	SISImportID   jsonID   `json:"sis_import_id"`
	AvatarURL     string   `json:"avatar_url,omitempty"`
	// Email appears on the users route with include[]=email, for callers
	// with read_email_addresses (lib/api/v1/user.rb user_json). Enrollment
	// lists never carry it: enrollment_json passes only avatar_url and
	// group_ids on to user_json.
	Email string `json:"email,omitempty"`
}

type courseJSON struct {
	ID                   jsonID   `json:"id"`
	Name                 string   `json:"name"`
	AccountID            jsonID   `json:"account_id"`
	RootAccountID        jsonID   `json:"root_account_id"`
	CourseCode           string   `json:"course_code"`
	WorkflowState        string   `json:"workflow_state"`
	CreatedAt            jsonTime `json:"created_at"`
	StartAt              jsonTime `json:"start_at"`
	EndAt                jsonTime `json:"end_at"`
	SISCourseID          *string  `json:"sis_course_id"`
	IntegrationID        *string  `json:"integration_id"`
	EnrollmentTermID     jsonID   `json:"enrollment_term_id"`
	DefaultView          string   `json:"default_view"`
	IsPublic             bool     `json:"is_public"`
	TimeZone             string   `json:"time_zone"`
	HideFinalGrades      bool     `json:"hide_final_grades"`
	RestrictToCourseDate bool     `json:"restrict_enrollments_to_course_dates"`
}

type sectionJSON struct {
	ID               jsonID   `json:"id"`
	CourseID         jsonID   `json:"course_id"`
	Name             string   `json:"name"`
	StartAt          jsonTime `json:"start_at"`
	EndAt            jsonTime `json:"end_at"`
	CreatedAt        jsonTime `json:"created_at"`
	RestrictToDates  bool     `json:"restrict_enrollments_to_section_dates"`
	NonxlistCourseID jsonID   `json:"nonxlist_course_id"`
	SISSectionID     *string  `json:"sis_section_id"`
	SISCourseID      *string  `json:"sis_course_id"`
	IntegrationID    *string  `json:"integration_id"`
	SISImportID      jsonID   `json:"sis_import_id"`
}

// letterGrade applies Canvas's default grading standard.
func letterGrade(score float64) string {
	cuts := []struct {
		min   float64
		grade string
	}{{94, "A"}, {90, "A-"}, {87, "B+"}, {84, "B"}, {80, "B-"}, {77, "C+"}, {74, "C"}, {70, "C-"}, {67, "D+"}, {64, "D"}, {61, "D-"}}
	for _, c := range cuts {
		if score >= c.min {
			return c.grade
		}
	}
	return "F"
}

// rubyFloat formats like Ruby's Float#to_s, which Canvas's throttling
// headers use ("600.0", not "600").
func rubyFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	for _, c := range s {
		if c == '.' {
			return s
		}
	}
	return s + ".0"
}

func scoreValue(hundredths int32) *float64 {
	if hundredths == noScore {
		return nil
	}
	v := float64(hundredths) / 100
	return &v
}

func (c *call) id(v int64) jsonID { return jsonID{v: v, str: c.stringIDs, valid: true} }

func (c *call) optID(v int64, ok bool) jsonID {
	return jsonID{v: v, str: c.stringIDs, valid: ok}
}

// renderEnrollment builds the Enrollment object; withUser adds the user
// summary that list answers carry (§1.4).
func (c *call) renderEnrollment(st *store, pos int32, withUser bool) enrollmentJSON {
	e := &st.enrollments[pos]
	u := &st.users[e.user]
	co := &st.courses[e.course]
	sec := &st.sections[e.section]
	state := e.state.String()
	out := enrollmentJSON{
		ID:                c.id(e.id),
		UserID:            c.id(u.id),
		CourseID:          c.id(co.id),
		Type:              e.typ.String(),
		CreatedAt:         jsonTime(e.created),
		UpdatedAt:         jsonTime(e.updated),
		AssociatedUserID:  c.optID(0, false),
		StartAt:           jsonTime(e.startAt),
		EndAt:             jsonTime(e.endAt),
		CourseSectionID:   c.id(sec.id),
		RootAccountID:     c.id(c.sim.accountID),
		LimitPrivileges:   e.limitToSection,
		EnrollmentState:   state,
		Role:              e.typ.String(),
		RoleID:            c.id(e.typ.roleID()),
		LastActivityAt:    jsonTime(e.lastActivity),
		LastAttendedAt:    jsonTime(e.lastAttended),
		TotalActivityTime: int64(e.totalActivity),
		SISCourseID:       optString(co.sisID),
		SISSectionID:      optString(sec.sisID),
		SISUserID:         optString(u.sisID),
		SISImportID:       c.optID(0, false),
		HTMLURL:           fmt.Sprintf("%s/courses/%d/users/%d", c.base, co.id, u.id),
	}
	if e.associatedUser >= 0 {
		out.AssociatedUserID = c.id(st.users[e.associatedUser].id)
	}
	if e.typ == studentEnrollment {
		out.Grades = c.renderGrades(co, u, e)
	}
	if withUser {
		uj := c.renderUser(u)
		uj.Email = ""
		out.User = &uj
	}
	if c.includes("locked") {
		// Nothing here came from a SIS import, so nothing is locked.
		out.Locked = new(bool)
	}
	if c.includes("can_be_removed") {
		yes := true
		out.CanBeRemoved = &yes
	}
	return out
}

func (c *call) renderGrades(co *course, u *user, e *enrollment) *gradesJSON {
	g := &gradesJSON{HTMLURL: fmt.Sprintf("%s/courses/%d/grades/%d", c.base, co.id, u.id)}
	g.CurrentScore = scoreValue(e.currentScore)
	g.FinalScore = scoreValue(e.finalScore)
	if co.hasScheme {
		if g.CurrentScore != nil {
			g.CurrentGrade = optString(letterGrade(*g.CurrentScore))
		}
		if g.FinalScore != nil {
			g.FinalGrade = optString(letterGrade(*g.FinalScore))
		}
	}
	// The simulated courses have no muted assignments, so the unposted
	// values equal the posted ones.
	g.UnpostedCurrentScore, g.UnpostedFinalScore = g.CurrentScore, g.FinalScore
	g.UnpostedCurrentGrade, g.UnpostedFinalGrade = g.CurrentGrade, g.FinalGrade
	if c.includes("current_points") && g.CurrentScore != nil {
		// Every simulated course is worth 1000 points.
		p := *g.CurrentScore * 10
		g.CurrentPoints, g.UnpostedCurrentPoints = &p, &p
	}
	return g
}

func (c *call) renderUser(u *user) userJSON {
	out := userJSON{
		ID:           c.id(u.id),
		Name:         u.name(),
		CreatedAt:    jsonTime(u.created),
		SortableName: u.sortableName(),
		ShortName:    u.name(),
		SISUserID:    optString(u.sisID),
		LoginID:      u.login,
		SISImportID:  c.optID(0, false),
	}
	if c.includes("avatar_url") {
		out.AvatarURL = c.base + "/images/messages/avatar-50.png"
	}
	if c.includes("email") {
		out.Email = u.email
	}
	return out
}

func (c *call) renderCourse(co *course) courseJSON {
	return courseJSON{
		ID:               c.id(co.id),
		Name:             co.name,
		AccountID:        c.id(c.sim.accountID),
		RootAccountID:    c.id(c.sim.accountID),
		CourseCode:       co.code,
		WorkflowState:    co.state.String(),
		CreatedAt:        jsonTime(co.created),
		StartAt:          jsonTime(co.startAt),
		EndAt:            jsonTime(co.endAt),
		SISCourseID:      optString(co.sisID),
		EnrollmentTermID: c.id(1),
		DefaultView:      "modules",
		TimeZone:         "Etc/UTC",
	}
}

func (c *call) renderSection(st *store, sec *section) sectionJSON {
	co := &st.courses[sec.course]
	return sectionJSON{
		ID:               c.id(sec.id),
		CourseID:         c.id(co.id),
		Name:             sec.name,
		CreatedAt:        jsonTime(sec.created),
		NonxlistCourseID: c.optID(0, false),
		SISSectionID:     optString(sec.sisID),
		SISCourseID:      optString(co.sisID),
		SISImportID:      c.optID(0, false),
	}
}
