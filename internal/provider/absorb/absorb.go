// Package absorb is the connector for the Absorb LMS Integration API v2 (seed
// 003, providers.md §2): it lists course enrollments course by course, reads
// one by id, and writes enrollments, scores, statuses, un-enrollments and
// lesson attempts.
//
// Authentication is a username/password exchange for a 4-hour token; Absorb
// keeps one token per user and revokes the previous one when a new one is
// issued (§2.2), so a Connector obtains its token once, shares it between
// concurrent calls, renews it shortly before it ends and once on a 401.
// Build one Connector per connection and reuse it: two Connectors with the
// same credentials revoke each other's token.
package absorb

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
)

// Name is the provider name.
const Name = "absorb"

// Vendor facts that providers.md marks VERIFIED, hence not settings.
const (
	// tokenLifetime: every /authenticate token is valid 4 hours (§2.2).
	tokenLifetime = 4 * time.Hour
	// tokenRenewBefore renews a token this long before it ends, so a slow
	// page never starts with a token about to expire.
	tokenRenewBefore = 10 * time.Minute
	// maxPageSize is the largest _limit Absorb accepts (§2.5).
	maxPageSize = 1000
	// apiVersion is sent as x-api-version on every call (§2.1).
	apiVersion = "2"
)

// Setting names.
const (
	settingBaseURL           = "base_url"
	settingRegion            = "region"
	settingAPIKey            = "api_key"
	settingUsername          = "username"
	settingPassword          = "password"
	settingPageSize          = "page_size"
	settingZonelessTimeZone  = "zoneless_time_zone"
	settingAuthScheme        = "authorization_scheme"
	settingIncrementalFilter = "incremental_filter"
	routeSettingPrefix       = "path_"
)

// regionGateways returns the gateways of providers.md §2.1 (VERIFIED).
func regionGateways() map[string]string {
	return map[string]string{
		"us":         "https://rest.myabsorb.com",
		"ca":         "https://rest.myabsorb.ca",
		"eu":         "https://rest.myabsorb.eu",
		"au":         "https://rest.myabsorb.com.au",
		"sandbox-us": "https://rest.sandbox.myabsorb.com",
		"sandbox-ca": "https://rest.sandbox.myabsorb.ca",
		"sandbox-eu": "https://rest.sandbox.myabsorb.eu",
		"sandbox-au": "https://rest.sandbox.myabsorb.com.au",
	}
}

func regionNames() []string {
	return []string{"us", "ca", "eu", "au", "sandbox-us", "sandbox-ca", "sandbox-eu", "sandbox-au"}
}

// sinceToken is replaced in the incremental filter by the RFC 3339 UTC time.
const sinceToken = "{since}"

// Definition describes the Absorb connector. Connectors built through one
// Definition value share one token per credential, so an application should
// build every Absorb connector through the same Definition (or reuse one
// Connector per connection).
func Definition() *provider.Definition {
	tokens := &tokenRegistry{}
	oneOf := []string{settingBaseURL, settingRegion}
	settings := []provider.Setting{
		{Name: settingBaseURL, URL: true, OneOf: oneOf,
			Description: "Integration API gateway, e.g. https://rest.myabsorb.com; wins over region. One of base_url or region is required."},
		{Name: settingRegion, Enum: regionNames(), OneOf: oneOf,
			Description: "Absorb region whose gateway to use (providers.md §2.1): us, ca, eu, au, or sandbox-<region>."},
		{Name: settingAPIKey, Secret: true, Required: true,
			Description: "Private API key (a GUID); sent as x-api-key and as privateKey to /authenticate."},
		{Name: settingUsername, Secret: true, Required: true, Description: "Username of the Absorb admin the connector acts as."},
		{Name: settingPassword, Secret: true, Required: true, Description: "Password of that admin."},
		{Name: settingPageSize, Default: "500",
			Description: "Records per page (_limit), 1 to 1000."},
		{Name: settingZonelessTimeZone, Default: "UTC",
			Description: "IANA zone in which to read Absorb times that carry no UTC offset. Whether Absorb emits such times is UNCERTAIN (providers.md §2.6); a v1.5 client read them as UTC."},
		{Name: settingAuthScheme, Default: "bearer", Enum: []string{"bearer", "bare"},
			Description: "How the token goes in Authorization: \"Bearer <token>\" (the OAuth docs) or the bare token (a v1.5-era client). UNCERTAIN (providers.md §2.2)."},
		{Name: settingIncrementalFilter, Default: "dateEdited ge datetime'" + sinceToken + "'",
			Description: "OData _filter of incremental listings; " + sinceToken + " becomes the time in RFC 3339 UTC. The literal format is UNCERTAIN (providers.md §2.5)."},
	}
	for _, spec := range routeTable() {
		settings = append(settings, provider.Setting{
			Name:        routeSettingPrefix + spec.Name,
			Default:     spec.Default.String(),
			Description: "Method and path of this operation (" + spec.Source + "); correct it from the tenant's OpenAPI file.",
		})
	}
	return &provider.Definition{
		Name:     Name,
		Title:    "Absorb LMS",
		Settings: settings,
		Fields: []string{
			"id", "user.id", "user.name", "course.id", "course.title", "status", "due_at", "enrolled_at",
			"started_at", "completed_at", "progress_percent", "time_spent_seconds", "score", "created_at",
			"updated_at", "custom_fields", "remote_data", "provider", "remote_status", "role", "section.id",
			"expires_at", "is_current", "certificate.id",
		},
		Notes: []string{
			"Enrollment listings carry no e-mail address; user e-mails come from the user list.",
			"section (the ILC session) is known only on the answer of an enroll into a session; listings do not carry it.",
			"Roles other than learner and due dates cannot be set when enrolling: Absorb's create operations take neither.",
			"Un-enrolling removes the record from Absorb's listings; the withdraw answer is the last known record with status withdrawn, and a later full sync marks it deleted.",
			"attempt_number and attempts_count are not filled: a course enrollment record does not carry them.",
			"Totals of a walk are unknown (Absorb counts per course only), so Total is -1.",
		},
		New:       func(cfg provider.Config) (provider.Reader, error) { return newConnector(cfg, tokens) },
		Prototype: (*Connector)(nil),
	}
}

