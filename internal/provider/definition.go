package provider

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/lms"
)

// Setting describes one connection setting of a provider.
type Setting struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	// Secret settings are credentials: encrypted at rest, write-only in the API,
	// never logged.
	Secret  bool   `json:"secret"`
	Default string `json:"default,omitempty"`
	// URL settings must parse as absolute http(s) URLs.
	URL bool `json:"-"`
	// OneOf, when set, names settings of which at least one must be given
	// (Absorb base_url or region).
	OneOf []string `json:"-"`
	// Enum, when set, lists the accepted values.
	Enum []string `json:"enum,omitempty"`
}

// Config is what a connector is built from.
type Config struct {
	// Settings holds the plain settings (base_url, account_id, region, ...).
	Settings map[string]string
	// Secrets holds the decrypted credentials (token, api_key, password, ...).
	Secrets map[string]string
	// HTTP configures the shared client (timeouts, retries, rate limit).
	HTTP httpx.Options
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Value returns a setting or secret by name, falling back to its default.
func (c Config) Value(d *Definition, name string) string {
	if v, ok := c.Secrets[name]; ok && v != "" {
		return v
	}
	if v, ok := c.Settings[name]; ok && v != "" {
		return v
	}
	for _, s := range d.Settings {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}

// Definition describes a provider: its settings, what it fills, and how to
// build a connector. app registers one per provider explicitly.
type Definition struct {
	Name     string
	Title    string
	Settings []Setting
	// Fields lists the unified fields (JSON names, dotted for nested) this
	// connector fills when the LMS has the value.
	Fields []string
	// Notes documents limits a user must know (what it cannot do).
	Notes []string
	// New builds a connector; it does not call the LMS.
	New func(Config) (Reader, error)
	// Prototype is a value of the connector's type (a typed nil pointer is
	// fine): Capabilities of it derive the capability matrix without
	// building a connector.
	Prototype Reader
}

// Capabilities derives the provider's capability matrix from its connector
// type.
func (d *Definition) Capabilities() []lms.Capability {
	if d.Prototype == nil {
		return nil
	}
	return Capabilities(d.Prototype)
}

// FieldError is one invalid setting.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every invalid setting at once.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid settings: " + strings.Join(parts, "; ")
}

// Validate checks settings and secrets against the definition: required
// values present, URLs absolute http(s), enums respected, no unknown names.
// It returns a *ValidationError listing every problem, or nil.
func (d *Definition) Validate(settings, secrets map[string]string) error {
	var errs []FieldError
	known := map[string]Setting{}
	for _, s := range d.Settings {
		known[s.Name] = s
	}
	check := func(m map[string]string, secret bool) {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			s, ok := known[k]
			switch {
			case !ok:
				errs = append(errs, FieldError{k, fmt.Sprintf("unknown setting for provider %s", d.Name)})
			case s.Secret != secret && secret:
				errs = append(errs, FieldError{k, "is not a credential; put it in settings"})
			case s.Secret != secret:
				errs = append(errs, FieldError{k, "is a credential; put it in credentials"})
			}
		}
	}
	check(settings, false)
	check(secrets, true)
	get := func(name string) string {
		if v := secrets[name]; v != "" {
			return v
		}
		return settings[name]
	}
	for _, s := range d.Settings {
		v := get(s.Name)
		if v == "" {
			if s.Required {
				errs = append(errs, FieldError{s.Name, "is required"})
			}
			if len(s.OneOf) > 0 {
				any := false
				for _, o := range s.OneOf {
					if get(o) != "" {
						any = true
					}
				}
				if !any && s.Name == s.OneOf[0] {
					errs = append(errs, FieldError{s.Name, "one of " + strings.Join(s.OneOf, " or ") + " is required"})
				}
			}
			continue
		}
		if s.URL {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, FieldError{s.Name, "must be an absolute http or https URL"})
			}
		}
		if len(s.Enum) > 0 {
			ok := false
			for _, e := range s.Enum {
				ok = ok || e == v
			}
			if !ok {
				errs = append(errs, FieldError{s.Name, "must be one of " + strings.Join(s.Enum, ", ")})
			}
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// SecretNames lists the names of the definition's secret settings.
func (d *Definition) SecretNames() []string {
	var out []string
	for _, s := range d.Settings {
		if s.Secret {
			out = append(out, s.Name)
		}
	}
	return out
}
