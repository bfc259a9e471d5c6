package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/store"
)

// SyncRun is a sync run as the API shows it.
type SyncRun struct {
	ID           string     `json:"id" example:"run_01hx7k3v9q8w6e5r4t3y2u1i0o"`
	ConnectionID string     `json:"connection_id"`
	Status       string     `json:"status" enum:"queued,running,succeeded,failed"`
	Kind         string     `json:"kind" enum:"full,incremental" doc:"A full run reads every record and marks what it did not see deleted; an incremental one reads only what changed."`
	Trigger      string     `json:"trigger" doc:"What started it: created, schedule, manual (the API) or cli."`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	HeartbeatAt  *time.Time `json:"heartbeat_at,omitempty" doc:"When its worker last proved alive."`
	DurationMS   *int64     `json:"duration_ms,omitempty" doc:"From start to end, or to now while it runs."`
	ChangedSince *time.Time `json:"changed_since,omitempty" doc:"The lower bound of an incremental run."`
	Resumable    bool       `json:"resumable" doc:"It holds a checkpoint: stopped or killed, it resumes after its last committed page."`
	Pages        int64      `json:"pages"`
	RecordsSeen  int64      `json:"records_seen"`
	Inserted     int64      `json:"inserted"`
	Updated      int64      `json:"updated"`
	Unchanged    int64      `json:"unchanged"`
	Deleted      int64      `json:"deleted"`
	Restored     int64      `json:"restored"`
	Requests     int64      `json:"requests" doc:"HTTP requests sent to the LMS, retries included."`
	Retries      int64      `json:"retries"`
	Throttled    int64      `json:"throttled" doc:"Answers in which the LMS asked to slow down."`
	Total        *int64     `json:"total,omitempty" doc:"The number of records the LMS announced, when it does."`
	Error        string     `json:"error,omitempty"`
}

func (s *Server) syncRunOut(r *store.SyncRun) SyncRun {
	out := SyncRun{
		ID: r.ID, ConnectionID: r.ConnectionID, Status: r.Status, Kind: r.Kind, Trigger: r.Trigger, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, HeartbeatAt: r.HeartbeatAt, ChangedSince: r.ChangedSince,
		Resumable: r.Cursor != "", Pages: r.Stats.Pages, RecordsSeen: r.Stats.Seen, Inserted: r.Stats.Inserted,
		Updated: r.Stats.Updated, Unchanged: r.Stats.Unchanged, Deleted: r.Stats.Deleted, Restored: r.Stats.Restored,
		Requests: r.Stats.Requests, Retries: r.Stats.Retries, Throttled: r.Stats.Throttled, Error: r.Error,
	}
	if r.Stats.Total >= 0 {
		total := r.Stats.Total
		out.Total = &total
	}
	if r.StartedAt != nil {
		end := s.now()
		if r.FinishedAt != nil {
			end = *r.FinishedAt
		}
		d := end.Sub(*r.StartedAt).Milliseconds()
		out.DurationMS = &d
	}
	return out
}

type syncStartInput struct {
	ID   string `path:"cid" doc:"Connection id."`
	Full bool   `query:"full" doc:"Read every record and detect deletes, even where the LMS can list only what changed."`
}

type syncRunOutput struct {
	Location string `header:"Location" doc:"The run, to poll."`
	Body     SyncRun
}

type syncRunGetOutput struct{ Body SyncRun }

type syncRunListInput struct {
	ID     string `path:"cid" doc:"Connection id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"20"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page."`
}

type syncRunListOutput struct {
	Body struct {
		Data       []SyncRun `json:"data"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor for older runs; absent on the last page."`
	}
}

type syncRunGetInput struct {
	ID string `path:"id" doc:"Sync run id."`
}

func (s *Server) registerSyncs() {
	start := op("sync-start", http.MethodPost, "/v1/connections/{cid}/sync", "Start a sync of a connection", "syncs",
		http.StatusNotFound, http.StatusServiceUnavailable)
	start.DefaultStatus = http.StatusAccepted
	start.Description = "Starts a sync run and answers 202 with it; poll `GET /v1/sync-runs/{id}` until it is succeeded or failed. " +
		"A connection has one run at a time: while one is queued or running, this answers that run. Without `full`, " +
		"the run is incremental where the LMS can list what changed since the last successful run (Absorb), else full."
	huma.Register(s.api, start, func(ctx context.Context, in *syncStartInput) (*syncRunOutput, error) {
		if s.deps.Syncs == nil {
			return nil, newProblem(http.StatusServiceUnavailable, "syncs-unavailable", "the sync engine is not running in this server")
		}
		run, err := s.deps.Syncs.SyncStart(ctx, in.ID, in.Full, "manual")
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, storeProblem(err, "connection "+in.ID)
			}
			return nil, err
		}
		return &syncRunOutput{Location: "/v1/sync-runs/" + run.ID, Body: s.syncRunOut(run)}, nil
	})

	huma.Register(s.api, op("sync-runs-list", http.MethodGet, "/v1/connections/{cid}/sync-runs", "List a connection's sync runs, newest first", "syncs",
		http.StatusNotFound),
		func(ctx context.Context, in *syncRunListInput) (*syncRunListOutput, error) {
			if _, err := s.deps.Store.ConnectionGet(ctx, in.ID); err != nil {
				return nil, storeProblem(err, "connection "+in.ID)
			}
			limit := in.Limit
			if limit <= 0 {
				limit = 20
			}
			runs, err := s.deps.Store.SyncRunList(ctx, store.SyncRunListParams{ConnectionID: in.ID, Before: in.Cursor, Limit: limit + 1})
			if err != nil {
				return nil, err
			}
			out := &syncRunListOutput{}
			out.Body.Data = make([]SyncRun, 0, min(len(runs), limit))
			for i := range runs {
				if i == limit {
					out.Body.NextCursor = runs[i-1].ID
					break
				}
				out.Body.Data = append(out.Body.Data, s.syncRunOut(&runs[i]))
			}
			return out, nil
		})

	huma.Register(s.api, op("sync-runs-get", http.MethodGet, "/v1/sync-runs/{id}", "Get a sync run", "syncs", http.StatusNotFound),
		func(ctx context.Context, in *syncRunGetInput) (*syncRunGetOutput, error) {
			r, err := s.deps.Store.SyncRunGet(ctx, in.ID)
			if err != nil {
				return nil, storeProblem(err, "sync run "+in.ID)
			}
			return &syncRunGetOutput{Body: s.syncRunOut(r)}, nil
		})
}
