package canvas

import (
	"encoding/json"
	"math"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/registrarhq/registrar/internal/lms"
)

// statusOf is the Canvas column of DESIGN.md's status table. It reads the
// stored enrollment_state (providers.md §1.4: the JSON carries the stored
// workflow_state, not the date-adjusted one) and, for active enrollments,
// whether Canvas recorded any activity.
func statusOf(state string, hasActivity bool) lms.Status {
	switch state {
	case "invited", "creation_pending":
		return lms.StatusAssigned
	case "active":
		if hasActivity {
			return lms.StatusInProgress
		}
		return lms.StatusEnrolled
	case "completed":
		return lms.StatusCompleted
	case "deleted", "rejected", "inactive":
		return lms.StatusWithdrawn
	default:
		return lms.StatusUnknown
	}
}

// roleOf maps the enrollment base type (seed 004 "type"). StudentViewEnrollment
// is Canvas's "test student" of a teacher, a learner seat (§1.4).
func roleOf(typ string) lms.Role {
	switch typ {
	case "StudentEnrollment", "StudentViewEnrollment":
		return lms.RoleLearner
	case "TeacherEnrollment":
		return lms.RoleInstructor
	case "TaEnrollment":
		return lms.RoleTeachingAssistant
	case "DesignerEnrollment":
		return lms.RoleDesigner
	case "ObserverEnrollment":
		return lms.RoleObserver
	}
	return ""
}

// typeOf is roleOf's inverse for enrolling.
func typeOf(role lms.Role) (string, bool) {
	switch role {
	case "", lms.RoleLearner:
		return "StudentEnrollment", true
	case lms.RoleInstructor:
		return "TeacherEnrollment", true
	case lms.RoleTeachingAssistant:
		return "TaEnrollment", true
	case lms.RoleDesigner:
		return "DesignerEnrollment", true
	case lms.RoleObserver:
		return "ObserverEnrollment", true
	}
	return "", false
}

// mapOptions are the settings that shape the mapping.
type mapOptions struct {
	// scoreFinal takes score and grade from final_score/final_grade instead of
	// current_score/current_grade.
	scoreFinal bool
}

// mapEnrollment turns one raw Canvas Enrollment into the unified record.
// courseTitle comes from the course walk (an enrollment does not carry it).
//
// Choices, from seed 004 and providers.md §1.4:
//   - created_at/updated_at are the record's own times;
//   - end_at (when the enrollment's access ends, after which Canvas
//     soft-concludes it) becomes expires_at, so the store derives "expired";
//   - start_at (when access begins) is not when the learner started, so it
//     goes to custom_fields, not started_at;
//   - Canvas has no due date, progress or completion time on an enrollment.
func mapEnrollment(raw json.RawMessage, courseTitle string, opts mapOptions) (lms.CourseEnrollment, error) {
	var w enrollment
	if err := gojson.Unmarshal(raw, &w); err != nil {
		return lms.CourseEnrollment{}, err
	}
	e := lms.CourseEnrollment{
		ID:           string(w.ID),
		Status:       statusOf(w.EnrollmentState, w.LastActivityAt.Valid),
		RemoteData:   append(json.RawMessage(nil), raw...),
		Provider:     Name,
		RemoteStatus: w.EnrollmentState,
		Role:         roleOf(w.Type),
	}
	userID := string(w.UserID)
	if w.User != nil && w.User.ID != "" {
		userID = string(w.User.ID)
	}
	if userID != "" {
		e.User = &lms.User{ID: userID}
		if w.User != nil {
			e.User.Name = w.User.Name
			if w.User.Email != "" {
				e.User.Emails = []lms.Email{{Email: w.User.Email, IsPrimary: lms.Ptr(true)}}
			}
		}
	}
	if w.CourseID != "" {
		e.Course = &lms.Course{ID: string(w.CourseID), Title: courseTitle}
	}
	if w.CourseSectionID != "" {
		e.Section = &lms.Section{ID: string(w.CourseSectionID)}
	}
	e.CreatedAt = timePtr(w.CreatedAt)
	e.UpdatedAt = timePtr(w.UpdatedAt)
	e.LastActivityAt = timePtr(w.LastActivityAt)
	e.ExpiresAt = timePtr(w.EndAt)
	if w.TotalActivityTime.Valid {
		e.TimeSpentSeconds = lms.Ptr(int64(math.Round(w.TotalActivityTime.Value)))
	}
	if w.HTMLURL != "" {
		e.URLs = append(e.URLs, lms.URL{URL: w.HTMLURL, Type: "enrollment"})
	}
	if g := w.Grades; g != nil {
		if g.HTMLURL != "" {
			e.URLs = append(e.URLs, lms.URL{URL: g.HTMLURL, Type: "grades"})
		}
		score, grade := g.CurrentScore, g.CurrentGrade
		if opts.scoreFinal {
			score, grade = g.FinalScore, g.FinalGrade
		}
		if score.Valid {
			e.Score = lms.Ptr(score.Value)
		}
		if grade != nil {
			e.Grade = *grade
		}
	}
	custom := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			custom[k] = v
		}
	}
	if w.StartAt.Valid {
		put("start_at", lms.UTC(w.StartAt.Time).Format("2006-01-02T15:04:05Z"))
	}
	if w.LastAttendedAt.Valid {
		put("last_attended_at", lms.UTC(w.LastAttendedAt.Time).Format("2006-01-02T15:04:05Z"))
	}
	if w.Role != "" && w.Role != w.Type {
		put("role", w.Role) // a custom course role (seed 004: role matches type unless customised)
	}
	put("role_id", string(w.RoleID))
	put("associated_user_id", string(w.AssociatedUserID))
	put("sis_user_id", w.SISUserID)
	put("sis_course_id", w.SISCourseID)
	put("sis_section_id", w.SISSectionID)
	if len(custom) > 0 {
		e.CustomFields = custom
	}
	return e, nil
}

func timePtr(t canvasTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return lms.UTC(t.Time)
}
