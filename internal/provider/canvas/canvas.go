// Package canvas is the Registrar connector for the Canvas LMS Enrollments API
// (seed 004, providers.md §1).
//
// It walks an account's courses (GET /api/v1/accounts/:id/courses) and, per
// course, every enrollment in every stored state (GET
// /api/v1/courses/:id/enrollments with state[] set to all seven values, so
// that Canvas's default filters of §1.6 hide nothing), following the Link
// rel="next" URLs exactly as given: the enrollment index uses opaque
// bookmarks (§1.11), so page numbers are never built. The cursor records
// where the walk is, so a new process resumes at the same page.
//
// Writes are the Canvas column of DESIGN.md "Writes": enroll (course or
// section), conclude, delete/deactivate, reactivate, and accept/reject of an
// invitation (as the invited user, through masquerading). Canvas has no
// enrollment-level score write and no re-enroll, so the connector does not
// implement them.
package canvas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
)

// Name is the provider name used in errors, records and the registry.
const Name = "canvas"

// The setting names.
const (
	SettingBaseURL         = "base_url"
	SettingAccountID       = "account_id"
	SettingToken           = "token"
	SettingPerPage         = "per_page"
	SettingEnrollmentTypes = "enrollment_types"
	SettingEnrollState     = "enroll_state"
	SettingScoreSource     = "score_source"
	SettingStripJSONPrefix = "strip_json_prefix"
)

// enrollmentTypes are the base types of seed 004 ("type" of an Enrollment).
var enrollmentTypes = []string{"StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment", "ObserverEnrollment"}

// allStates are the stored workflow states a course list filters on (§1.5,
// §1.6); asking for all of them disables the default filter that would hide
// completed, rejected, deleted (and, without read_as_admin, inactive) rows.
var allStates = []string{"active", "invited", "creation_pending", "deleted", "rejected", "completed", "inactive"}

// Definition describes the Canvas provider.
func Definition() *provider.Definition {
	return &provider.Definition{
		Name:  Name,
		Title: "Canvas LMS",
		Settings: []provider.Setting{
			{Name: SettingBaseURL, URL: true, Required: true,
				Description: "Root URL of the Canvas instance, e.g. https://school.instructure.com (without /api/v1)."},
			{Name: SettingAccountID, Default: "self",
				Description: "Account whose courses are synced: a numeric id, sis_account_id:<id>, or \"self\" for the token's root account (Canvas resolves self, providers.md §1.2)."},
			{Name: SettingToken, Secret: true, Required: true,
				Description: "Access token of an account admin (needs read_roster to list enrollments, manage_students/admin rights to write)."},
			{Name: SettingPerPage, Default: "100",
				Description: "Page size asked of Canvas, 1-100 (Canvas defaults to 10 and caps at 100, §1.11; older installs cap at 50)."},
			{Name: SettingEnrollmentTypes, Default: "",
				Description: "Comma-separated enrollment types to sync (" + strings.Join(enrollmentTypes, ", ") + "); empty syncs every type."},
			{Name: SettingEnrollState, Default: "active", Enum: []string{"active", "invited", "inactive"},
				Description: "enrollment[enrollment_state] sent when enrolling: active enrolls at once; invited makes the user accept an invitation (Canvas's own default, seed 004)."},
			{Name: SettingScoreSource, Default: "current", Enum: []string{"current", "final"},
				Description: "Which Canvas grade fills score and grade: current (grades.current_score/current_grade: graded work only, the running grade) or final (final_score/final_grade: ungraded work counts as zero)."},
			{Name: SettingStripJSONPrefix, Default: "true", Enum: []string{"true", "false"},
				Description: "Strip the anti-hijacking prefix while(1); before parsing JSON. Token-authenticated calls are normally unprefixed; whether some installs prefix them is UNCERTAIN (providers.md §1.1), stripping is harmless."},
		},
		Fields: []string{
			"id", "user.id", "user.name", "user.emails", "course.id", "course.title", "status", "last_activity_at",
			"time_spent_seconds", "score", "urls", "created_at", "updated_at", "custom_fields", "remote_data",
			"provider", "remote_status", "role", "grade", "section.id", "expires_at",
		},
		Notes: []string{
			"Canvas has no enrollment-level score write and no re-enroll in the Enrollments API.",
			"Canvas has no due date, progress percentage, start or completion time on an enrollment; those fields stay empty, and an enroll with a due date is refused.",
			"The enrollment end_at (when access ends) is mapped to expires_at, so an enrollment past its end date reads as expired.",
			"score and grade are present only on student enrollments and only when the token may see grades.",
			"last_activity_at and time_spent_seconds need the read_reports permission; without it active enrollments read as enrolled, not in_progress.",
			"Accepting or rejecting an invitation acts as the invited user (as_user_id masquerading), which needs the admin \"become other users\" permission.",
			"Canvas cannot list enrollments changed since a time, so every sync walks all courses; changes are found by comparing content.",
			"The account courses list is paged by page number, so a course created or deleted during a walk shifts the others across pages; the walk re-reads each courses page before leaving it to list every other course once, but a course created during the walk may appear only in the next one.",
		},
		New:       func(cfg provider.Config) (provider.Reader, error) { return New(cfg) },
		Prototype: (*Connector)(nil),
	}
}

