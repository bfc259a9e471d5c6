// Package httpx is the one HTTP client every connector uses. It adds what a
// polite, resilient API client needs and no connector should write again:
// per-attempt timeouts, a User-Agent, retries with exponential backoff and full
// jitter for 5xx, connection errors and throttling, Retry-After, and a token
// bucket that slows down when the vendor signals pressure.
//
// Requests that are not safe to repeat (POST, PATCH without an idempotency
// guarantee) are retried only when the failure proves the request never
// reached the server (connection refused, or a throttling answer, which the
// vendor sends instead of doing the work).
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// DefaultUserAgent identifies Registrar to vendors (Canvas refuses requests
// without one).
const DefaultUserAgent = "Registrar/1.0 (+https://github.com/registrarhq/registrar)"

// MaxBodyBytes bounds how much of an answer is read, so a broken vendor cannot
// exhaust memory.
const MaxBodyBytes = 64 << 20

// Options configures a Client. The zero value is usable: every field has a
// default.
type Options struct {
	// UserAgent is sent on every request; default DefaultUserAgent.
	UserAgent string
	// Timeout bounds one attempt, including reading the body; default 30s.
	Timeout time.Duration
	// MaxAttempts bounds attempts per request, the first included; default 8.
	MaxAttempts int
	// MaxElapsed bounds the time spent on one request across retries;
	// default 1 minute. A vendor that stays down fails within it.
	MaxElapsed time.Duration
	// BaseBackoff and MaxBackoff shape the exponential backoff; defaults
	// 100ms and 10s. Retry-After, when given, wins over them.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// RateLimit caps requests per second (0 = no cap until the vendor signals
	// throttling, after which the client paces itself); Burst defaults to 1.
	RateLimit float64
	Burst     int
	// IsThrottle recognises vendor-specific throttling answers beyond 429
	// (Canvas: 403 with "Rate Limit Exceeded"). It sees the status and body.
	IsThrottle func(status int, body []byte) bool
	// Transport sends requests; default a tuned *http.Transport.
	Transport http.RoundTripper
	// Sleep waits between attempts; tests may replace it. Default honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Request is one call. Body is held in memory so that it can be re-sent.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Idempotent marks a request safe to repeat even if it may have reached
	// the server (GET, PUT, DELETE are by default).
	Idempotent bool
}

// Response is a complete answer: status, headers and the whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// URL is the final URL after redirects.
	URL string
}

// TransportError is returned when no answer came back after all attempts.
type TransportError struct {
	Method   string
	URL      string
	Attempts int
	Err      error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s %s: no answer after %d attempt(s): %v", e.Method, e.URL, e.Attempts, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Stats counts what a client did. All fields only grow; take differences to
// measure one sync run.
type Stats struct {
	Requests  int64 // attempts sent
	Retries   int64 // attempts beyond the first
	Throttled int64 // answers that were throttling signals
	Failures  int64 // 5xx answers and transport errors
}

// Sub returns the counts since prev, an earlier Stats of the same client:
// what one sync run did.
func (s Stats) Sub(prev Stats) Stats {
	return Stats{
		Requests:  s.Requests - prev.Requests,
		Retries:   s.Retries - prev.Retries,
		Throttled: s.Throttled - prev.Throttled,
		Failures:  s.Failures - prev.Failures,
	}
}

// StatsReporter is implemented by connectors built on a Client, so that a
// sync run can read their counters before and after and report the
// difference (Stats.Sub) without knowing the connector.
type StatsReporter interface {
	HTTPStats() Stats
}

// Client sends requests with retries and pacing. Safe for concurrent use.
type Client struct {
	opts    Options
	http    *http.Client
	limiter *rate.Limiter

	requests, retries, throttled, failures atomic.Int64

	mu        sync.Mutex
	pausedTil time.Time
	// recent holds the times of the latest accepted answers (a ring), so
	// that the first throttle can start pacing at the rate the vendor was
	// accepting rather than at a guess.
	recent  [64]time.Time
	recentN int
	sinceOK bool // an answer was accepted since the last throttle
	// ceiling is the pace of the last throttle: the pace creeps back up
	// only to just under it, so that a vendor whose throttles cost a long
	// Retry-After is not probed into refusing again and again.
	ceiling   rate.Limit
	remaining bool // the vendor sends X-Rate-Limit-Remaining, which then paces
}

// New returns a client with defaults applied.
func New(opts Options) *Client {
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.MaxElapsed <= 0 {
		opts.MaxElapsed = time.Minute
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	transport := opts.Transport
	if transport == nil {
		transport = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		}
	}
	limit := rate.Inf
	if opts.RateLimit > 0 {
		limit = rate.Limit(opts.RateLimit)
	}
	return &Client{
		opts:    opts,
		http:    &http.Client{Transport: transport},
		limiter: rate.NewLimiter(limit, opts.Burst),
	}
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:  c.requests.Load(),
		Retries:   c.retries.Load(),
		Throttled: c.throttled.Load(),
		Failures:  c.failures.Load(),
	}
}

