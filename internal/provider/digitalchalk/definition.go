package digitalchalk

import "github.com/registrarhq/registrar/internal/provider"

// Name is the provider name of this connector.
const Name = "digitalchalk"

// Setting names.
const (
	settingBaseURL       = "base_url"
	settingToken         = "token"
	settingPageSize      = "page_size"
	settingUserDetails   = "user_details"
	settingGradeProperty = "grade_property"
)

// DefaultBaseURL is the 2023 documented production base (§3.1). The Dec-2024
// docs write https://api.digitalchalk.com/api/v5 (no /dc) and the eject
// example uses a per-organisation host; which one is current is UNCERTAIN,
// so the whole prefix is the base_url setting.
const DefaultBaseURL = "https://api.digitalchalk.com/dc/api/v5"

// maxPageSize is the largest limit DigitalChalk accepts (§3.2).
const maxPageSize = 100

// The ways to fill user names and emails (DigitalChalk registrations carry
// only userId).
const (
	// userDetailsUsersPass walks GET /users once per enrollment walk (one
	// request per page_size users) and then looks up by id only the users
	// created since. Cheapest when most users have registrations.
	userDetailsUsersPass = "users_pass"
	// userDetailsPerUser asks GET /users/{id} once per distinct user not yet
	// cached. Cheapest when the account has many more users than learners.
	userDetailsPerUser = "per_user"
	// userDetailsNone fills user.id only and makes no user calls.
	userDetailsNone = "none"
)

// Definition describes the DigitalChalk connector: its settings, the unified
// fields it fills and what it cannot do.
func Definition() *provider.Definition {
	return &provider.Definition{
		Name:  Name,
		Title: "DigitalChalk",
		Settings: []provider.Setting{
			{
				Name: settingBaseURL,
				Description: "API v5 base URL including its path prefix. The documented production base is " +
					DefaultBaseURL + "; the Dec-2024 docs show https://api.digitalchalk.com/api/v5 (no /dc), " +
					"the sandbox is https://api.digitalchalksandbox.com/dc/api/v5, and some organisations use " +
					"https://<org>.digitalchalk.com/dc/api/v5. Which prefix your tenant answers on is not documented " +
					"consistently: the connection test reports a 404 here.",
				Default: DefaultBaseURL,
				URL:     true,
			},
			{
				Name:        settingToken,
				Description: "OAuth2 access token from the DigitalChalk web app (My Account, API tab; the account needs API v5 permission). It carries the permissions of its user.",
				Required:    true,
				Secret:      true,
			},
			{
				Name:        settingPageSize,
				Description: "Records asked per page (limit), 1 to 100; DigitalChalk's own default is 15 and its maximum 100.",
				Default:     "100",
			},
			{
				Name: settingUserDetails,
				Description: "How user names and emails are read, since registrations carry only userId: " +
					"users_pass walks GET /users once per sync (one request per page_size users) then looks up newcomers by id; " +
					"per_user asks GET /users/{id} once per distinct learner; none fills user.id only and needs no access to users.",
				Default: userDetailsUsersPass,
				Enum:    []string{userDetailsUsersPass, userDetailsPerUser, userDetailsNone},
			},
			{
				Name: settingGradeProperty,
				Description: "JSON property that carries the grade when assigning one. The documented example body uses " +
					"\"grade\" while the overview prose says \"gradePercentage\" (UNCERTAIN which the live API wants).",
				Default: "grade",
				Enum:    []string{"grade", "gradePercentage"},
			},
		},
		Fields: []string{
			"id", "user.id", "user.name", "user.emails", "course.id", "course.title", "status",
			"enrolled_at", "started_at", "last_activity_at", "completed_at", "score",
			"attempt_number", "attempts_count", "created_at", "custom_fields", "remote_data",
			"provider", "remote_status", "role", "is_current",
		},
		Notes: []string{
			"No modified-since filter: every sync reads all registrations and compares them. A walk costs one request per page_size registrations (each page after the first re-reads up to 5 records to stay exact when records vanish mid-walk), plus the user lookups of user_details.",
			"Registrations carry only the user's id: names and emails come from GET /users (user_details: users_pass costs one request per page_size users per sync, per_user one per distinct learner, none nothing).",
			"attempt_number, attempts_count and is_current are filled on single reads and after writes (one extra request listing the user's registrations of that offering, numbered by createdDate), not in bulk listings.",
			"A write costs the write itself plus its read-back: GET the registration, the user if not cached, and the user's registrations of that offering.",
			"No due date, assigner, progress, time spent, URLs or certificate in the API: those fields stay empty.",
			"Writes: register (enroll; re-enroll only where the offering allows retakes), assign a grade 0-100 (DigitalChalk decides passed or failed from the course's passing grade), eject (only while active). No complete, reactivate or direct status change.",
			"Registering is not idempotent: a second POST for an active registration is refused by DigitalChalk (400).",
		},
		Prototype: (*Connector)(nil),
		New: func(cfg provider.Config) (provider.Reader, error) {
			c, err := New(cfg)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
	}
}
