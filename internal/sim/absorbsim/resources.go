package absorbsim

import (
	"fmt"
	"time"
)

// JSON shapes of seed 003. Optional values are null rather than omitted,
// as a .NET API serialises them; progress and score are non-nullable
// decimals (the samples show 0).

// absorbTime formats stored Unix seconds as 2019-08-24T14:15:22Z, the form
// of the seed samples. Whether real Absorb emits the Z or a zone-less local
// time is UNCERTAIN (providers.md §2.6, [A8]).
func absorbTime(sec int64) *string {
	if sec == 0 {
		return nil
	}
	s := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05Z")
	return &s
}

// timeSpan formats ticks as a .NET TimeSpan "[d.]hh:mm:ss". The duration
// format is UNCERTAIN (providers.md §2.6: .NET hh:mm:ss vs ISO-8601; [A9]
// claims ISO-8601); the .NET form is what a C# API serialises by default.
func timeSpan(ticks int64) string {
	total := ticks / ticksPerSecond
	d, h, m, s := total/86400, total/3600%24, total/60%60, total%60
	if d > 0 {
		return fmt.Sprintf("%d.%02d:%02d:%02d", d, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

func nullableString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// courseEnrollmentJSON is CourseEnrollmentResource (providers.md §2.6).
type courseEnrollmentJSON struct {
	ID                         string   `json:"id"`
	CourseID                   string   `json:"courseId"`
	CourseName                 string   `json:"courseName"`
	Progress                   float64  `json:"progress"`
	Score                      float64  `json:"score"`
	Status                     int8     `json:"status"`
	DateCompleted              *string  `json:"dateCompleted"`
	DateExpires                *string  `json:"dateExpires"`
	DateEdited                 *string  `json:"dateEdited"`
	DateAdded                  *string  `json:"dateAdded"`
	FullName                   string   `json:"fullName"`
	CourseVersionID            *string  `json:"courseVersionId"`
	UserID                     string   `json:"userId"`
	AcceptedTermsAndConditions bool     `json:"acceptedTermsAndConditions"`
	TimeSpentTicks             int64    `json:"timeSpentTicks"`
	TimeSpent                  string   `json:"timeSpent"`
	DateStarted                *string  `json:"dateStarted"`
	EnrollmentKeyID            *string  `json:"enrollmentKeyId"`
	CertificateID              *string  `json:"certificateId"`
	Credits                    *float64 `json:"credits"`
	IsActive                   bool     `json:"isActive"`
	DateDue                    *string  `json:"dateDue"`
	AccessDate                 *string  `json:"accessDate"`
	JobTitle                   *string  `json:"jobTitle"`
	CourseCollectionID         *string  `json:"courseCollectionId"`
	Avatar                     *string  `json:"avatar"`
}

func courseEnrollmentView(e *enrollment) courseEnrollmentJSON {
	j := courseEnrollmentJSON{
		ID:                         e.id.String(),
		CourseID:                   e.course.id.String(),
		CourseName:                 e.course.name,
		Progress:                   e.progress,
		Score:                      e.score,
		Status:                     e.status,
		DateCompleted:              absorbTime(e.dateCompleted),
		DateExpires:                absorbTime(e.dateExpires),
		DateEdited:                 absorbTime(e.dateEdited),
		DateAdded:                  absorbTime(e.dateAdded),
		FullName:                   e.user.fullName(),
		CourseVersionID:            e.courseVersionID.ptr(),
		UserID:                     e.user.id.String(),
		AcceptedTermsAndConditions: e.acceptedTerms,
		TimeSpentTicks:             e.timeSpentTicks,
		TimeSpent:                  timeSpan(e.timeSpentTicks),
		DateStarted:                absorbTime(e.dateStarted),
		EnrollmentKeyID:            e.enrollmentKeyID.ptr(),
		CertificateID:              e.certificateID.ptr(),
		IsActive:                   e.isActive,
		DateDue:                    absorbTime(e.dateDue),
		AccessDate:                 absorbTime(e.accessDate),
		JobTitle:                   nullableString(e.user.jobTitle),
		CourseCollectionID:         e.courseCollectionID.ptr(),
		Avatar:                     nullableString(e.user.avatar),
	}
	if e.hasCredits {
		c := e.credits
		j.Credits = &c
	}
	return j
}

// enrollmentFields are the filterable and sortable course-enrollment
// fields: every scalar of the resource.
func enrollmentFields() schema[*enrollment] {
	return schema[*enrollment]{
		"id":                         {kindGUID, func(e *enrollment) value { return guidValue(e.id) }},
		"courseId":                   {kindGUID, func(e *enrollment) value { return guidValue(e.course.id) }},
		"courseName":                 {kindString, func(e *enrollment) value { return stringValue(e.course.name) }},
		"progress":                   {kindNumber, func(e *enrollment) value { return numberValue(e.progress) }},
		"score":                      {kindNumber, func(e *enrollment) value { return numberValue(e.score) }},
		"status":                     {kindNumber, func(e *enrollment) value { return numberValue(float64(e.status)) }},
		"dateCompleted":              {kindTime, func(e *enrollment) value { return timeValue(e.dateCompleted) }},
		"dateExpires":                {kindTime, func(e *enrollment) value { return timeValue(e.dateExpires) }},
		"dateEdited":                 {kindTime, func(e *enrollment) value { return timeValue(e.dateEdited) }},
		"dateAdded":                  {kindTime, func(e *enrollment) value { return timeValue(e.dateAdded) }},
		"fullName":                   {kindString, func(e *enrollment) value { return stringValue(e.user.fullName()) }},
		"courseVersionId":            {kindGUID, func(e *enrollment) value { return guidValue(e.courseVersionID) }},
		"userId":                     {kindGUID, func(e *enrollment) value { return guidValue(e.user.id) }},
		"acceptedTermsAndConditions": {kindBool, func(e *enrollment) value { return boolValue(e.acceptedTerms) }},
		"timeSpentTicks":             {kindNumber, func(e *enrollment) value { return numberValue(float64(e.timeSpentTicks)) }},
		"dateStarted":                {kindTime, func(e *enrollment) value { return timeValue(e.dateStarted) }},
		"enrollmentKeyId":            {kindGUID, func(e *enrollment) value { return guidValue(e.enrollmentKeyID) }},
		"certificateId":              {kindGUID, func(e *enrollment) value { return guidValue(e.certificateID) }},
		"credits": {kindNumber, func(e *enrollment) value {
			if !e.hasCredits {
				return nullValue()
			}
			return numberValue(e.credits)
		}},
		"isActive":           {kindBool, func(e *enrollment) value { return boolValue(e.isActive) }},
		"dateDue":            {kindTime, func(e *enrollment) value { return timeValue(e.dateDue) }},
		"accessDate":         {kindTime, func(e *enrollment) value { return timeValue(e.accessDate) }},
		"jobTitle":           {kindString, func(e *enrollment) value { return optString(e.user.jobTitle) }},
		"courseCollectionId": {kindGUID, func(e *enrollment) value { return guidValue(e.courseCollectionID) }},
		"avatar":             {kindString, func(e *enrollment) value { return optString(e.user.avatar) }},
	}
}

func optString(s string) value {
	if s == "" {
		return nullValue()
	}
	return stringValue(s)
}

// userJSON is a user resource. Seed 003 does not describe users: the names
// id, username, firstName, lastName, emailAddress and activeStatus
// (0 Active, 1 Inactive) follow providers.md §2.4 [A9]; departmentId,
// jobTitle, avatar, dateAdded, dateEdited and customFields are plausible
// but invented.
type userJSON struct {
	ID           string            `json:"id"`
	DepartmentID string            `json:"departmentId"`
	FirstName    string            `json:"firstName"`
	LastName     string            `json:"lastName"`
	Username     string            `json:"username"`
	EmailAddress string            `json:"emailAddress"`
	JobTitle     *string           `json:"jobTitle"`
	ActiveStatus int               `json:"activeStatus"`
	Avatar       *string           `json:"avatar"`
	DateAdded    *string           `json:"dateAdded"`
	DateEdited   *string           `json:"dateEdited"`
	CustomFields map[string]string `json:"customFields"`
}

func userView(u *user) userJSON {
	return userJSON{
		ID: u.id.String(), DepartmentID: u.departmentID.String(), FirstName: u.first, LastName: u.last,
		Username: u.username, EmailAddress: u.email, JobTitle: nullableString(u.jobTitle), ActiveStatus: u.activeStatus,
		Avatar: nullableString(u.avatar), DateAdded: absorbTime(u.dateAdded), DateEdited: absorbTime(u.dateEdited),
		CustomFields: map[string]string{"string1": u.customString1},
	}
}

func userFields() schema[*user] {
	return schema[*user]{
		"id":                   {kindGUID, func(u *user) value { return guidValue(u.id) }},
		"departmentId":         {kindGUID, func(u *user) value { return guidValue(u.departmentID) }},
		"firstName":            {kindString, func(u *user) value { return stringValue(u.first) }},
		"lastName":             {kindString, func(u *user) value { return stringValue(u.last) }},
		"username":             {kindString, func(u *user) value { return stringValue(u.username) }},
		"emailAddress":         {kindString, func(u *user) value { return stringValue(u.email) }},
		"jobTitle":             {kindString, func(u *user) value { return optString(u.jobTitle) }},
		"activeStatus":         {kindNumber, func(u *user) value { return numberValue(float64(u.activeStatus)) }},
		"dateAdded":            {kindTime, func(u *user) value { return timeValue(u.dateAdded) }},
		"dateEdited":           {kindTime, func(u *user) value { return timeValue(u.dateEdited) }},
		"customFields/string1": {kindString, func(u *user) value { return stringValue(u.customString1) }},
	}
}

// courseJSON is a course resource. Seed 003 does not describe courses: id,
// name, courseType ("OnlineCourse", "InstructorLedCourse") and the dates
// are plausible; description, activeStatus, certificate, creditValue and
// the session/chapter lists are invented so that a client can discover
// what to enroll in.
type courseJSON struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Description   string        `json:"description"`
	CourseType    string        `json:"courseType"`
	ActiveStatus  int           `json:"activeStatus"`
	CourseVersion string        `json:"courseVersionId"`
	Certificate   bool          `json:"certificate"`
	CreditValue   *float64      `json:"creditValue"`
	ExpireDays    *int64        `json:"expireDuration"`
	DateAdded     *string       `json:"dateAdded"`
	DateEdited    *string       `json:"dateEdited"`
	Sessions      []sessionJSON `json:"sessions,omitempty"`
	Chapters      []chapterJSON `json:"chapters,omitempty"`
}

type sessionJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	StartDate *string `json:"startDate"`
}

type chapterJSON struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Lessons []lessonJSON `json:"lessons"`
}

type lessonJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func courseView(c *course) courseJSON {
	j := courseJSON{
		ID: c.id.String(), Name: c.name, Description: c.description, CourseType: c.courseType,
		ActiveStatus: c.activeStatus, CourseVersion: c.versionID.String(), Certificate: c.hasCertificate,
		DateAdded: absorbTime(c.dateAdded), DateEdited: absorbTime(c.dateEdited),
	}
	if c.credits > 0 {
		v := c.credits
		j.CreditValue = &v
	}
	if c.validityDays > 0 {
		v := c.validityDays
		j.ExpireDays = &v
	}
	for _, s := range c.sessions {
		j.Sessions = append(j.Sessions, sessionJSON{ID: s.id.String(), Name: s.name, StartDate: absorbTime(s.start)})
	}
	for _, ch := range c.chapters {
		cj := chapterJSON{ID: ch.id.String(), Name: ch.name}
		for _, l := range ch.lessons {
			cj.Lessons = append(cj.Lessons, lessonJSON{ID: l.id.String(), Name: l.name, Type: l.kind})
		}
		j.Chapters = append(j.Chapters, cj)
	}
	return j
}

func courseFields() schema[*course] {
	return schema[*course]{
		"id":           {kindGUID, func(c *course) value { return guidValue(c.id) }},
		"name":         {kindString, func(c *course) value { return stringValue(c.name) }},
		"courseType":   {kindString, func(c *course) value { return stringValue(c.courseType) }},
		"activeStatus": {kindNumber, func(c *course) value { return numberValue(float64(c.activeStatus)) }},
		"dateAdded":    {kindTime, func(c *course) value { return timeValue(c.dateAdded) }},
		"dateEdited":   {kindTime, func(c *course) value { return timeValue(c.dateEdited) }},
	}
}

