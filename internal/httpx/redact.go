package httpx

import "net/url"

// secretParams are query parameters that carry credentials (Canvas accepts
// access_token in the URL); they never appear in errors or logs.
var secretParams = []string{"access_token", "api_key", "apikey", "token", "password"}

// Redact returns raw with credential query parameters replaced, for errors
// and logs.
func Redact(raw string) string { return redact(raw) }

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	changed := false
	for _, p := range secretParams {
		if q.Has(p) {
			q.Set(p, "REDACTED")
			changed = true
		}
	}
	if u.User != nil {
		u.User = nil
		changed = true
	}
	if !changed {
		return raw
	}
	u.RawQuery = q.Encode()
	return u.String()
}
