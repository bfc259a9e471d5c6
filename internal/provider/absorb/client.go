package absorb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/registrarhq/registrar/internal/httpx"
	"github.com/registrarhq/registrar/internal/provider"
)

// maxErrorBody bounds the vendor body kept on an error.
const maxErrorBody = 4 << 10

// request is one call to the Integration API.
type request struct {
	route  string
	params map[string]string
	query  url.Values
	body   any
}

// url builds the absolute URL of route r with its path parameters and query.
func (c *Connector) url(r route, params map[string]string, query url.Values) string {
	u := c.baseURL + r.expand(params)
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

func (c *Connector) headers(token string) http.Header {
	h := http.Header{}
	h.Set("x-api-key", c.apiKey)
	h.Set("x-api-version", apiVersion)
	h.Set("Accept", "application/json")
	if token != "" {
		if c.bareToken {
			h.Set("Authorization", token)
		} else {
			h.Set("Authorization", "Bearer "+token)
		}
	}
	return h
}

// call sends req with the shared token and decodes a 2xx JSON answer into out
// (unless out is nil). A 401 renews the token once and repeats the call; a
// second 401 is KindAuthentication.
func (c *Connector) call(ctx context.Context, req request, out any) error {
	r := c.routes[req.route]
	rawURL := c.url(r, req.params, req.query)
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return fmt.Errorf("absorb: encoding %s body: %w", req.route, err)
		}
	}
	for attempt := 1; ; attempt++ {
		token, gen, err := c.tokens.Token(ctx, c.authenticate)
		if err != nil {
			return err
		}
		h := c.headers(token)
		if body != nil {
			h.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(ctx, &httpx.Request{Method: r.Method, URL: rawURL, Header: h, Body: body})
		if err != nil {
			return c.transportError(ctx, r.Method, rawURL, err)
		}
		if resp.Status == http.StatusUnauthorized && attempt == 1 {
			// The token expired early or another client of the same user
			// took over (§2.2): renew once.
			c.tokens.Invalidate(gen)
			continue
		}
		if resp.Status < 200 || resp.Status > 299 {
			return c.statusError(r.Method, rawURL, resp)
		}
		if out == nil {
			return nil
		}
		return c.decode(r.Method, rawURL, resp, out)
	}
}