// Connector talks to one Absorb portal with one admin's credentials. It is
// safe for concurrent use.
type Connector struct {
	baseURL           string
	apiKey            string
	username          string
	password          string
	pageSize          int
	zone              *time.Location
	bareToken         bool
	incrementalFilter string
	routes            map[string]route

	http   *httpx.Client
	now    func() time.Time
	tokens *tokenSource
	cache  coursePageCache
}

// New validates the settings and builds a connector. It makes no call. The
// connector shares its token with no other connector; see Definition.
func New(cfg provider.Config) (*Connector, error) {
	return newConnector(cfg, &tokenRegistry{})
}

func newConnector(cfg provider.Config, tokens *tokenRegistry) (*Connector, error) {
	def := Definition()
	if err := def.Validate(cfg.Settings, cfg.Secrets); err != nil {
		return nil, err
	}
	var problems []provider.FieldError
	baseURL := strings.TrimRight(cfg.Value(def, settingBaseURL), "/")
	if baseURL == "" {
		baseURL = regionGateways()[cfg.Value(def, settingRegion)]
	}
	pageSize, err := strconv.Atoi(cfg.Value(def, settingPageSize))
	if err != nil || pageSize < 1 || pageSize > maxPageSize {
		problems = append(problems, provider.FieldError{Field: settingPageSize, Message: fmt.Sprintf("must be a whole number from 1 to %d", maxPageSize)})
	}
	zone, err := time.LoadLocation(cfg.Value(def, settingZonelessTimeZone))
	if err != nil {
		problems = append(problems, provider.FieldError{Field: settingZonelessTimeZone, Message: "must be an IANA time zone such as UTC or Europe/Paris"})
	}
	filter := cfg.Value(def, settingIncrementalFilter)
	if !strings.Contains(filter, sinceToken) {
		problems = append(problems, provider.FieldError{Field: settingIncrementalFilter, Message: "must contain " + sinceToken})
	}
	routes := map[string]route{}
	for _, spec := range routeTable() {
		r, err := parseRoute(cfg.Value(def, routeSettingPrefix+spec.Name), spec.Default)
		if err != nil {
			problems = append(problems, provider.FieldError{Field: routeSettingPrefix + spec.Name, Message: err.Error()})
			continue
		}
		routes[spec.Name] = r
	}
	if len(problems) > 0 {
		return nil, &provider.ValidationError{Fields: problems}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c := &Connector{
		baseURL:           baseURL,
		apiKey:            cfg.Value(def, settingAPIKey),
		username:          cfg.Value(def, settingUsername),
		password:          cfg.Value(def, settingPassword),
		pageSize:          pageSize,
		zone:              zone,
		bareToken:         cfg.Value(def, settingAuthScheme) == "bare",
		incrementalFilter: filter,
		routes:            routes,
		http:              httpx.New(cfg.HTTP),
		now:               now,
	}
	c.tokens = tokens.source(baseURL, c.apiKey, c.username, c.password, now)
	return c, nil
}

// Provider names the connector.
func (c *Connector) Provider() string { return Name }

// SupportsChangedSince is true: Absorb filters enrollments by dateEdited
// (providers.md §2.5).
func (c *Connector) SupportsChangedSince() bool { return true }

// HTTPStats returns the HTTP client's counters (httpx.StatsReporter), which
// the sync engine diffs into each run's request, retry and throttle counts.
func (c *Connector) HTTPStats() httpx.Stats { return c.http.Stats() }

// Compile-time checks of the contract this connector keeps.
var (
	_ provider.IncrementalReader = (*Connector)(nil)
	_ provider.ConnectionTester  = (*Connector)(nil)
	_ provider.Enroller          = (*Connector)(nil)
	_ provider.ReEnroller        = (*Connector)(nil)
	_ provider.Scorer            = (*Connector)(nil)
	_ provider.Completer         = (*Connector)(nil)
	_ provider.StatusSetter      = (*Connector)(nil)
	_ provider.Withdrawer        = (*Connector)(nil)
	_ provider.LessonAttempter   = (*Connector)(nil)
)

// providerErr builds an error of this vendor.
func providerErr(kind provider.Kind, method, rawURL string, status int, msg string, err error) *provider.Error {
	return &provider.Error{Kind: kind, Provider: Name, Method: method, URL: httpx.Redact(rawURL), Status: status, Message: msg, Err: err}
}

// invalid is a request refused before any call.
func invalid(format string, args ...any) *provider.Error {
	return &provider.Error{Kind: provider.KindInvalidRequest, Provider: Name, Message: fmt.Sprintf(format, args...)}
}
