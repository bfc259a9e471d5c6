package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/store"
)

// Page sizes of the change feed.
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

type eventListInput struct {
	After        string   `query:"after" doc:"The next_cursor of a previous answer; omit to read from the start of the feed."`
	Type         []string `query:"type,explode" doc:"Only these event types (repeat or comma-separate)."`
	ConnectionID string   `query:"connection_id" doc:"Only events of this connection."`
	Limit        int      `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size."`
}

// EventList is a page of the change feed.
type EventList struct {
	Data []events.FeedEvent `json:"data" doc:"Events in feed order, oldest first."`
	// NextCursor is always present, also on the last page, so a client can
	// poll from it for what comes next.
	NextCursor string `json:"next_cursor" doc:"Pass as after to read on. Present on every page, also the last: poll with it to get new events."`
}

type eventListOutput struct{ Body EventList }

// feedCursor is the opaque cursor of the feed: a position (sequence number)
// and a fingerprint of the filters. The position is global, so a cursor
// replayed with other filters would silently miss events before it; the
// fingerprint refuses that instead.
type feedCursor struct {
	V       int    `json:"v"`
	Seq     int64  `json:"s"`
	Filters string `json:"f"`
}

func feedFingerprint(types []string, connectionID string) string {
	t := slices.Clone(types)
	sort.Strings(t)
	b, _ := json.Marshal([]any{t, connectionID})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// eventTypes checks type filters against the known event types.
func eventTypes(values []string, location string) ([]string, error) {
	types := splitValues(values)
	for _, t := range types {
		if !slices.Contains(store.EventTypes, t) {
			return nil, validationProblem("unknown event type", &huma.ErrorDetail{Location: location,
				Message: "must be one of " + strings.Join(store.EventTypes, ", "), Value: t})
		}
	}
	return types, nil
}

func (s *Server) listEvents(ctx context.Context, in *eventListInput) (*eventListOutput, error) {
	types, err := eventTypes(in.Type, "query.type")
	if err != nil {
		return nil, err
	}
	fp := feedFingerprint(types, in.ConnectionID)
	var after int64
	if in.After != "" {
		var c feedCursor
		if err := decodeCursor(in.After, &c); err != nil || c.V != 1 || c.Seq < 0 {
			return nil, badFeedCursor("after is not a cursor this API issued")
		}
		if c.Filters != fp {
			return nil, badFeedCursor("after belongs to a query with other filters; start again without it")
		}
		after = c.Seq
	}
	limit := in.Limit
	if limit == 0 {
		limit = DefaultEventLimit
	}
	// The feed's end, read before the page: the store numbers events in
	// commit order, so every event up to it is visible to the query below.
	// A short page may then move the cursor there, past events the filters
	// leave out, and the next poll starts after them instead of scanning
	// them again.
	end, err := s.deps.Store.EventLastSeq(ctx)
	if err != nil {
		return nil, err
	}
	page, err := s.deps.Store.EventList(ctx, store.EventListParams{AfterSeq: after, Types: types, ConnectionID: in.ConnectionID, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := &eventListOutput{Body: EventList{Data: make([]events.FeedEvent, 0, len(page))}}
	next := after
	for _, e := range page {
		out.Body.Data = append(out.Body.Data, events.Feed(e))
		next = e.Seq
	}
	if len(page) < limit && end > next {
		next = end
	}
	out.Body.NextCursor = encodeCursor(feedCursor{V: 1, Seq: next, Filters: fp})
	return out, nil
}

func badFeedCursor(detail string) *Problem {
	return validationProblem(detail, &huma.ErrorDetail{Location: "query.after", Message: detail})
}

func (s *Server) registerEvents() {
	o := op("events-list", http.MethodGet, "/v1/events", "Read the change feed", "events")
	o.Description = "Every change Registrar records, in order: " + strings.Join(store.EventTypes, ", ") + ". " +
		"Each event is {id, type, time, data}, the same body webhooks deliver. Walk the feed with after=next_cursor " +
		"until data is empty, then keep polling with the last next_cursor for new events; each event comes once, in order."
	huma.Register(s.api, o,
		func(ctx context.Context, in *eventListInput) (*eventListOutput, error) {
			return s.listEvents(ctx, in)
		})
}