// sessionEnrollmentJSON is SessionEnrollmentResource (seed 003). A
// single-session ILC enrollment's session row follows its course row.
type sessionEnrollmentJSON struct {
	ID                 string  `json:"id"`
	SessionID          string  `json:"sessionId"`
	CourseEnrollmentID string  `json:"courseEnrollmentId"`
	Name               string  `json:"name"`
	UserID             string  `json:"userId"`
	FullName           string  `json:"fullName"`
	Status             int8    `json:"status"`
	Progress           float64 `json:"progress"`
	Score              float64 `json:"score"`
	TimeSpent          string  `json:"timeSpent"`
	DateEnrolled       *string `json:"dateEnrolled"`
	DateStarted        *string `json:"dateStarted"`
	DateCompleted      *string `json:"dateCompleted"`
	DateEdited         *string `json:"dateEdited"`
}

func sessionEnrollmentView(e *enrollment) sessionEnrollmentJSON {
	return sessionEnrollmentJSON{
		ID: e.sessionEnrollID.String(), SessionID: e.session.id.String(), CourseEnrollmentID: e.id.String(),
		Name: e.session.name, UserID: e.user.id.String(), FullName: e.user.fullName(), Status: e.status,
		Progress: e.progress, Score: e.score, TimeSpent: timeSpan(e.timeSpentTicks),
		DateEnrolled: absorbTime(e.dateAdded), DateStarted: absorbTime(e.dateStarted),
		DateCompleted: absorbTime(e.dateCompleted), DateEdited: absorbTime(max(e.sessionEdited, e.dateEdited)),
	}
}