// Connector talks to one Canvas account. Safe for concurrent use.
type Connector struct {
	base        *url.URL // scheme and host of base_url, with its path prefix
	baseURL     string   // base_url without a trailing slash
	accountID   string
	token       string
	perPage     int
	types       []string
	enrollState string
	scoreFinal  bool
	stripPrefix bool
	now         func() time.Time
	http        *httpx.Client

	mu           sync.Mutex
	courseTitles map[string]string
	coursePage   *coursesPage // the last courses page read, so a walk reads each once
}

// New builds a connector from settings; it does not call Canvas.
func New(cfg provider.Config) (*Connector, error) {
	def := Definition()
	if err := def.Validate(cfg.Settings, cfg.Secrets); err != nil {
		return nil, err
	}
	fieldErr := func(field, msg string) error {
		return &provider.ValidationError{Fields: []provider.FieldError{{Field: field, Message: msg}}}
	}
	baseURL := strings.TrimRight(cfg.Value(def, SettingBaseURL), "/")
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, fieldErr(SettingBaseURL, err.Error())
	}
	perPage, err := strconv.Atoi(cfg.Value(def, SettingPerPage))
	if err != nil || perPage < 1 || perPage > 100 {
		return nil, fieldErr(SettingPerPage, "must be a whole number from 1 to 100")
	}
	var types []string
	for _, t := range strings.Split(cfg.Value(def, SettingEnrollmentTypes), ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		known := false
		for _, k := range enrollmentTypes {
			known = known || k == t
		}
		if !known {
			return nil, fieldErr(SettingEnrollmentTypes, fmt.Sprintf("unknown type %q: must be among %s", t, strings.Join(enrollmentTypes, ", ")))
		}
		types = append(types, t)
	}
	accountID := cfg.Value(def, SettingAccountID)
	if strings.ContainsAny(accountID, "/?#") {
		return nil, fieldErr(SettingAccountID, "must be an id, sis_account_id:<id> or self")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	opts := cfg.HTTP
	callerThrottle := opts.IsThrottle
	opts.IsThrottle = func(status int, body []byte) bool {
		return isThrottle(status, body) || (callerThrottle != nil && callerThrottle(status, body))
	}
	return &Connector{
		base:         base,
		baseURL:      baseURL,
		accountID:    accountID,
		token:        cfg.Value(def, SettingToken),
		perPage:      perPage,
		types:        types,
		enrollState:  cfg.Value(def, SettingEnrollState),
		scoreFinal:   cfg.Value(def, SettingScoreSource) == "final",
		stripPrefix:  cfg.Value(def, SettingStripJSONPrefix) == "true",
		now:          now,
		http:         httpx.New(opts),
		courseTitles: map[string]string{},
	}, nil
}

// isThrottle recognises Canvas's throttling answer: 403 with "Rate Limit
// Exceeded" in a text/plain body (providers.md §1.12); 429 is recognised by
// httpx itself. Any other 403 is a permission refusal.
func isThrottle(status int, body []byte) bool {
	return status == 403 && bytes.Contains(body, []byte("Rate Limit Exceeded"))
}

// Provider names the connector.
func (c *Connector) Provider() string { return Name }

// HTTPStats returns the connector's HTTP counters so far; a sync run takes the
// difference before and after (httpx.Stats.Sub).
func (c *Connector) HTTPStats() httpx.Stats { return c.http.Stats() }

// apiURL returns the absolute URL of an API path with its query.
func (c *Connector) apiURL(path string, q url.Values) string {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// titleOf returns the cached title of a course, "" when unknown.
func (c *Connector) titleOf(courseID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.courseTitles[courseID]
}

func (c *Connector) rememberTitle(courseID, title string) {
	if courseID == "" || title == "" {
		return
	}
	c.mu.Lock()
	c.courseTitles[courseID] = title
	c.mu.Unlock()
}

// ConnectionTest proves, with two requests at most, that base_url is a
// reachable Canvas, that it accepts the token, and that the token may list the
// account's courses and read a course roster. Its error says which failed.
func (c *Connector) ConnectionTest(ctx context.Context) error {
	coursesURL := c.apiURL("/api/v1/accounts/"+url.PathEscape(c.accountID)+"/courses", url.Values{"per_page": {"1"}})
	resp, err := c.call(ctx, http.MethodGet, coursesURL, nil, true)
	if err != nil {
		return c.explain(err, "list courses of account "+c.accountID)
	}
	var list []course
	if err := decode(http.MethodGet, coursesURL, resp, &list); err != nil {
		return err
	}
	if len(list) == 0 {
		return nil
	}
	rosterURL := c.apiURL("/api/v1/courses/"+url.PathEscape(string(list[0].ID))+"/enrollments", url.Values{"per_page": {"1"}})
	if _, err := c.call(ctx, http.MethodGet, rosterURL, nil, true); err != nil {
		return c.explain(err, "list enrollments of course "+string(list[0].ID))
	}
	return nil
}

// explain rewrites a provider error's message into what a person setting up
// the connection must fix.
func (c *Connector) explain(err error, what string) error {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return err
	}
	out := *pe
	vendor := pe.Message
	switch pe.Kind {
	case provider.KindAuthentication:
		out.Message = "token refused by Canvas at " + c.baseURL
	case provider.KindPermission:
		out.Message = "token lacks permission to " + what
	case provider.KindNotFound:
		out.Message = "Canvas at " + c.baseURL + " cannot " + what + ": not found (check base_url and account_id)"
	case provider.KindUnavailable:
		out.Message = "cannot reach Canvas at " + c.baseURL
		vendor = ""
	default:
		return err
	}
	if vendor != "" && vendor != out.Message {
		out.Message += " (Canvas said: " + vendor + ")"
	}
	return &out
}
