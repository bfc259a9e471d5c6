package digitalchalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// maxErrorBody bounds the vendor answer kept in a *provider.Error.
const maxErrorBody = 4 << 10

// Connector talks to one DigitalChalk organisation. It is safe for concurrent
// use.
type Connector struct {
	baseURL       *url.URL
	token         string
	pageSize      int
	userDetails   string
	gradeProperty string
	http          *httpx.Client
	users         *userDirectory
}

// New builds a connector from validated settings. It makes no network call.
// It reads no clock: every time it returns comes from DigitalChalk, so
// cfg.Now is not needed.
func New(cfg provider.Config) (*Connector, error) {
	def := Definition()
	if err := def.Validate(cfg.Settings, cfg.Secrets); err != nil {
		return nil, err
	}
	base, err := url.Parse(strings.TrimRight(cfg.Value(def, settingBaseURL), "/"))
	if err != nil {
		return nil, &provider.ValidationError{Fields: []provider.FieldError{{Field: settingBaseURL, Message: err.Error()}}}
	}
	pageSize, err := strconv.Atoi(cfg.Value(def, settingPageSize))
	if err != nil || pageSize < 1 || pageSize > maxPageSize {
		return nil, &provider.ValidationError{Fields: []provider.FieldError{{
			Field: settingPageSize, Message: fmt.Sprintf("must be a whole number from 1 to %d", maxPageSize),
		}}}
	}
	c := &Connector{
		baseURL:       base,
		token:         cfg.Value(def, settingToken),
		pageSize:      pageSize,
		userDetails:   cfg.Value(def, settingUserDetails),
		gradeProperty: cfg.Value(def, settingGradeProperty),
		http:          httpx.New(cfg.HTTP),
	}
	c.users = newUserDirectory(c)
	return c, nil
}

// Provider names the connector.
func (c *Connector) Provider() string { return Name }

// HTTPStats reports what the HTTP client did, for sync-run metrics.
func (c *Connector) HTTPStats() httpx.Stats { return c.http.Stats() }

// endpoint returns the URL of path (relative to base_url) with query.
func (c *Connector) endpoint(path string, query url.Values) string {
	u := *c.baseURL
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// call sends one request and returns the answer when it is a success (2xx).
// Anything else becomes a *provider.Error classified by send; a cancelled ctx
// comes back as ctx's error.
func (c *Connector) call(ctx context.Context, method, rawURL string, body any) (*httpx.Response, error) {
	req := &httpx.Request{
		Method: method,
		URL:    rawURL,
		Header: http.Header{
			"Authorization": {"Bearer " + c.token},
			"Accept":        {"application/json"},
			"Content-Type":  {"application/json"},
		},
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("digitalchalk: encode %s body: %w", method, err)
		}
		req.Body = b
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("digitalchalk %s %s: %w", method, httpx.Redact(rawURL), ctxErr)
		}
		pe := &provider.Error{
			Kind: provider.KindUnavailable, Provider: Name, Method: method, URL: httpx.Redact(rawURL),
			Message: "no answer from DigitalChalk", Err: err,
		}
		var te *httpx.TransportError
		if errors.As(err, &te) && method == http.MethodPost {
			// POST is not idempotent and was not retried: it may have reached
			// DigitalChalk, so the caller must look before trying again.
			pe.Message = "no answer from DigitalChalk; the request may or may not have been carried out, check before retrying"
		}
		return nil, pe
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return resp, nil
	}
	return nil, classify(method, rawURL, resp)
}

// classify turns a non-2xx answer into a *provider.Error carrying the
// vendor's own words (§3.4).
func classify(method, rawURL string, resp *httpx.Response) *provider.Error {
	pe := &provider.Error{
		Provider: Name,
		Method:   method,
		URL:      httpx.Redact(rawURL),
		Status:   resp.Status,
		Message:  vendorMessage(resp.Body),
		Body:     truncate(resp.Body, maxErrorBody),
	}
	if pe.Message == "" {
		pe.Message = fmt.Sprintf("HTTP %d %s", resp.Status, http.StatusText(resp.Status))
	}
	switch {
	case resp.Status == http.StatusUnauthorized:
		// A refused token; §3.4 leaves the exact status UNCERTAIN, 401 is the
		// OAuth2 bearer convention.
		pe.Kind = provider.KindAuthentication
	case resp.Status == http.StatusForbidden:
		pe.Kind = provider.KindPermission
	case resp.Status == http.StatusNotFound:
		pe.Kind = provider.KindNotFound
	case resp.Status == http.StatusTooManyRequests:
		pe.Kind = provider.KindThrottled
		pe.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	case resp.Status >= 500:
		pe.Kind = provider.KindUnavailable
	case resp.Status >= 400:
		pe.Kind = provider.KindInvalidRequest
	default:
		pe.Kind = provider.KindUpstream
		pe.Message = fmt.Sprintf("unexpected HTTP %d from DigitalChalk", resp.Status)
	}
	return pe
}

// vendorMessage joins the errors array and the fieldErrors object ("field:
// message", sorted by field) of a v5 error body, or "" when there is none.
func vendorMessage(body []byte) string {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return ""
	}
	var parts []string
	for _, m := range eb.Errors {
		if m = strings.TrimSpace(m); m != "" {
			parts = append(parts, m)
		}
	}
	fields := make([]string, 0, len(eb.FieldErrors))
	for f := range eb.FieldErrors {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		parts = append(parts, f+": "+eb.FieldErrors[f])
	}
	return strings.Join(parts, "; ")
}

// decode parses a 2xx JSON answer; a body that does not parse is an upstream
// failure naming the vendor and the URL.
func decode(method, rawURL string, resp *httpx.Response, v any) error {
	// go-json: see the Canvas connector's decode.
	if err := gojson.Unmarshal(resp.Body, v); err != nil {
		return &provider.Error{
			Kind: provider.KindUpstream, Provider: Name, Method: method, URL: httpx.Redact(rawURL),
			Status:  resp.Status,
			Message: fmt.Sprintf("DigitalChalk answered %s %s with malformed JSON: %v", method, httpx.Redact(rawURL), err),
			Body:    truncate(resp.Body, maxErrorBody),
			Err:     err,
		}
	}
	return nil
}

// getJSON GETs rawURL and decodes the answer into v.
func (c *Connector) getJSON(ctx context.Context, rawURL string, v any) error {
	resp, err := c.call(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	return decode(http.MethodGet, rawURL, resp, v)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

func retryAfter(v string) time.Duration {
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}

// upstream builds an upstream error for an answer we understand but cannot
// use.
func upstream(method, rawURL, format string, args ...any) *provider.Error {
	return &provider.Error{
		Kind: provider.KindUpstream, Provider: Name, Method: method, URL: httpx.Redact(rawURL),
		Message: fmt.Sprintf(format, args...),
	}
}