// authenticate exchanges the credentials for a token (providers.md §2.2).
func (c *Connector) authenticate(ctx context.Context) (string, error) {
	r := c.routes[routeAuthenticate]
	rawURL := c.url(r, nil, nil)
	body, err := json.Marshal(map[string]string{"username": c.username, "password": c.password, "privateKey": c.apiKey})
	if err != nil {
		return "", err
	}
	h := c.headers("")
	h.Set("Content-Type", "application/json")
	// Repeating an /authenticate whose answer was lost is harmless: the
	// newer token simply wins.
	resp, err := c.http.Do(ctx, &httpx.Request{Method: r.Method, URL: rawURL, Header: h, Body: body, Idempotent: true})
	if err != nil {
		return "", c.transportError(ctx, r.Method, rawURL, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		e := c.statusError(r.Method, rawURL, resp)
		switch resp.Status {
		case http.StatusUnauthorized:
			// A wrong x-api-key is a 401 (§2.2, VERIFIED); what a wrong
			// password answers is not documented and may be a 401 too, so the
			// vendor's words decide which to name.
			e.Kind = provider.KindAuthentication
			e.Message = prefixMessage(refusedLogin(e.Message), e.Message)
		case http.StatusForbidden:
			// 403 from /authenticate: the portal is disabled (seed 003, §2.2).
			e.Kind = provider.KindPermission
			e.Message = prefixMessage("Absorb refused the login: the portal is disabled for this user", e.Message)
		case http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
			// We always send all three body fields, so a refusal here is
			// about the username or password.
			e.Kind = provider.KindAuthentication
			e.Message = prefixMessage("Absorb refused the username or password", e.Message)
		}
		return "", e
	}
	var token string
	if err := json.Unmarshal(resp.Body, &token); err != nil || token == "" {
		return "", withBody(providerErr(provider.KindUpstream, r.Method, rawURL, resp.Status,
			"Absorb /authenticate did not answer a token as a JSON string", err), resp.Body)
	}
	return token, nil
}

// refusedLogin names what a 401 from /authenticate refused.
func refusedLogin(vendor string) string {
	v := strings.ToLower(vendor)
	switch {
	case strings.Contains(v, "key"):
		return "Absorb refused the API key"
	case strings.Contains(v, "password") || strings.Contains(v, "username") || strings.Contains(v, "credential"):
		return "Absorb refused the username or password"
	}
	return "Absorb refused the API key or the username and password"
}

func prefixMessage(ours, vendor string) string {
	if vendor == "" {
		return ours
	}
	return ours + ": " + vendor
}

// errorBody is Absorb's GenericErrorResponse (providers.md §2.7).
type errorBody struct {
	Validations []string          `json:"validations"`
	Code        int               `json:"code"`
	Message     string            `json:"message"`
	Term        string            `json:"term"`
	Meta        map[string]string `json:"_meta"`
}

// statusError classifies a non-2xx answer.
func (c *Connector) statusError(method, rawURL string, resp *httpx.Response) *provider.Error {
	var kind provider.Kind
	switch {
	case resp.Status == http.StatusUnauthorized:
		kind = provider.KindAuthentication
	case resp.Status == http.StatusForbidden:
		kind = provider.KindPermission
	case resp.Status == http.StatusNotFound:
		kind = provider.KindNotFound
	case resp.Status == http.StatusTooManyRequests:
		kind = provider.KindThrottled
	case resp.Status == http.StatusBadRequest || resp.Status == http.StatusUnprocessableEntity || resp.Status == http.StatusConflict:
		kind = provider.KindInvalidRequest
	case resp.Status >= 500:
		kind = provider.KindUnavailable
	default:
		kind = provider.KindUpstream
	}
	e := providerErr(kind, method, rawURL, resp.Status, vendorMessage(resp.Body), nil)
	if kind == provider.KindThrottled {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	}
	return withBody(e, resp.Body)
}

// vendorMessage extracts Absorb's own words from an error body.
func vendorMessage(body []byte) string {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		text := strings.TrimSpace(string(body))
		if len(text) > 200 || strings.HasPrefix(text, "<") {
			return ""
		}
		return text
	}
	parts := []string{}
	if eb.Message != "" {
		parts = append(parts, eb.Message)
	}
	parts = append(parts, eb.Validations...)
	return strings.Join(parts, "; ")
}

func (c *Connector) decode(method, rawURL string, resp *httpx.Response, out any) error {
	// go-json: see the Canvas connector's decode.
	if err := gojson.Unmarshal(resp.Body, out); err != nil {
		return withBody(providerErr(provider.KindUpstream, method, rawURL, resp.Status,
			"Absorb answered malformed JSON", err), resp.Body)
	}
	return nil
}

// transportError turns "no answer" into KindUnavailable, keeping a context
// error visible to errors.Is.
func (c *Connector) transportError(ctx context.Context, method, rawURL string, err error) error {
	if ctx.Err() != nil || isContextError(err) {
		return fmt.Errorf("absorb %s %s: %w", method, httpx.Redact(rawURL), err)
	}
	var te *httpx.TransportError
	msg := "Absorb could not be reached"
	if errors.As(err, &te) {
		msg = fmt.Sprintf("Absorb could not be reached after %d attempt(s)", te.Attempts)
	}
	return providerErr(provider.KindUnavailable, method, rawURL, 0, msg, err)
}

// withBody keeps the start of the vendor's answer for diagnostics.
func withBody(e *provider.Error, body []byte) *provider.Error {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e.Body = append([]byte(nil), body...)
	return e
}

// retryAfter reads a Retry-After given in seconds.
func retryAfter(v string) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}
