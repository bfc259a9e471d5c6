package absorb

import "encoding/json"

// Wire types: the Integration API v2 documents of seed 003, with pointers
// where a field may be absent so that absence stays distinguishable from zero.

// envelope is a paged answer: {totalItems, returnedItems, limit, offset,
// <collection>: [...]} (providers.md §2.5). The collection's name differs by
// resource (enrollments, courses, users), so it is found by shape.
type envelope struct {
	TotalItems *int
	// Limit is the page size the server applied, which may be below the
	// _limit asked for.
	Limit *int
	Items []json.RawMessage
}

func (e *envelope) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if raw, ok := fields["totalItems"]; ok {
		var n int
		if err := json.Unmarshal(raw, &n); err == nil {
			e.TotalItems = &n
		}
	}
	if raw, ok := fields["limit"]; ok {
		var n int
		if err := json.Unmarshal(raw, &n); err == nil {
			e.Limit = &n
		}
	}
	for name, raw := range fields {
		switch name {
		case "totalItems", "returnedItems", "limit", "offset":
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err == nil {
			e.Items = items
			return nil
		}
	}
	return nil
}

// wireEnrollment is a course enrollment (CourseEnrollmentResource and
// UserCourseEnrollmentResource of seed 003; providers.md §2.6).
type wireEnrollment struct {
	ID                         string          `json:"id"`
	CourseID                   string          `json:"courseId"`
	CourseName                 *string         `json:"courseName"`
	Progress                   *float64        `json:"progress"`
	Score                      *float64        `json:"score"`
	Status                     json.RawMessage `json:"status"`
	DateCompleted              *string         `json:"dateCompleted"`
	DateExpires                *string         `json:"dateExpires"`
	DateEdited                 *string         `json:"dateEdited"`
	DateAdded                  *string         `json:"dateAdded"`
	FullName                   *string         `json:"fullName"`
	CourseVersionID            *string         `json:"courseVersionId"`
	UserID                     string          `json:"userId"`
	AcceptedTermsAndConditions *bool           `json:"acceptedTermsAndConditions"`
	TimeSpentTicks             *int64          `json:"timeSpentTicks"`
	TimeSpent                  *string         `json:"timeSpent"`
	DateStarted                *string         `json:"dateStarted"`
	EnrollmentKeyID            *string         `json:"enrollmentKeyId"`
	CertificateID              *string         `json:"certificateId"`
	Credits                    *float64        `json:"credits"`
	IsActive                   *bool           `json:"isActive"`
	DateDue                    *string         `json:"dateDue"`
	AccessDate                 *string         `json:"accessDate"`
	JobTitle                   *string         `json:"jobTitle"`
	CourseCollectionID         *string         `json:"courseCollectionId"`
	Avatar                     *string         `json:"avatar"`
}

// wireCourse is a course of the course list. Seed 003 does not document the
// course resource; "name" is the v1.5 field, and the enrollment's
// "courseName" is accepted too.
type wireCourse struct {
	ID         string  `json:"id"`
	Name       *string `json:"name"`
	CourseName *string `json:"courseName"`
}

// wireUser is a user of the user list. Seed 003 does not document the user
// resource; "emailAddress" is the v1.5 field, "email" is accepted too.
type wireUser struct {
	ID           string  `json:"id"`
	FirstName    *string `json:"firstName"`
	LastName     *string `json:"lastName"`
	FullName     *string `json:"fullName"`
	Username     *string `json:"username"`
	EmailAddress *string `json:"emailAddress"`
	Email        *string `json:"email"`
}

// createAnswer is the 201 answer of the create operations (seed 003).
type createAnswer struct {
	EnrollmentID        string `json:"enrollmentId"`
	CourseID            string `json:"courseId"`
	UserID              string `json:"userId"`
	SessionID           string `json:"sessionId"`
	SessionEnrollmentID string `json:"sessionEnrollmentId"`
}

// upsertBody is the create-or-update body; Absorb sets only Status,
// DateCompleted, DateExpires, CourseVersionId, AcceptedTermsAndConditions,
// EnrollmentKeyId, Credits and Score from it (providers.md §2.3).
type upsertBody struct {
	ID            string   `json:"id,omitempty"`
	CourseID      string   `json:"courseId"`
	Status        *int     `json:"status,omitempty"`
	Score         *float64 `json:"score,omitempty"`
	DateCompleted *string  `json:"dateCompleted,omitempty"`
}

// attemptStartAnswer is the 200 answer of "Start attempt" (seed 003).
type attemptStartAnswer struct {
	AttemptID string `json:"attemptId"`
}

// attemptFinishBody is the body of "Finish attempt" (seed 003).
type attemptFinishBody struct {
	Status         int      `json:"status"`
	Score          *float64 `json:"score,omitempty"`
	StartDate      *string  `json:"startDate,omitempty"`
	CompletionDate *string  `json:"completionDate,omitempty"`
}
