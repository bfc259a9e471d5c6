package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/registrarhq/registrar/internal/store"
)

// Idempotency-Key handling of the write routes.
//
// A write sent with an Idempotency-Key runs at most once per API key and key:
// a retry gets the first answer (status and body, with Idempotent-Replayed:
// true) and the LMS is not called again. The same key with another method,
// path or body is refused (422 idempotency-key-reused); a retry while the
// first request is still calling the LMS gets 409 idempotency-key-in-progress.
//
// The store offers only insert-if-absent (IdempotencyPut fails with
// ErrConflict on a taken key) and a purge by age, so the protocol is an
// append-only log of rows that are never updated, which also makes it safe
// across replicas sharing one database:
//
//   - "r<n>:<key>" reserves attempt n of the key. It is inserted in its own
//     transaction before the LMS is called, so of two concurrent requests
//     with one key exactly one inserts it and calls the LMS; the other gets
//     409. It holds the request's fingerprint and when the attempt started.
//   - "a<n>:<key>" is the outcome of attempt n: the answer to replay, written
//     in the same transaction as the data and events the write produced, so
//     an answer is never stored without its data nor data without its answer.
//     An attempt that ends without a replayable answer (the LMS was down, the
//     store failed) writes the outcome "released" (status 0): the next retry
//     starts attempt n+1, because nothing happened that it could repeat.
//
// A crash between reservation and outcome leaves attempt n without an
// outcome. Its LMS call is bounded by writeTimeout, which is shorter than
// idempotencyLease, so once the lease has passed the holder cannot still be
// calling the LMS: a retry after the lease starts attempt n+1 and calls the
// LMS again. Whether the crashed attempt reached the LMS cannot be known, so
// this is the same risk as a retry without a key; before the lease a retry
// gets 409 and no second call. (Canvas answers a repeated enroll with the
// existing enrollment and DigitalChalk refuses a duplicate registration, so a
// repeated enroll does not create a second record on either.)
//
// Every row of a key carries the time of the key's first use, so a key
// expires as a whole IdempotencyTTL after it was first used. Expired rows are
// purged at the start of every reservation (one indexed DELETE per write with
// a key), so no job is needed and an expired key is simply new again.

// IdempotencyTTL is how long the answer to a keyed write is kept.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyKeyMaxLength bounds the Idempotency-Key header.
const IdempotencyKeyMaxLength = 255

const (
	// idempotencyLease is how long an attempt without an outcome counts as
	// still running. It must exceed writeTimeout.
	idempotencyLease = writeTimeout + 2*time.Minute
	// maxIdempotencyAttempts bounds the attempts of one key (each released
	// or abandoned attempt costs one); then the key is used up.
	maxIdempotencyAttempts = 20
	// outcomeReleased marks an attempt that left nothing to replay.
	outcomeReleased = 0
)

// IdempotencyHeader is the header every write accepts (exported so that huma
// finds the embedded field).
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" pattern:"^[ -~]+$" doc:"Makes the write safe to retry: a request repeated with the same key (and the same API key) within 24 hours gets the first answer, with Idempotent-Replayed: true, and the LMS is not called again. Printable ASCII, at most 255 characters; a UUID is a good choice."`
}

// writeRequest identifies a write for the idempotency check: the same key
// must come with the same method, path and parameters.
type writeRequest struct {
	Method string
	Path   string
	// Params is everything else the request said (body and query), as
	// parsed, so that whitespace or member order do not matter.
	Params any
}

func (w writeRequest) hash() string {
	b, err := json.Marshal(w.Params)
	if err != nil {
		// Params are plain request structs; they always marshal.
		panic(fmt.Sprintf("api: request fingerprint: %v", err))
	}
	sum := sha256.Sum256(append([]byte(w.Method+" "+w.Path+"\n"), b...))
	return hex.EncodeToString(sum[:])
}

// reservationBody is the body of an "r<n>:" row.
type reservationBody struct {
	StartedAt time.Time `json:"started_at"`
}

// idempotencyTicket is a reserved attempt, to be completed with its outcome.
type idempotencyTicket struct {
	apiKeyID  string
	key       string
	attempt   int
	req       writeRequest
	hash      string
	firstUsed time.Time
}

func reservationKey(n int, key string) string { return "r" + strconv.Itoa(n) + ":" + key }
func outcomeKey(n int, key string) string     { return "a" + strconv.Itoa(n) + ":" + key }

// idempotencyReplay is the stored answer of an earlier request.
type idempotencyReplay struct {
	status int
	body   []byte
}

