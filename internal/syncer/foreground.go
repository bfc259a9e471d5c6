package syncer

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/registrarhq/registrar/internal/store"
)

// ForegroundParams asks for a sync run in the caller's process.
type ForegroundParams struct {
	ConnectionID string
	Full         bool
	// Trigger names who asked; default "cli".
	Trigger string
	// Progress, when set, is called with the run after each committed page,
	// and at every poll while following a run another process owns
	// (following is then true).
	Progress func(run store.SyncRun, following bool)
	// PollEvery is how often a followed run is read; default 500 ms.
	PollEvery time.Duration
}

// Foreground runs a sync of a connection in this process and returns the
// run as it ended (succeeded or failed; a failed run is not an error). When
// the connection already has an active run, that run is the one: resumed
// from its checkpoint here when no live owner holds it (a killed process
// left it, or it waits in the queue), else followed until its owner ends it,
// and taken over should that owner die meanwhile. Enqueued jobs of a run
// Foreground took find it owned or finished and do nothing. When ctx ends,
// a run executed here is released, queued with its checkpoint, and ctx's
// error is returned.
func (s *Syncer) Foreground(ctx context.Context, p ForegroundParams) (*store.SyncRun, error) {
	trigger := cmp.Or(p.Trigger, "cli")
	var progress func(store.SyncRun)
	if p.Progress != nil {
		progress = func(r store.SyncRun) { p.Progress(r, false) }
	}
	for {
		run, err := s.cfg.Store.SyncRunActive(ctx, p.ConnectionID)
		if errors.Is(err, store.ErrNotFound) {
			run, _, err = s.create(ctx, p.ConnectionID, p.Full, trigger)
		}
		if err != nil {
			return nil, err
		}
		out, err := s.execute(ctx, run.ID, progress)
		switch {
		case err == nil, errors.Is(err, errFinished):
			return out, nil
		case errors.Is(err, errBusy):
			out, err = s.follow(ctx, run.ID, p)
			if errors.Is(err, errTakeOver) {
				continue
			}
			return out, err
		}
		return out, err
	}
}

// errTakeOver: the followed run lost its owner.
var errTakeOver = errors.New("the followed run's owner is gone")

// follow polls a run owned by another process until it ends, or until its
// owner is gone (errTakeOver).
func (s *Syncer) follow(ctx context.Context, runID string, p ForegroundParams) (*store.SyncRun, error) {
	every := cmp.Or(p.PollEvery, 500*time.Millisecond)
	s.log.Info("following the sync run another process owns", "run", runID)
	for {
		r, err := s.cfg.Store.SyncRunGet(ctx, runID)
		if err != nil {
			return nil, err
		}
		if p.Progress != nil {
			p.Progress(*r, true)
		}
		switch r.Status {
		case store.SyncStatusSucceeded, store.SyncStatusFailed:
			return r, nil
		}
		orphan, err := s.ownerless(r, 0)
		if err != nil {
			return r, err
		}
		if orphan {
			return r, errTakeOver
		}
		if err := sleep(ctx, every); err != nil {
			return r, err
		}
	}
}
