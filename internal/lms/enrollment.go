// Package lms holds Registrar's unified model: the CourseEnrollment object of
// seed 002 plus Registrar's extension fields, the status enum and the rules
// derived from it. It depends on the standard library only, so that every
// other package (connectors, store, API) can share it.
package lms

import (
	"encoding/json"
	"time"
)

// CourseEnrollment is one learner's enrollment in one course, in the shape of
// the unified CourseEnrollments object (seed 002). Fields the LMS does not
// provide stay nil and are omitted from JSON: an unknown value is absent, never
// a zero or an empty string.
type CourseEnrollment struct {
	// Seed 002 fields, same JSON names and types.
	ID               string          `json:"id"`
	User             *User           `json:"user,omitempty"`
	Course           *Course         `json:"course,omitempty"`
	Status           Status          `json:"status"`
	AssignedAt       *time.Time      `json:"assigned_at,omitempty"`
	DueAt            *time.Time      `json:"due_at,omitempty"`
	EnrolledAt       *time.Time      `json:"enrolled_at,omitempty"`
	StartedAt        *time.Time      `json:"started_at,omitempty"`
	LastActivityAt   *time.Time      `json:"last_activity_at,omitempty"`
	CompletedAt      *time.Time      `json:"completed_at,omitempty"`
	ProgressPercent  *float64        `json:"progress_percent,omitempty"`
	TimeSpentSeconds *int64          `json:"time_spent_seconds,omitempty"`
	Score            *float64        `json:"score,omitempty"`
	IsMandatory      *bool           `json:"is_mandatory,omitempty"`
	AssignedBy       *Person         `json:"assigned_by,omitempty"`
	AttemptNumber    *int            `json:"attempt_number,omitempty"`
	AttemptsCount    *int            `json:"attempts_count,omitempty"`
	URLs             []URL           `json:"urls,omitempty"`
	CreatedAt        *time.Time      `json:"created_at,omitempty"`
	UpdatedAt        *time.Time      `json:"updated_at,omitempty"`
	CustomFields     map[string]any  `json:"custom_fields,omitempty"`
	RemoteData       json.RawMessage `json:"remote_data,omitempty"`

	// Registrar extension fields (DESIGN.md, "The unified model").
	ConnectionID    string       `json:"connection_id,omitempty"`
	Provider        string       `json:"provider,omitempty"`
	RemoteStatus    string       `json:"remote_status,omitempty"`
	Role            Role         `json:"role,omitempty"`
	Grade           string       `json:"grade,omitempty"`
	Section         *Section     `json:"section,omitempty"`
	ExpiresAt       *time.Time   `json:"expires_at,omitempty"`
	IsCurrent       *bool        `json:"is_current,omitempty"`
	Certificate     *Certificate `json:"certificate,omitempty"`
	RemoteDeletedAt *time.Time   `json:"remote_deleted_at,omitempty"`
	SyncedAt        *time.Time   `json:"synced_at,omitempty"`
}

// User is the learner of an enrollment.
type User struct {
	ID     string  `json:"id,omitempty"`
	Name   string  `json:"name,omitempty"`
	Emails []Email `json:"emails,omitempty"`
}

// PrimaryEmail returns the primary address, else the first, else "".
func (u *User) PrimaryEmail() string {
	if u == nil {
		return ""
	}
	for _, e := range u.Emails {
		if e.IsPrimary != nil && *e.IsPrimary {
			return e.Email
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Email
	}
	return ""
}

// Email is one address of a user.
type Email struct {
	Email     string `json:"email,omitempty"`
	Type      string `json:"type,omitempty"`
	IsPrimary *bool  `json:"is_primary,omitempty"`
}

// Course is the course an enrollment points at.
type Course struct {
	ID    string `json:"id,omitempty"`
	Title string `json:"title,omitempty"`
}

// Person is a reference to someone who is not the learner (the assigner).
type Person struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// URL is a link about the enrollment, typed by what it opens.
type URL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// Section is a Canvas course section or an Absorb instructor-led session.
type Section struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Certificate is the proof of completion an LMS issued, when it has one.
type Certificate struct {
	ID  string `json:"id,omitempty"`
	URL string `json:"url,omitempty"`
}

// Role is the part a person plays in a course.
type Role string

// The roles of DESIGN.md.
const (
	RoleLearner           Role = "learner"
	RoleInstructor        Role = "instructor"
	RoleTeachingAssistant Role = "teaching_assistant"
	RoleDesigner          Role = "designer"
	RoleObserver          Role = "observer"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleLearner, RoleInstructor, RoleTeachingAssistant, RoleDesigner, RoleObserver}

// ParseRole accepts exactly one of Roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", &ValueError{Field: "role", Value: s, Allowed: roleStrings()}
}

func roleStrings() []string {
	out := make([]string, len(Roles))
	for i, r := range Roles {
		out[i] = string(r)
	}
	return out
}

// Ptr returns a pointer to v; mappings use it to fill optional fields.
func Ptr[T any](v T) *T { return &v }

// UTC returns t in UTC truncated to the second, the precision every vendor
// publishes, so that a value survives a store round trip unchanged.
func UTC(t time.Time) *time.Time {
	u := t.UTC().Truncate(time.Second)
	return &u
}
