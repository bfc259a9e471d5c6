package absorb

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/registrarhq/registrar/internal/lms"
)

// Absorb enrollment status codes (providers.md §2.4, VERIFIED).
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
)

// statusNames returns the enum names of §2.4, accepted if Absorb ever sends
// a name instead of a number.
func statusNames() map[string]int {
	return map[string]int{
		"NotStarted": statusNotStarted, "InProgress": statusInProgress, "PendingApproval": statusPendingApproval,
		"Complete": statusComplete, "NotComplete": statusNotComplete, "Failed": statusFailed,
		"Declined": statusDeclined, "PendingEvaluationRequired": statusPendingEvaluationRequired,
		"OnWaitlist": statusOnWaitlist, "Absent": statusAbsent, "NotApplicable": statusNotApplicable,
		"PendingProctor": statusPendingProctor, "ReadyForReview": statusReadyForReview,
	}
}

// unifiedStatus is the one status table of DESIGN.md ("The unified model")
// for Absorb; providers.md §4 gives the reasons.
func unifiedStatus(code int) lms.Status {
	switch code {
	case statusPendingApproval, statusOnWaitlist:
		return lms.StatusAssigned
	case statusNotStarted:
		return lms.StatusEnrolled
	case statusInProgress, statusPendingEvaluationRequired, statusPendingProctor, statusReadyForReview:
		return lms.StatusInProgress
	case statusComplete:
		return lms.StatusCompleted
	case statusFailed, statusNotComplete:
		return lms.StatusFailed
	case statusDeclined, statusAbsent:
		return lms.StatusWithdrawn
	default: // 10 NotApplicable and codes Absorb may add later
		return lms.StatusUnknown
	}
}

// settableStatus is a unified status a create-or-update can set, and its
// Absorb code.
type settableStatus struct {
	Status lms.Status
	Code   int
}

// settableStatuses lists them. passed has no Absorb code of its own (3 reads
// back as completed), and withdrawn goes through un-enroll.
func settableStatuses() []settableStatus {
	return []settableStatus{
		{lms.StatusEnrolled, statusNotStarted},
		{lms.StatusInProgress, statusInProgress},
		{lms.StatusCompleted, statusComplete},
		{lms.StatusFailed, statusFailed},
	}
}

func statusCode(s lms.Status) (int, bool) {
	for _, row := range settableStatuses() {
		if row.Status == s {
			return row.Code, true
		}
	}
	return 0, false
}

// mapper turns Absorb records into the unified model.
type mapper struct {
	// zone reads times without a UTC offset (setting zoneless_time_zone).
	zone *time.Location
}

// enrollment maps one course enrollment record; raw becomes remote_data.
func (m mapper) enrollment(raw json.RawMessage) (lms.CourseEnrollment, error) {
	var w wireEnrollment
	if err := gojson.Unmarshal(raw, &w); err != nil {
		return lms.CourseEnrollment{}, fmt.Errorf("enrollment record: %w", err)
	}
	if w.ID == "" {
		return lms.CourseEnrollment{}, fmt.Errorf("enrollment record without id")
	}
	code, remoteStatus, err := parseStatus(w.Status)
	if err != nil {
		return lms.CourseEnrollment{}, fmt.Errorf("enrollment %s: %w", w.ID, err)
	}
	e := lms.CourseEnrollment{
		ID:              w.ID,
		Status:          lms.StatusUnknown,
		Provider:        Name,
		RemoteStatus:    remoteStatus,
		RemoteData:      append(json.RawMessage(nil), raw...),
		Role:            lms.RoleLearner, // Absorb enrollments are learners'; instructors are not enrolled
		ProgressPercent: w.Progress,
		Score:           w.Score,
		IsCurrent:       w.IsActive,
	}
	if code != nil {
		e.Status = unifiedStatus(*code)
	}
	if w.UserID != "" {
		e.User = &lms.User{ID: w.UserID, Name: deref(w.FullName)}
	}
	if w.CourseID != "" {
		e.Course = &lms.Course{ID: w.CourseID, Title: deref(w.CourseName)}
	}
	dates := []struct {
		name  string
		value *string
		dst   []**time.Time
	}{
		{"dateAdded", w.DateAdded, []**time.Time{&e.EnrolledAt, &e.CreatedAt}},
		{"dateStarted", w.DateStarted, []**time.Time{&e.StartedAt}},
		{"dateCompleted", w.DateCompleted, []**time.Time{&e.CompletedAt}},
		{"dateDue", w.DateDue, []**time.Time{&e.DueAt}},
		{"dateExpires", w.DateExpires, []**time.Time{&e.ExpiresAt}},
		{"dateEdited", w.DateEdited, []**time.Time{&e.UpdatedAt}},
	}
	for _, d := range dates {
		t, err := m.parseTime(d.value)
		if err != nil {
			return lms.CourseEnrollment{}, fmt.Errorf("enrollment %s: %s: %w", w.ID, d.name, err)
		}
		for _, dst := range d.dst {
			*dst = t
		}
	}
	switch {
	case w.TimeSpentTicks != nil:
		// .NET ticks are 100 ns (§2.6).
		e.TimeSpentSeconds = lms.Ptr(*w.TimeSpentTicks / 10_000_000)
	case w.TimeSpent != nil:
		// The course listing carries only the duration string, whose format
		// is UNCERTAIN (§2.6); an unreadable one stays in remote_data only.
		if secs, ok := parseDuration(*w.TimeSpent); ok {
			e.TimeSpentSeconds = &secs
		}
	}
	if id := deref(w.CertificateID); id != "" {
		e.Certificate = &lms.Certificate{ID: id}
	}
	custom := map[string]any{}
	if w.Credits != nil {
		custom["credits"] = *w.Credits
	}
	if v := deref(w.JobTitle); v != "" {
		custom["job_title"] = v
	}
	if v := deref(w.CourseVersionID); v != "" {
		custom["course_version_id"] = v
	}
	if v := deref(w.EnrollmentKeyID); v != "" {
		custom["enrollment_key_id"] = v
	}
	if w.AcceptedTermsAndConditions != nil {
		custom["accepted_terms_and_conditions"] = *w.AcceptedTermsAndConditions
	}
	if len(custom) > 0 {
		e.CustomFields = custom
	}
	return e, nil
}