func sessionEnrollmentFields() schema[*enrollment] {
	return schema[*enrollment]{
		"id":                 {kindGUID, func(e *enrollment) value { return guidValue(e.sessionEnrollID) }},
		"sessionId":          {kindGUID, func(e *enrollment) value { return guidValue(e.session.id) }},
		"courseEnrollmentId": {kindGUID, func(e *enrollment) value { return guidValue(e.id) }},
		"name":               {kindString, func(e *enrollment) value { return stringValue(e.session.name) }},
		"userId":             {kindGUID, func(e *enrollment) value { return guidValue(e.user.id) }},
		"fullName":           {kindString, func(e *enrollment) value { return stringValue(e.user.fullName()) }},
		"status":             {kindNumber, func(e *enrollment) value { return numberValue(float64(e.status)) }},
		"progress":           {kindNumber, func(e *enrollment) value { return numberValue(e.progress) }},
		"score":              {kindNumber, func(e *enrollment) value { return numberValue(e.score) }},
		"dateEnrolled":       {kindTime, func(e *enrollment) value { return timeValue(e.dateAdded) }},
		"dateStarted":        {kindTime, func(e *enrollment) value { return timeValue(e.dateStarted) }},
		"dateCompleted":      {kindTime, func(e *enrollment) value { return timeValue(e.dateCompleted) }},
		"dateEdited":         {kindTime, func(e *enrollment) value { return timeValue(max(e.sessionEdited, e.dateEdited)) }},
	}
}
