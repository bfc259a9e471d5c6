package canvas

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
)

// maxErrorBody bounds the vendor body kept on an error.
const maxErrorBody = 4 << 10

// jsonPrefix is the anti-hijacking prefix of providers.md §1.1.
var jsonPrefix = []byte("while(1);")

// call sends one request to Canvas and returns the answer of a 2xx, or a
// *provider.Error classifying anything else. A cancelled ctx returns
// ctx.Err() as is.
func (c *Connector) call(ctx context.Context, method, rawURL string, form url.Values, idempotent bool) (*httpx.Response, error) {
	if err := c.sameOrigin(method, rawURL); err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.token)
	// Ids as strings (§1.2): Canvas ids are 64-bit and shard-qualified.
	h.Set("Accept", "application/json+canvas-string-ids")
	req := &httpx.Request{Method: method, URL: rawURL, Header: h, Idempotent: idempotent}
	if form != nil {
		// Form encoding is what the seed's examples use (§1.1).
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Body = []byte(form.Encode())
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &provider.Error{Kind: provider.KindUnavailable, Provider: Name, Method: method,
			URL: httpx.Redact(rawURL), Message: "cannot reach Canvas at " + c.baseURL, Err: err}
	}
	if c.stripPrefix {
		resp.Body = bytes.TrimPrefix(bytes.TrimLeft(resp.Body, " \t\r\n"), jsonPrefix)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return resp, nil
	}
	return nil, c.statusError(method, rawURL, resp)
}

// sameOrigin refuses to send the token anywhere but the configured Canvas:
// pagination links come from the vendor and are followed verbatim, so a
// wrong Link must not leak the credential.
func (c *Connector) sameOrigin(method, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err == nil && u.Scheme == c.base.Scheme && u.Host == c.base.Host {
		return nil
	}
	return &provider.Error{Kind: provider.KindUpstream, Provider: Name, Method: method, URL: httpx.Redact(rawURL),
		Message: "Canvas sent a link outside " + c.baseURL + "; not following it with the token"}
}

// statusError classifies a non-2xx answer (providers.md §1.12, §1.13).
func (c *Connector) statusError(method, rawURL string, resp *httpx.Response) *provider.Error {
	msg, bodyStatus := errorMessage(resp.Body)
	e := &provider.Error{
		Provider: Name, Method: method, URL: httpx.Redact(rawURL), Status: resp.Status, Message: msg,
		Body: truncate(resp.Body, maxErrorBody), RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
	}
	switch {
	case resp.Status == http.StatusTooManyRequests || isThrottle(resp.Status, resp.Body):
		e.Kind = provider.KindThrottled
	case resp.Status == http.StatusUnauthorized:
		// Legacy Canvas answers 401 also to an authenticated caller lacking a
		// right ("unauthorized", §1.13), and to a token without the scope.
		lower := strings.ToLower(msg)
		if bodyStatus == "unauthorized" || strings.Contains(lower, "not authorized") || strings.Contains(lower, "insufficient scopes") {
			e.Kind = provider.KindPermission
		} else {
			e.Kind = provider.KindAuthentication
		}
	case resp.Status == http.StatusForbidden:
		e.Kind = provider.KindPermission
	case resp.Status == http.StatusNotFound:
		e.Kind = provider.KindNotFound
	case resp.Status == http.StatusBadRequest || resp.Status == http.StatusConflict || resp.Status == http.StatusUnprocessableEntity:
		e.Kind = provider.KindInvalidRequest
	case resp.Status >= 500:
		e.Kind = provider.KindUnavailable
	default:
		e.Kind = provider.KindUpstream
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.Status)
	}
	return e
}

// errorMessage extracts the vendor's explanation from any of the error shapes
// of providers.md §1.13: {"message"}, {"error"}, {"errors":[{"message"}]},
// {"errors":"..."}, {"errors":{"field":["..."]}}, or plain text. It also
// returns the body's "status" field ("unauthenticated", "unauthorized").
func errorMessage(body []byte) (msg, status string) {
	body = bytes.TrimSpace(body)
	var obj map[string]json.RawMessage
	if len(body) == 0 {
		return "", ""
	}
	if json.Unmarshal(body, &obj) != nil {
		text := string(body)
		if json.Valid(body) || strings.HasPrefix(text, "<") {
			return "", "" // JSON of another shape, or an HTML error page: nothing to quote
		}
		return string(truncate(body, 300)), ""
	}
	var s string
	if json.Unmarshal(obj["status"], &s) == nil {
		status = s
	}
	for _, key := range []string{"message", "error"} {
		if json.Unmarshal(obj[key], &s) == nil && s != "" {
			return s, status
		}
	}
	return messagesOf(obj["errors"]), status
}

// messagesOf flattens an "errors" value of any shape into one line.
func messagesOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var parts []string
		for _, item := range list {
			if m := messagesOf(item); m != "" {
				parts = append(parts, m)
			}
		}
		return strings.Join(parts, "; ")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if json.Unmarshal(obj["message"], &s) == nil && s != "" {
			return s
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			if m := messagesOf(obj[k]); m != "" {
				parts = append(parts, k+": "+m)
			}
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// decode parses a 2xx JSON answer; anything unparseable is KindUpstream
// naming Canvas and the URL.
func decode(method, rawURL string, resp *httpx.Response, v any) error {
	// go-json: a sync decodes every page and record it reads (twice as fast
	// as encoding/json; the golden mapping tests and providertest's
	// malformed-JSON cases hold for both).
	if err := gojson.Unmarshal(resp.Body, v); err != nil {
		return malformed(method, rawURL, resp, err)
	}
	return nil
}

func malformed(method, rawURL string, resp *httpx.Response, err error) error {
	return &provider.Error{Kind: provider.KindUpstream, Provider: Name, Method: method, URL: httpx.Redact(rawURL),
		Status: resp.Status, Message: "Canvas answered malformed JSON", Body: truncate(resp.Body, maxErrorBody), Err: err}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

func retryAfter(v string) time.Duration {
	if secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}
