package canvas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// enrollment is the Enrollment object of seed 004, only the fields the
// mapping reads (the whole record is kept verbatim in remote_data).
type enrollment struct {
	ID                flexString `json:"id"`
	CourseID          flexString `json:"course_id"`
	CourseSectionID   flexString `json:"course_section_id"`
	UserID            flexString `json:"user_id"`
	AssociatedUserID  flexString `json:"associated_user_id"`
	EnrollmentState   string     `json:"enrollment_state"`
	Type              string     `json:"type"`
	Role              string     `json:"role"`
	RoleID            flexString `json:"role_id"`
	SISUserID         string     `json:"sis_user_id"`
	SISCourseID       string     `json:"sis_course_id"`
	SISSectionID      string     `json:"sis_section_id"`
	CreatedAt         canvasTime `json:"created_at"`
	UpdatedAt         canvasTime `json:"updated_at"`
	StartAt           canvasTime `json:"start_at"`
	EndAt             canvasTime `json:"end_at"`
	LastActivityAt    canvasTime `json:"last_activity_at"`
	LastAttendedAt    canvasTime `json:"last_attended_at"`
	TotalActivityTime flexNumber `json:"total_activity_time"`
	HTMLURL           string     `json:"html_url"`
	Grades            *grades    `json:"grades"`
	User              *userRef   `json:"user"`
}

// grades is the Grade object of seed 004. Its example shows scores both as
// numbers (35, 6.67) and as "" strings, so both are accepted.
type grades struct {
	HTMLURL      string     `json:"html_url"`
	CurrentGrade *string    `json:"current_grade"`
	FinalGrade   *string    `json:"final_grade"`
	CurrentScore flexNumber `json:"current_score"`
	FinalScore   flexNumber `json:"final_score"`
}

// userRef is the User summary on an enrollment (seed 004 "user") and the
// user of the account users list.
type userRef struct {
	ID           flexString `json:"id"`
	Name         string     `json:"name"`
	SortableName string     `json:"sortable_name"`
	ShortName    string     `json:"short_name"`
	// Email appears only where the caller may read it; Canvas's user summary
	// usually leaves it out.
	Email string `json:"email"`
}

// course is a course of the account courses list.
type course struct {
	ID         flexString `json:"id"`
	Name       string     `json:"name"`
	CourseCode string     `json:"course_code"`
}

// flexString is an id that reads the same whether Canvas sends it as a string
// (with the string-ids Accept header, §1.2) or a number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id %s is neither a string nor a number", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexNumber is a number Canvas may send as a number, a numeric string, ""
// or null; the last two mean unknown.
type flexNumber struct {
	Value float64
	Valid bool
}

func (f *flexNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = flexNumber{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*f = flexNumber{}
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("number %q does not parse", s)
		}
		*f = flexNumber{Value: v, Valid: true}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = flexNumber{Value: v, Valid: true}
	return nil
}

// canvasTime is an ISO-8601 timestamp (§1.2); null or "" means unknown.
type canvasTime struct {
	Time  time.Time
	Valid bool
}

func (c *canvasTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp %s is not a string", b)
	}
	if s == nil || *s == "" {
		*c = canvasTime{}
		return nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return fmt.Errorf("timestamp %q is not ISO-8601: %w", *s, err)
	}
	*c = canvasTime{Time: t, Valid: true}
	return nil
}