// Limit returns the current pacing in requests per second (Inf = none).
func (c *Client) Limit() float64 { return float64(c.limiter.Limit()) }

// Do sends the request, retrying as the package doc describes. It returns the
// final answer whatever its status (the caller classifies 4xx and an
// exhausted 5xx or throttle), or a *TransportError when none came, or the
// context's error.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	var start time.Time // the first attempt's send: pacing before it is not the vendor's fault
	idempotent := req.Idempotent || req.Method == "" || req.Method == http.MethodGet ||
		req.Method == http.MethodHead || req.Method == http.MethodPut ||
		req.Method == http.MethodDelete || req.Method == http.MethodOptions
	var lastErr error
	var lastResp *Response
	attempts := 0
	for attempt := 1; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}
		if attempt == 1 {
			start = time.Now()
		}
		// An attempt gets Timeout, but never more than what is left of
		// MaxElapsed, so that a vendor that hangs is bounded like one that
		// fails fast.
		timeout := min(c.opts.Timeout, c.opts.MaxElapsed-time.Since(start))
		if timeout <= 0 {
			break
		}
		c.requests.Add(1)
		attempts = attempt
		if attempt > 1 {
			c.retries.Add(1)
		}
		resp, err := c.once(ctx, req, timeout)
		var retryAfter time.Duration
		retry := false
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.failures.Add(1)
			lastErr, lastResp = err, nil
			retry = idempotent || neverReachedServer(err)
		case resp.Status == http.StatusTooManyRequests || (c.opts.IsThrottle != nil && c.opts.IsThrottle(resp.Status, resp.Body)):
			c.throttled.Add(1)
			lastErr, lastResp = nil, resp
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			c.slowDown(retryAfter)
			retry = true // a throttled request was not performed
		case resp.Status >= 500:
			c.failures.Add(1)
			lastErr, lastResp = nil, resp
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			retry = idempotent || resp.Status == http.StatusServiceUnavailable
		default:
			c.accepted()
			c.observeRemaining(resp.Header)
			return resp, nil
		}
		if !retry || attempt >= c.opts.MaxAttempts {
			break
		}
		delay := c.backoff(attempt)
		if retryAfter > delay {
			delay = retryAfter
		}
		if time.Since(start)+delay > c.opts.MaxElapsed {
			break
		}
		if err := c.opts.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
	if lastResp != nil {
		return lastResp, nil
	}
	return nil, &TransportError{Method: req.Method, URL: redact(req.URL), Attempts: attempts, Err: redactErr(lastErr)}
}

func (c *Client) once(ctx context.Context, req *Request, timeout time.Duration) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hr.Header.Set("User-Agent", c.opts.UserAgent)
	res, err := c.http.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxBodyBytes))
	if err != nil {
		return nil, err
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: data, URL: res.Request.URL.String()}, nil
}

// wait blocks for the pacing limiter and any pause a Retry-After imposed on
// every request of this client (one connection shares one budget).
func (c *Client) wait(ctx context.Context) error {
	c.mu.Lock()
	pause := time.Until(c.pausedTil)
	c.mu.Unlock()
	if pause > 0 {
		if err := c.opts.Sleep(ctx, pause); err != nil {
			return err
		}
	}
	if err := c.limiter.Wait(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		// The limiter refuses up front when the wait would pass ctx's
		// deadline; to the caller that is the deadline, not a transport fault.
		return context.DeadlineExceeded
	}
	return nil
}

