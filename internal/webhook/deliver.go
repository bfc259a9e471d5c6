package webhook

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/ident"
	"github.com/registrarhq/registrar/internal/secrets"
	"github.com/registrarhq/registrar/internal/store"
)

// Defaults of Config.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultRetryFor         = 24 * time.Hour
	DefaultMinAttempts      = 5
	DefaultBatchSize        = 100
	DefaultMaxPerRun        = 1000
	DefaultUserAgent        = "Registrar-Webhooks/1.0 (+https://github.com/registrarhq/registrar)"
)

// errorSnippetBytes is how much of a failing answer's body is kept in the
// delivery record, to show the receiver's own words without storing pages.
const errorSnippetBytes = 256

// Config configures a Deliverer. Zero fields take the defaults above.
type Config struct {
	Store   store.Store
	Secrets *secrets.Box
	// Client sends deliveries. The default has Timeout and follows no
	// redirect (a 3xx is a failure: the endpoint's URL should be fixed, and
	// following would send signed events somewhere nobody registered).
	Client *http.Client
	// Timeout bounds each attempt (connect, send, answer).
	Timeout time.Duration
	// MaxResponseBytes caps how much of an answer is read.
	MaxResponseBytes int64
	UserAgent        string
	// Backoff spaces the retries of a failing event; default DefaultBackoff().
	Backoff Backoff
	// RetryFor is how long an event is retried before the endpoint is
	// disabled, counted from its first failed attempt.
	RetryFor time.Duration
	// MinAttempts is the fewest failed attempts before an endpoint may be
	// disabled, so that Registrar itself being down for a day does not
	// disable endpoints that were tried only once or twice.
	MinAttempts int
	// BatchSize is how many events one store read returns.
	BatchSize int
	// MaxPerRun bounds the events one Deliver call sends, so that one
	// busy endpoint cannot hold a worker forever.
	MaxPerRun int
	// Now is the clock of timestamps, schedules and the 24 h bound.
	Now func() time.Time
	// Rand returns a uniform number in [0, 1) for jitter.
	Rand   func() float64
	Logger *slog.Logger
	// Metrics receives the delivery series; nil keeps them unexported.
	Metrics prometheus.Registerer
}

// Deliverer sends the change feed to webhook endpoints: in feed order per
// endpoint, at least once, signed the Standard Webhooks way.
//
// Each endpoint has a cursor (Webhook.CursorSeq): the last event delivered
// or passed over because the endpoint's filter does not match it. The
// cursor moves only after a 2xx, in the same transaction that records the
// attempt, so a crash between sending and recording sends the event again
// (at least once; receivers drop the duplicate by webhook-id) and never
// skips one. A failed event blocks the events behind it, which keeps the
// order: it is retried with Backoff until it succeeds, or, once it has
// failed for RetryFor and at least MinAttempts times, the endpoint is
// disabled with a reason. An endpoint that answers 410 Gone is disabled at
// once, as the Standard Webhooks spec asks.
//
// Deliver must not run concurrently for one endpoint; the River jobs in
// this package guarantee that with unique jobs.
type Deliverer struct {
	cfg     Config
	metrics *metrics
}

// New returns a Deliverer.
func New(cfg Config) *Deliverer {
	if cfg.Store == nil || cfg.Secrets == nil {
		panic("webhook: Config.Store and Config.Secrets are required")
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	cfg.UserAgent = cmp.Or(cfg.UserAgent, DefaultUserAgent)
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff()
	}
	cfg.RetryFor = cmp.Or(cfg.RetryFor, DefaultRetryFor)
	cfg.MinAttempts = cmp.Or(cfg.MinAttempts, DefaultMinAttempts)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	cfg.MaxPerRun = cmp.Or(cfg.MaxPerRun, DefaultMaxPerRun)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Deliverer{cfg: cfg, metrics: newMetrics(cfg.Metrics)}
}

