package provider

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a vendor failure so that callers can act on it without
// knowing the vendor.
type Kind string

// The kinds of failure.
const (
	// KindAuthentication: the credentials were refused (bad token, key, password).
	KindAuthentication Kind = "authentication"
	// KindPermission: authenticated, but not allowed to do this.
	KindPermission Kind = "permission"
	// KindNotFound: the addressed record does not exist.
	KindNotFound Kind = "not_found"
	// KindThrottled: the LMS asked us to slow down and retries ran out.
	KindThrottled Kind = "throttled"
	// KindInvalidRequest: the LMS refused the request as invalid or not allowed
	// in the record's state; Message carries the vendor's words.
	KindInvalidRequest Kind = "invalid_request"
	// KindUnavailable: the LMS could not be reached or answered 5xx after retries.
	KindUnavailable Kind = "unavailable"
	// KindUpstream: the LMS answered something we cannot understand
	// (malformed JSON, unexpected status, missing Location).
	KindUpstream Kind = "upstream"
)

// Error is a failure talking to an LMS.
type Error struct {
	Kind     Kind
	Provider string // "canvas", "absorb", "digitalchalk"
	Method   string // HTTP method of the failing call
	URL      string // URL of the failing call, credentials removed
	Status   int    // HTTP status, 0 when there was no answer
	// Message is the vendor's own explanation when it gave one, else ours.
	Message string
	// Body is the vendor's raw answer (truncated), for diagnostics; it never
	// holds our credentials.
	Body []byte
	// RetryAfter is the delay the LMS asked for, when it did.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	where := e.Provider
	if e.Method != "" || e.URL != "" {
		where = fmt.Sprintf("%s %s %s", e.Provider, e.Method, e.URL)
	}
	msg := fmt.Sprintf("%s: %s", where, e.Kind)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil && (e.Message == "" || e.Message != e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or "" when err is
// not a provider error.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return KindOf(err) == k }