// slowDown reacts to a throttling answer: pause every caller for Retry-After
// and lower the pace so the next requests do not hit the limit again.
//
// A vendor's limit is a token bucket (or close to one), so the pace that
// keeps up with it is just under its refill rate: the first throttle sets
// the pace to the rate accepted over the last second (which the burst may
// inflate; further throttles correct it), a throttle after accepted answers
// (the pace crept above the limit, see accepted) lowers it by 10%, and one
// with no answer accepted since the last throttle by 30%. After a throttle
// every caller waits at least 1.5 intervals of the new pace, so that the
// bucket has a token again and the retry is not refused a second time.
func (c *Client) slowDown(retryAfter time.Duration) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.limiter.Limit()
	var next rate.Limit
	switch {
	case cur == rate.Inf:
		next = 10
		if n := c.acceptedWithin(now, time.Second); n >= 2 {
			next = rate.Limit(n)
		}
		c.ceiling = next
	case c.sinceOK:
		next, c.ceiling = cur*0.9, cur
	default:
		next, c.ceiling = cur*0.7, cur
	}
	next = max(next, 0.5)
	c.limiter.SetLimit(next)
	c.sinceOK = false
	pause := max(retryAfter, time.Duration(1.5*float64(time.Second)/float64(next)))
	if until := now.Add(pause); until.After(c.pausedTil) {
		c.pausedTil = until
	}
}

// accepted records an answer that was not a throttle, and lets the pace
// creep back up (about 10% a second) to just under the pace of the last
// throttle, when only throttles pace it: without that, a pace lowered once
// would stay well below the vendor's limit for good.
func (c *Client) accepted() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recent[c.recentN%len(c.recent)] = now
	c.recentN++
	c.sinceOK = true
	cur := c.limiter.Limit()
	if cur == rate.Inf || c.remaining {
		return
	}
	if cur >= c.ceiling*0.98 {
		return
	}
	next := min(cur+0.1, c.ceiling*0.98)
	if c.opts.RateLimit > 0 {
		next = min(next, rate.Limit(c.opts.RateLimit))
	}
	c.limiter.SetLimit(next)
}

// acceptedWithin counts the accepted answers of the last d (at most the
// ring's size). c.mu is held.
func (c *Client) acceptedWithin(now time.Time, d time.Duration) int {
	n := 0
	for i := 1; i <= min(c.recentN, len(c.recent)); i++ {
		if now.Sub(c.recent[(c.recentN-i)%len(c.recent)]) > d {
			break
		}
		n++
	}
	return n
}

// observeRemaining slows down before the vendor throttles, from Canvas's
// X-Rate-Limit-Remaining (the headroom left in its leaky bucket).
func (c *Client) observeRemaining(h http.Header) {
	v := h.Get("X-Rate-Limit-Remaining")
	if v == "" {
		return
	}
	remaining, err := strconv.ParseFloat(v, 64)
	if err != nil || remaining < 0 {
		return // not a level we can reason about
	}
	c.mu.Lock()
	c.remaining = true
	c.mu.Unlock()
	cur := c.limiter.Limit()
	switch {
	case remaining < 50 && cur == rate.Inf:
		c.limiter.SetLimit(rate.Limit(10))
	case remaining < 10 && cur != rate.Inf:
		// Nearly empty although already paced: the vendor's bucket drains
		// faster than it refills at this pace, so slow down further.
		c.limiter.SetLimit(max(cur*0.8, 0.5))
	}
	if remaining >= 300 && c.opts.RateLimit == 0 && c.limiter.Limit() != rate.Inf {
		// Plenty of headroom again: recover speed gradually.
		c.limiter.SetLimit(c.limiter.Limit() * 1.2)
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := float64(c.opts.BaseBackoff) * math.Pow(2, float64(attempt-1))
	if d > float64(c.opts.MaxBackoff) {
		d = float64(c.opts.MaxBackoff)
	}
	// Full jitter: spread retries of many clients.
	return time.Duration(rand.Float64() * d)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// neverReachedServer reports whether a transport error proves the request was
// not sent: the connection was refused or could not be dialled at all (DNS,
// unreachable network, dial timeout). Then even a POST is safe to repeat.
func neverReachedServer(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// redactErr removes credentials from the URL a *url.Error quotes, so that a
// TransportError never prints an access_token.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		cp.URL = redact(ue.URL)
		return &cp
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