// Result says what one Deliver call did.
type Result struct {
	// Delivered counts events the endpoint accepted.
	Delivered int
	// Failed is true when an attempt failed; the event is retried at
	// NextAttempt unless the endpoint was Disabled.
	Failed      bool
	NextAttempt *time.Time
	Disabled    bool
	// More is true when the call stopped at MaxPerRun with events left.
	More bool
}

// Due returns the ids of enabled endpoints that have an event to send now:
// an event after their cursor that matches their filter, and no retry
// scheduled for later.
func (d *Deliverer) Due(ctx context.Context) ([]string, error) {
	hooks, err := d.cfg.Store.WebhookList(ctx)
	if err != nil {
		return nil, fmt.Errorf("error listing webhooks: %w", err)
	}
	now := d.cfg.Now()
	var due []string
	for _, w := range hooks {
		if !w.Enabled {
			continue
		}
		pending, err := d.cfg.Store.EventList(ctx, store.EventListParams{AfterSeq: w.CursorSeq, Types: w.Events, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("error reading events of webhook %s: %w", w.ID, err)
		}
		if len(pending) == 0 {
			continue
		}
		last, err := d.lastDelivery(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		if waiting(last, &w, now) {
			continue
		}
		due = append(due, w.ID)
	}
	return due, nil
}

// waiting reports whether the endpoint's head event failed and its retry is
// scheduled after now. A change through the API since that attempt (a
// fixed URL, say) cancels the wait: the owner wants to see it work now, not
// in four hours.
func waiting(last *store.Delivery, w *store.Webhook, now time.Time) bool {
	return last != nil && !last.Succeeded && last.EventSeq > w.CursorSeq && last.NextAttempt != nil &&
		now.Before(*last.NextAttempt) && !w.UpdatedAt.After(last.AttemptedAt)
}

func (d *Deliverer) lastDelivery(ctx context.Context, webhookID string) (*store.Delivery, error) {
	list, err := d.cfg.Store.DeliveryList(ctx, store.DeliveryListParams{WebhookID: webhookID, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("error reading deliveries of webhook %s: %w", webhookID, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return &list[0], nil
}

// Deliver sends the pending events of one endpoint, in order, until none is
// left, one fails, or MaxPerRun is reached. An endpoint that is gone or
// disabled, or whose retry is not due yet, is left alone. The error is for
// Registrar's own failures (store, secret key); the endpoint's failures are
// recorded as deliveries and reported in Result.
func (d *Deliverer) Deliver(ctx context.Context, webhookID string) (Result, error) {
	var res Result
	w, err := d.cfg.Store.WebhookGet(ctx, webhookID)
	if errors.Is(err, store.ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("error reading webhook %s: %w", webhookID, err)
	}
	if !w.Enabled {
		return res, nil
	}
	key, err := d.key(w)
	if err != nil {
		return res, err
	}
	last, err := d.lastDelivery(ctx, w.ID)
	if err != nil {
		return res, err
	}
	if waiting(last, w, d.cfg.Now()) {
		res.NextAttempt = last.NextAttempt
		return res, nil
	}
	for {
		// Read the feed's end before the page: every event up to it is
		// committed (the store assigns Seq in commit order), so when the
		// filtered page comes back short, the cursor may jump to it past
		// the events the filter leaves out.
		end, err := d.cfg.Store.EventLastSeq(ctx)
		if err != nil {
			return res, fmt.Errorf("error reading the feed's end: %w", err)
		}
		page, err := d.cfg.Store.EventList(ctx, store.EventListParams{AfterSeq: w.CursorSeq, Types: w.Events, Limit: d.cfg.BatchSize})
		if err != nil {
			return res, fmt.Errorf("error reading events of webhook %s: %w", w.ID, err)
		}
		for _, e := range page {
			if res.Delivered >= d.cfg.MaxPerRun {
				res.More = true
				return res, nil
			}
			attempt := 1
			if last != nil && !last.Succeeded && last.EventSeq == e.Seq {
				attempt = last.Attempt + 1
			}
			out := d.send(ctx, w, key, e)
			if err := ctx.Err(); err != nil {
				// Registrar is stopping (or the job ran out of time): that
				// says nothing about the endpoint, so no attempt is
				// recorded and the event goes again next time.
				return res, err
			}
			rec, stop, err := d.record(ctx, w.ID, e, attempt, out, &res)
			if err != nil || stop {
				return res, err
			}
			last = rec
			w.CursorSeq = e.Seq
		}
		if len(page) < d.cfg.BatchSize {
			if end > w.CursorSeq && len(w.Events) > 0 {
				if err := d.skipTo(ctx, w.ID, end); err != nil {
					return res, err
				}
			}
			return res, nil
		}
	}
}

func (d *Deliverer) key(w *store.Webhook) ([]byte, error) {
	plain, err := d.cfg.Secrets.Open(w.SecretCiphertext)
	if err != nil {
		return nil, fmt.Errorf("error opening the secret of webhook %s: %w", w.ID, err)
	}
	key, err := ParseSecret(string(plain))
	if err != nil {
		return nil, fmt.Errorf("webhook %s: stored secret: %w", w.ID, err)
	}
	return key, nil
}

// outcome is what one attempt got.
type outcome struct {
	status     int
	err        string
	ok         bool
	gone       bool
	retryAfter time.Duration
	duration   time.Duration
}

// Body returns the body of an event's delivery: the feed event.
func Body(e store.Event) ([]byte, error) { return json.Marshal(events.Feed(e)) }

func (d *Deliverer) send(ctx context.Context, w *store.Webhook, key []byte, e store.Event) outcome {
	body, err := Body(e)
	if err != nil {
		return outcome{err: "cannot encode event: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: "invalid URL: " + unwrapURLError(err).Error()}
	}
	now := d.cfg.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.cfg.UserAgent)
	req.Header.Set(HeaderID, e.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(key, e.ID, now, body))
	start := time.Now()
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return outcome{err: unwrapURLError(err).Error(), duration: time.Since(start)}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, errorSnippetBytes))
	// Drain (capped) so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, d.cfg.MaxResponseBytes))
	out := outcome{status: resp.StatusCode, duration: time.Since(start)}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		out.ok = true
		return out
	}
	out.gone = resp.StatusCode == http.StatusGone
	out.retryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	out.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")); s != "" {
		out.err += ": " + s
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		out.err += " (redirects are not followed; register the final URL)"
	}
	return out
}

// unwrapURLError drops net/http's `Post "URL":` prefix: a URL may carry a
// token in its query, and delivery errors are shown through the API.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// record stores an attempt and its effect on the endpoint in one
// transaction. stop is true when delivery must not go on (a failure, or the
// endpoint vanished or was disabled meanwhile).
func (d *Deliverer) record(ctx context.Context, webhookID string, e store.Event, attempt int, out outcome, res *Result) (*store.Delivery, bool, error) {
	now := d.cfg.Now().UTC()
	rec := &store.Delivery{
		ID: deliveryID(now, e.Seq, attempt), WebhookID: webhookID, EventID: e.ID, EventSeq: e.Seq, Attempt: attempt,
		StatusCode: out.status, Error: out.err, Succeeded: out.ok, DurationMS: out.duration.Milliseconds(), AttemptedAt: now,
	}
	stop := !out.ok
	recorded := false
	err := d.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		w, err := tx.WebhookGet(ctx, webhookID)
		if err != nil {
			return err
		}
		if !w.Enabled {
			// Disabled meanwhile: an answer that came in after is not
			// worth a record the endpoint's owner would find confusing.
			stop = true
			return nil
		}
		w.UpdatedAt = now
		if out.ok {
			w.CursorSeq, w.ConsecutiveFailures = e.Seq, 0
		} else {
			w.ConsecutiveFailures++
			failures := w.ConsecutiveFailures
			first, err := d.firstFailure(ctx, tx, webhookID, failures, now)
			if err != nil {
				return err
			}
			switch {
			case out.gone:
				w.Enabled, w.DisabledReason = false, "the endpoint answered 410 Gone"
			case now.Sub(first) >= d.cfg.RetryFor && failures >= d.cfg.MinAttempts:
				w.Enabled = false
				w.DisabledReason = fmt.Sprintf("event %s failed %d times in a row over %s; last error: %s",
					e.ID, failures, now.Sub(first).Round(time.Second), out.err)
			default:
				next := d.nextAttempt(now, first, failures, out.retryAfter)
				rec.NextAttempt = &next
			}
		}
		if err := tx.DeliveryCreate(ctx, rec); err != nil {
			return err
		}
		recorded = true
		return tx.WebhookUpdate(ctx, w)
	})
	if errors.Is(err, store.ErrNotFound) {
		// Deleted while we sent; its deliveries went with it.
		return nil, true, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("error recording a delivery to webhook %s: %w", webhookID, err)
	}
	if recorded {
		d.metrics.duration.Observe(out.duration.Seconds())
	}
	switch {
	case !recorded:
	case out.ok:
		res.Delivered++
		d.metrics.attempts.WithLabelValues("succeeded").Inc()
	default:
		d.metrics.attempts.WithLabelValues("failed").Inc()
		res.Failed = true
		res.NextAttempt = rec.NextAttempt
		if rec.NextAttempt == nil {
			res.Disabled = true
			d.metrics.disabled.Inc()
			d.cfg.Logger.Warn("webhook disabled", "webhook", webhookID, "event", e.ID, "attempt", attempt, "err", out.err)
		}
	}
	return rec, stop, nil
}