// reserve claims the next attempt of key, or returns the answer to replay,
// or a problem (409 in progress, 422 reused or used up).
func (s *Server) reserve(ctx context.Context, apiKeyID, key string, req writeRequest) (*idempotencyTicket, *idempotencyReplay, error) {
	now := s.now()
	t := &idempotencyTicket{apiKeyID: apiKeyID, key: key, req: req, hash: req.hash(), firstUsed: now}
	var replay *idempotencyReplay
	err := s.deps.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.IdempotencyPurge(ctx, now.Add(-IdempotencyTTL)); err != nil {
			return err
		}
		var last *store.IdempotencyRecord
		n := 0
		for i := 1; i <= maxIdempotencyAttempts; i++ {
			r, err := tx.IdempotencyGet(ctx, apiKeyID, reservationKey(i, key))
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
			last, n = r, i
		}
		if last != nil {
			if last.Method != req.Method || last.Path != req.Path || last.RequestHash != t.hash {
				return newProblem(http.StatusUnprocessableEntity, "idempotency-key-reused", fmt.Sprintf(
					"Idempotency-Key %q was first used with %s %s and other parameters; use a new key for a different request",
					key, last.Method, last.Path))
			}
			t.firstUsed = last.CreatedAt
			out, err := tx.IdempotencyGet(ctx, apiKeyID, outcomeKey(n, key))
			switch {
			case err == nil && out.Status != outcomeReleased:
				replay = &idempotencyReplay{status: out.Status, body: out.Body}
				return nil
			case err == nil:
				// Released: the attempt left nothing to replay; try again.
			case errors.Is(err, store.ErrNotFound):
				var rb reservationBody
				_ = json.Unmarshal(last.Body, &rb)
				if rb.StartedAt.IsZero() {
					rb.StartedAt = last.CreatedAt
				}
				if now.Before(rb.StartedAt.Add(idempotencyLease)) {
					return inProgress(key)
				}
				s.deps.Logger.Warn("idempotency: taking over an attempt that never finished (did the server stop mid-write?)",
					"attempt", n, "started_at", rb.StartedAt)
			default:
				return err
			}
			if n == maxIdempotencyAttempts {
				return newProblem(http.StatusUnprocessableEntity, "idempotency-key-exhausted", fmt.Sprintf(
					"Idempotency-Key %q was tried %d times without an answer to keep; use a new key", key, n))
			}
		}
		t.attempt = n + 1
		body, _ := json.Marshal(reservationBody{StartedAt: now})
		return tx.IdempotencyPut(ctx, &store.IdempotencyRecord{APIKeyID: apiKeyID, Key: reservationKey(t.attempt, key),
			Method: req.Method, Path: req.Path, RequestHash: t.hash, Body: body, CreatedAt: t.firstUsed})
	})
	if errors.Is(err, store.ErrConflict) {
		// Another request reserved the same attempt between our read and
		// our insert (possible on engines with concurrent writers).
		return nil, nil, inProgress(key)
	}
	if err != nil {
		return nil, nil, err
	}
	return t, replay, nil
}

func inProgress(key string) *Problem {
	p := newProblem(http.StatusConflict, "idempotency-key-in-progress", fmt.Sprintf(
		"a request with Idempotency-Key %q is still being processed; retry shortly to get its answer", key))
	p.GetHeaders().Set("Retry-After", "1")
	return p
}

// outcome is the row that completes the ticket's attempt.
func (t *idempotencyTicket) outcome(status int, body []byte) *store.IdempotencyRecord {
	if body == nil {
		body = []byte("{}")
	}
	return &store.IdempotencyRecord{APIKeyID: t.apiKeyID, Key: outcomeKey(t.attempt, t.key), Method: t.req.Method,
		Path: t.req.Path, RequestHash: t.hash, Status: status, Body: body, CreatedAt: t.firstUsed}
}

// complete stores the answer to replay in its own transaction (used when no
// data is written with it, e.g. an LMS refusal).
func (s *Server) complete(ctx context.Context, t *idempotencyTicket, status int, body []byte) {
	if t == nil {
		return
	}
	err := s.deps.Store.InTx(ctx, func(tx store.Tx) error { return tx.IdempotencyPut(ctx, t.outcome(status, body)) })
	if err != nil {
		// The key then stays in progress until the lease passes; a retry
		// after that calls the LMS again (see the package comment above).
		s.deps.Logger.Error("idempotency: cannot store the answer", "err", err)
	}
}

// release ends an attempt that left nothing to replay, so a retry may run.
func (s *Server) release(ctx context.Context, t *idempotencyTicket) {
	s.complete(ctx, t, outcomeReleased, nil)
}

// replayable reports whether an error answer is the LMS's final word on the
// request (to be replayed) rather than a failure a retry may get past.
func replayable(p *Problem) bool {
	return p.Status >= 400 && p.Status < 500 && p.Status != http.StatusTooManyRequests && p.Status != http.StatusConflict
}
