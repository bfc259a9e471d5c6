package absorb

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"time"
)

// tokenSource holds the one token of a credential. Absorb revokes a user's
// previous token whenever it issues a new one (providers.md §2.2), so
// concurrent callers must share a single /authenticate call: the first caller
// fetches, the others wait for its answer.
type tokenSource struct {
	now         func() time.Time
	lifetime    time.Duration
	renewBefore time.Duration

	mu         sync.Mutex
	token      string
	expires    time.Time
	generation uint64
	pending    *tokenFetch
}

// tokenFetch is one /authenticate call that several callers wait for.
type tokenFetch struct {
	done       chan struct{}
	token      string
	generation uint64
	err        error
}

// Token returns a token valid for a while yet and its generation (to hand
// back to Invalidate). It calls fetch (/authenticate) only when no such token
// exists and no other caller is already fetching one.
func (s *tokenSource) Token(ctx context.Context, fetch func(context.Context) (string, error)) (string, uint64, error) {
	for {
		s.mu.Lock()
		if s.token != "" && s.now().Before(s.expires.Add(-s.renewBefore)) {
			token, gen := s.token, s.generation
			s.mu.Unlock()
			return token, gen, nil
		}
		f := s.pending
		leader := f == nil
		if leader {
			f = &tokenFetch{done: make(chan struct{})}
			s.pending = f
		}
		s.mu.Unlock()

		if leader {
			issued := s.now()
			token, err := fetch(ctx)
			s.mu.Lock()
			s.pending = nil
			if err == nil {
				s.generation++
				s.token, s.expires = token, issued.Add(s.lifetime)
				f.token, f.generation = token, s.generation
			}
			f.err = err
			s.mu.Unlock()
			close(f.done)
			return f.token, f.generation, err
		}

		select {
		case <-ctx.Done():
			return "", 0, ctx.Err()
		case <-f.done:
		}
		if f.err == nil {
			return f.token, f.generation, nil
		}
		// The leader's own context ended; that says nothing about ours, so
		// try again (and become the leader).
		if isContextError(f.err) && ctx.Err() == nil {
			continue
		}
		return "", 0, f.err
	}
}

// Invalidate forgets the token of generation gen after Absorb refused it. A
// token that another caller already renewed is kept, so N callers hit by
// the same 401 cause one /authenticate call, not N.
func (s *tokenSource) Invalidate(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.generation == gen {
		s.token = ""
	}
}

// tokenRegistry gives every connector of one credential the same
// tokenSource. A Definition owns one, so all connectors an application builds
// through it share their tokens (§2.2: "share one token per credential").
type tokenRegistry struct {
	mu      sync.Mutex
	sources map[[sha256.Size]byte]*tokenSource
}

// source returns the token source of a credential, creating it on first use.
func (r *tokenRegistry) source(baseURL, apiKey, username, password string, now func() time.Time) *tokenSource {
	key := sha256.Sum256([]byte(strings.Join([]string{baseURL, apiKey, username, password}, "\x00")))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sources == nil {
		r.sources = map[[sha256.Size]byte]*tokenSource{}
	}
	s, ok := r.sources[key]
	if !ok {
		s = &tokenSource{now: now, lifetime: tokenLifetime, renewBefore: tokenRenewBefore}
		r.sources[key] = s
	}
	return s
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