// firstFailure finds when the current run of failures began: the start of
// the RetryFor window. Failures only ever happen on an endpoint's head
// event and a success resets the count, so the run is the newest
// failures-1 deliveries (plus the one being recorded). Counting from
// ConsecutiveFailures rather than attempt numbers lets an endpoint that was
// re-enabled start a fresh window.
func (d *Deliverer) firstFailure(ctx context.Context, tx store.Tx, webhookID string, failures int, now time.Time) (time.Time, error) {
	if failures <= 1 {
		return now, nil
	}
	list, err := tx.DeliveryList(ctx, store.DeliveryListParams{WebhookID: webhookID, Limit: failures - 1})
	if err != nil {
		return now, err
	}
	first := now
	for _, dl := range list {
		if !dl.Succeeded && dl.AttemptedAt.Before(first) {
			first = dl.AttemptedAt
		}
	}
	return first, nil
}

// nextAttempt schedules the retry after the given number of consecutive
// failures: the backoff delay (or the endpoint's Retry-After when longer), but never past
// the end of the RetryFor window, so that the last attempt happens at its
// end rather than hours after it.
func (d *Deliverer) nextAttempt(now, first time.Time, failures int, retryAfter time.Duration) time.Time {
	delay := d.cfg.Backoff.Delay(failures, d.cfg.Rand())
	if retryAfter > delay {
		delay = min(retryAfter, d.cfg.Backoff.Max)
	}
	next := now.Add(delay)
	if deadline := first.Add(d.cfg.RetryFor); next.After(deadline) && deadline.After(now) {
		next = deadline
	}
	return next
}

// skipTo moves the cursor over events the endpoint's filter leaves out.
func (d *Deliverer) skipTo(ctx context.Context, webhookID string, seq int64) error {
	err := d.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		w, err := tx.WebhookGet(ctx, webhookID)
		if err != nil {
			return err
		}
		if w.CursorSeq >= seq {
			return nil
		}
		w.CursorSeq = seq
		return tx.WebhookUpdate(ctx, w)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// deliveryID makes ids that sort by attempt time, then event, then attempt
// number: the store lists deliveries newest first by id, and ident.New
// alone does not order ids made in the same millisecond (which a test clock
// does all the time).
func deliveryID(now time.Time, seq int64, attempt int) string {
	return fmt.Sprintf("dlv_%012x%012x%04x%s", now.UnixMilli(), seq, attempt, ident.Secret(5))
}
