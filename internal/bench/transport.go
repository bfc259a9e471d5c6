package bench

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// countingTransport sits under a connector's HTTP client and watches what
// reaches the LMS: answers accepted and refused by its rate limit, and the
// longest run of refusals of one request (by method and URL), which the
// client's own counters cannot tell apart from refusals of different
// requests.
type countingTransport struct {
	next http.RoundTripper

	mu       sync.Mutex
	accepted int64
	refused  int64
	run      map[string]int
	maxRun   int
}

func newCountingTransport() *countingTransport {
	// The same tuning as httpx's default transport, so that measuring does
	// not change what is measured.
	return &countingTransport{
		next: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		run: map[string]int{},
	}
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return res, err
	}
	key := r.Method + " " + r.URL.String()
	// With only a rate limit injected and valid credentials, 429 (and
	// Canvas's 403 "Rate Limit Exceeded") is always the limit's refusal.
	refused := res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusForbidden
	t.mu.Lock()
	if refused {
		t.refused++
		t.run[key]++
		t.maxRun = max(t.maxRun, t.run[key])
	} else {
		t.accepted++
		delete(t.run, key)
	}
	t.mu.Unlock()
	return res, nil
}

// take returns the counts since the last take and starts afresh.
func (t *countingTransport) take() (accepted, refused int64, maxRun int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	accepted, refused, maxRun = t.accepted, t.refused, t.maxRun
	t.accepted, t.refused, t.maxRun = 0, 0, 0
	t.run = map[string]int{}
	return accepted, refused, maxRun
}
