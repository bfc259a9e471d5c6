// Package events decides what changed when Registrar writes a record, and
// records it: content hashes, field-level diffs, and the change-feed events
// that go into the same transaction as the data (a transactional outbox).
// The sync engine and write-back both write through Apply, so a record
// changed by either raises exactly the same events.
package events

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/registrarhq/registrar/internal/ident"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// Hash identifies a record's content. Bookkeeping that Registrar adds
// (synced_at, remote_deleted_at, connection_id) is left out, so re-reading an
// unchanged record gives the same hash.
//
// The bytes hashed are encoding/json's encoding of the record; go-json
// produces the same bytes (hash_test.go checks every connector's golden
// records and edge cases) in a third of the time, which matters because a
// sync hashes every record it reads. Should the two ever differ on some
// record, that record looks changed once: Apply then finds no changed field,
// stores the new hash and raises no event.
func Hash(r lms.CourseEnrollment) string {
	r.SyncedAt, r.RemoteDeletedAt, r.ConnectionID = nil, nil, ""
	b, err := gojson.Marshal(r)
	if err != nil {
		// Every field of CourseEnrollment marshals; a failure is a programming error.
		panic(fmt.Sprintf("events: hash: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Data is the payload of an enrollment event (the "data" member of a feed
// event and a webhook body).
type Data struct {
	ConnectionID string `json:"connection_id"`
	Provider     string `json:"provider,omitempty"`
	EnrollmentID string `json:"enrollment_id"`
	// Status is the stored status after the change; PreviousStatus is set on
	// enrollment.status_changed.
	Status         lms.Status `json:"status,omitempty"`
	PreviousStatus lms.Status `json:"previous_status,omitempty"`
	// ChangedFields names the unified fields that changed (updated and
	// status_changed events).
	ChangedFields []string `json:"changed_fields,omitempty"`
	// Source says what wrote the change: "sync" or "api".
	Source string `json:"source,omitempty"`
	// Enrollment is the record after the change, without its vendor payload
	// (remote_data): events carry the unified record, and a consumer that
	// needs the vendor's raw JSON reads the record from the API
	// (GET /v1/connections/{cid}/course-enrollments/{id}). Leaving it out halves what a sync
	// writes per new record (the row keeps it) and keeps events small.
	Enrollment *lms.CourseEnrollment `json:"enrollment,omitempty"`
}

// SyncData is the payload of sync.completed and sync.failed.
type SyncData struct {
	ConnectionID string          `json:"connection_id"`
	RunID        string          `json:"sync_run_id"`
	Kind         string          `json:"kind"`
	Stats        store.SyncStats `json:"stats"`
	Error        string          `json:"error,omitempty"`
}

// Counts tallies what Apply did.
type Counts struct {
	Inserted, Updated, Unchanged, Restored, Deleted int64
}

// ApplyParams writes one batch of records of one connection.
type ApplyParams struct {
	ConnectionID string
	// RunID marks records as seen by a sync run (for delete detection); ""
	// for writes from the API.
	RunID   string
	Records []lms.CourseEnrollment
	// Hashes, when set, holds Hash of each record of Records (same order),
	// computed by the caller outside the transaction: a sync hashes a page
	// while the previous one is being stored, which takes the hashing off
	// the single writer's path. Any other length is ignored.
	Hashes []string
	// Encoded, when set, holds the store's encoding of each record
	// (store.Store.EnrollmentEncode, same order as Records), made outside
	// the transaction like Hashes; a nil entry leaves the encoding to the
	// store. Setting it also says most records are expected to be new:
	// Apply then inserts first and diffs only the records already stored.
	Encoded [][]byte
	Now     time.Time
	Source  string // "sync" or "api"
}

// Apply compares records with what is stored and, inside tx: inserts new
// ones, rewrites changed ones, leaves unchanged ones alone (only marking them
// seen by the run), restores ones that had vanished, and appends one event
// per changed record. A change of status raises a single
// enrollment.status_changed that also lists the other changed fields.
func Apply(ctx context.Context, tx store.Tx, p ApplyParams) (Counts, error) {
	var counts Counts
	if len(p.Records) == 0 {
		return counts, nil
	}
	now := p.Now.UTC().Truncate(time.Second)
	rows := make([]store.Enrollment, 0, len(p.Records))
	dup := make(map[string]bool, len(p.Records))
	for i, r := range p.Records {
		if dup[r.ID] {
			// A page that repeats a record (offset paging under concurrent
			// change) must not raise two events.
			continue
		}
		dup[r.ID] = true
		r.ConnectionID = p.ConnectionID
		r.RemoteDeletedAt = nil
		r.SyncedAt = &now
		row := store.Enrollment{Record: r, ChangedAt: now, SeenRun: p.RunID}
		if len(p.Hashes) == len(p.Records) {
			row.ContentHash = p.Hashes[i] // Hash leaves out what the three lines above set
		} else {
			row.ContentHash = Hash(r)
		}
		if len(p.Encoded) == len(p.Records) {
			row.Encoded = p.Encoded[i] // the encoding leaves out what Apply sets above
		}
		rows = append(rows, row)
	}
	var evts []store.Event
	created := func(r *lms.CourseEnrollment) {
		counts.Inserted++
		evts = append(evts, event(store.EventEnrollmentCreated, now, Data{Status: r.Status, Enrollment: r}, p))
	}
	if len(p.Encoded) == len(p.Records) {
		// The caller expects most records to be new (a first sync): insert
		// them straight away and diff only those whose key was taken,
		// instead of first reading the stored state of every id.
		inserted, err := tx.EnrollmentInsertNew(ctx, rows)
		if err != nil {
			return counts, err
		}
		if len(inserted) > 0 {
			isNew := make(map[string]bool, len(inserted))
			for _, id := range inserted {
				isNew[id] = true
			}
			rest := rows[:0]
			for _, row := range rows {
				if !isNew[row.Record.ID] {
					rest = append(rest, row)
					continue
				}
				created(&row.Record)
			}
			rows = rest
		}
	}
	if len(rows) > 0 {
		ids := make([]string, len(rows))
		for i, row := range rows {
			ids[i] = row.Record.ID
		}
		states, err := tx.EnrollmentStates(ctx, p.ConnectionID, ids)
		if err != nil {
			return counts, err
		}
		var writes []store.Enrollment
		var seen []string
		for _, row := range rows {
			r := row.Record
			st, exists := states[r.ID]
			switch {
			case !exists:
				writes = append(writes, row)
				created(&r)
			case st.RemoteDeletedAt != nil:
				counts.Restored++
				writes = append(writes, row)
				evts = append(evts, event(store.EventEnrollmentRestored, now, Data{Status: r.Status, Enrollment: &r}, p))
			case st.ContentHash == row.ContentHash:
				counts.Unchanged++
				seen = append(seen, r.ID)
			default:
				old, err := tx.EnrollmentGet(ctx, p.ConnectionID, r.ID)
				if err != nil {
					return counts, err
				}
				changed := ChangedFields(old.Record, r)
				if len(changed) == 0 {
					// Only the hash differs (a record hashed by another version):
					// store the new hash, keep the record's change time, no event.
					counts.Unchanged++
					row.ChangedAt = old.ChangedAt
					writes = append(writes, row)
					continue
				}
				counts.Updated++
				writes = append(writes, row)
				d := Data{Status: r.Status, ChangedFields: changed, Enrollment: &r}
				typ := store.EventEnrollmentUpdated
				if st.Status != r.Status {
					typ, d.PreviousStatus = store.EventEnrollmentStatusChanged, st.Status
				}
				evts = append(evts, event(typ, now, d, p))
			}
		}
		if err := tx.EnrollmentUpsertMany(ctx, writes); err != nil {
			return counts, err
		}
		if p.RunID != "" && len(seen) > 0 {
			if err := tx.EnrollmentMarkSeen(ctx, p.ConnectionID, p.RunID, seen); err != nil {
				return counts, err
			}
		}
	}
	if err := tx.EventAppend(ctx, evts); err != nil {
		return counts, err
	}
	return counts, nil
}

// Deleted appends enrollment.deleted events for records a sweep marked.
func Deleted(ctx context.Context, tx store.Tx, connectionID string, swept []store.Enrollment, now time.Time) error {
	evts := make([]store.Event, 0, len(swept))
	for i := range swept {
		r := swept[i].Record
		evts = append(evts, event(store.EventEnrollmentDeleted, now, Data{Status: r.Status, Enrollment: &r},
			ApplyParams{ConnectionID: connectionID, Source: "sync"}))
	}
	return tx.EventAppend(ctx, evts)
}

// DateEvent builds an enrollment.overdue or enrollment.expired event.
func DateEvent(typ string, r lms.CourseEnrollment, now time.Time) store.Event {
	eff := r.Effective(now)
	return event(typ, now, Data{Status: eff.Status, Enrollment: &eff}, ApplyParams{ConnectionID: r.ConnectionID, Source: "clock"})
}

// SyncEvent builds sync.completed or sync.failed.
func SyncEvent(typ string, run *store.SyncRun, now time.Time) store.Event {
	b, _ := json.Marshal(SyncData{ConnectionID: run.ConnectionID, RunID: run.ID, Kind: run.Kind, Stats: run.Stats, Error: run.Error})
	return store.Event{ID: ident.New("evt", now), Type: typ, ConnectionID: run.ConnectionID, OccurredAt: now, Data: b}
}

func event(typ string, now time.Time, d Data, p ApplyParams) store.Event {
	d.ConnectionID = p.ConnectionID
	d.Source = p.Source
	if d.Enrollment != nil {
		d.EnrollmentID = d.Enrollment.ID
		d.Provider = d.Enrollment.Provider
		rec := *d.Enrollment // a copy: the caller's record keeps its remote_data
		rec.RemoteData = nil // see Data.Enrollment
		d.Enrollment = &rec
	}
	// go-json: the payload only needs to be valid JSON of Data (unlike Hash,
	// whose bytes must stay the same across versions), and encoding/json
	// took twice as long on the single writer's path.
	b, err := gojson.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("events: marshal: %v", err))
	}
	return store.Event{ID: ident.New("evt", now), Type: typ, ConnectionID: p.ConnectionID, EnrollmentID: d.EnrollmentID,
		OccurredAt: now, Data: b}
}

// ChangedFields lists the top-level unified fields whose JSON differs,
// ignoring Registrar's bookkeeping.
func ChangedFields(old, new lms.CourseEnrollment) []string {
	strip := func(r lms.CourseEnrollment) map[string]json.RawMessage {
		r.SyncedAt, r.RemoteDeletedAt, r.ConnectionID = nil, nil, ""
		b, _ := json.Marshal(r)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		return m
	}
	a, b := strip(old), strip(new)
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// FeedEvent is an event as the feed and webhooks publish it.
type FeedEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data"`
}

// Feed converts a stored event.
func Feed(e store.Event) FeedEvent {
	return FeedEvent{ID: e.ID, Type: e.Type, Time: e.OccurredAt, Data: e.Data}
}