// parseStatus reads the status code and keeps its verbatim text for
// remote_status ("3"). An absent status is unknown.
func parseStatus(raw json.RawMessage) (*int, string, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return nil, "null", nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return &n, strconv.Itoa(n), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, "", fmt.Errorf("status %s is neither a number nor a string", text)
	}
	if n, err := strconv.Atoi(s); err == nil {
		return &n, s, nil
	}
	if n, ok := statusNames()[s]; ok {
		return &n, s, nil
	}
	return nil, s, nil
}

// parseTime reads an Absorb time: RFC 3339 with an offset, or a zone-less
// date-time or date, read in the configured zone (§2.6: the output suffix is
// UNCERTAIN). Absent and empty values are unknown.
func (m mapper) parseTime(v *string) (*time.Time, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return nil, nil
	}
	s := strings.TrimSpace(*v)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return lms.UTC(t), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, m.zone); err == nil {
			return lms.UTC(t), nil
		}
	}
	return nil, fmt.Errorf("unreadable time %q", s)
}

var (
	// .NET TimeSpan: [-][d.]hh:mm:ss[.fffffff]
	dotnetDuration = regexp.MustCompile(`^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$`)
	// ISO 8601: P[nD]T[nH][nM][n[.n]S]
	isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?)?$`)
)

// parseDuration reads both candidate formats of timeSpent (§2.6) to whole
// seconds.
func parseDuration(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	atoi := func(v string) int64 {
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	if m := dotnetDuration.FindStringSubmatch(s); m != nil {
		return atoi(m[1])*86400 + atoi(m[2])*3600 + atoi(m[3])*60 + atoi(m[4]), true
	}
	if m := isoDuration.FindStringSubmatch(s); m != nil && s != "P" && !strings.HasSuffix(s, "T") {
		return atoi(m[1])*86400 + atoi(m[2])*3600 + atoi(m[3])*60 + atoi(m[4]), true
	}
	return 0, false
}

func (m mapper) course(raw json.RawMessage) (lms.Course, error) {
	var w wireCourse
	if err := json.Unmarshal(raw, &w); err != nil {
		return lms.Course{}, fmt.Errorf("course record: %w", err)
	}
	if w.ID == "" {
		return lms.Course{}, fmt.Errorf("course record without id")
	}
	return lms.Course{ID: w.ID, Title: firstNonEmpty(deref(w.Name), deref(w.CourseName))}, nil
}

func (m mapper) user(raw json.RawMessage) (lms.User, error) {
	var w wireUser
	if err := json.Unmarshal(raw, &w); err != nil {
		return lms.User{}, fmt.Errorf("user record: %w", err)
	}
	if w.ID == "" {
		return lms.User{}, fmt.Errorf("user record without id")
	}
	u := lms.User{ID: w.ID, Name: firstNonEmpty(
		strings.TrimSpace(deref(w.FirstName)+" "+deref(w.LastName)), deref(w.FullName), deref(w.Username))}
	if email := firstNonEmpty(deref(w.EmailAddress), deref(w.Email)); email != "" {
		u.Emails = []lms.Email{{Email: email, IsPrimary: lms.Ptr(true)}}
	}
	return u, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
