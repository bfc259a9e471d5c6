package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/events"
	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
)

// feedConnection stores a connection directly, so events can be seeded
// without a sync (the API would start one).
func feedConnection(t *testing.T, st store.Store, id string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		return tx.ConnectionCreate(context.Background(), &store.Connection{ID: id, Provider: "absorb", Name: id,
			Settings: map[string]string{}, SyncInterval: time.Hour, Paused: true, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// feedApply writes records of a connection as a sync would, raising events.
func feedApply(t *testing.T, st store.Store, connID string, now time.Time, recs ...lms.CourseEnrollment) {
	t.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx store.Tx) error {
		_, err := events.Apply(ctx, tx, events.ApplyParams{ConnectionID: connID, Records: recs, Now: now, Source: "sync"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func feedRec(id string, status lms.Status, score float64) lms.CourseEnrollment {
	return lms.CourseEnrollment{ID: id, Provider: "absorb", Status: status, Score: lms.Ptr(score),
		User: &lms.User{ID: "u-" + id, Name: "Ana"}, Course: &lms.Course{ID: "c1", Title: "Safety"}}
}

// seedFeed writes a mixed history on two connections and returns the feed
// as the store has it.
func seedFeed(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	feedConnection(t, st, "con_a")
	feedConnection(t, st, "con_b")
	now := time.Now().UTC()
	for i := range 4 {
		feedApply(t, st, "con_a", now, feedRec(fmt.Sprintf("a%d", i), lms.StatusEnrolled, 0))
		feedApply(t, st, "con_b", now, feedRec(fmt.Sprintf("b%d", i), lms.StatusEnrolled, 0))
	}
	feedApply(t, st, "con_a", now, feedRec("a0", lms.StatusInProgress, 10), feedRec("a1", lms.StatusEnrolled, 5))
	feedApply(t, st, "con_b", now, feedRec("b0", lms.StatusCompleted, 100))
	all, err := st.EventList(context.Background(), store.EventListParams{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

type feedPage struct {
	Data       []events.FeedEvent `json:"data"`
	NextCursor string             `json:"next_cursor"`
}

// walkFeed reads the feed page by page until a page is empty and returns
// the events and the last cursor.
func walkFeed(t *testing.T, s *server, query url.Values, after string) ([]events.FeedEvent, string) {
	t.Helper()
	var out []events.FeedEvent
	for range 1000 {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if after != "" {
			q.Set("after", after)
		}
		res := s.do("GET", "/v1/events?"+q.Encode(), s.ReadKey, nil)
		if res.Status != 200 {
			t.Fatalf("GET /v1/events?%s: %d %s", q.Encode(), res.Status, res.Body)
		}
		var p feedPage
		if err := json.Unmarshal(res.Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.NextCursor == "" {
			t.Fatalf("page without next_cursor: %s", res.Body)
		}
		after = p.NextCursor
		if len(p.Data) == 0 {
			return out, after
		}
		out = append(out, p.Data...)
	}
	t.Fatal("the feed walk does not end")
	return nil, ""
}

func feedIDs(evts []events.FeedEvent) string {
	ids := make([]string, len(evts))
	for i, e := range evts {
		ids[i] = e.ID
	}
	return strings.Join(ids, ",")
}

func storeIDs(evts []store.Event, keep func(store.Event) bool) string {
	var ids []string
	for _, e := range evts {
		if keep == nil || keep(e) {
			ids = append(ids, e.ID)
		}
	}
	return strings.Join(ids, ",")
}

func TestEventFeedWalk(t *testing.T) {
	s := startServer(t)
	all := seedFeed(t, s.App.Store)
	if len(all) != 11 {
		t.Fatalf("seeded %d events", len(all))
	}

	for _, tt := range []struct {
		name  string
		query url.Values
		keep  func(store.Event) bool
	}{
		{name: "everything", query: url.Values{"limit": {"3"}}},
		{name: "one type", query: url.Values{"limit": {"2"}, "type": {store.EventEnrollmentStatusChanged}},
			keep: func(e store.Event) bool { return e.Type == store.EventEnrollmentStatusChanged }},
		{name: "two types comma-separated", query: url.Values{"type": {store.EventEnrollmentStatusChanged + "," + store.EventEnrollmentUpdated}},
			keep: func(e store.Event) bool { return e.Type != store.EventEnrollmentCreated }},
		{name: "one connection", query: url.Values{"limit": {"4"}, "connection_id": {"con_b"}},
			keep: func(e store.Event) bool { return e.ConnectionID == "con_b" }},
		{name: "type and connection", query: url.Values{"type": {store.EventEnrollmentCreated}, "connection_id": {"con_a"}},
			keep: func(e store.Event) bool { return e.ConnectionID == "con_a" && e.Type == store.EventEnrollmentCreated }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, cursor := walkFeed(t, s, tt.query, "")
			if want := storeIDs(all, tt.keep); feedIDs(got) != want || want == "" {
				t.Fatalf("walk returned\n%s\nwant\n%s", feedIDs(got), want)
			}
			for i, e := range got {
				if e.Type == "" || e.Time.IsZero() || len(e.Data) == 0 {
					t.Fatalf("event %d incomplete: %+v", i, e)
				}
			}
			// Polling from the last cursor returns nothing until something
			// new happens.
			if more, _ := walkFeed(t, s, tt.query, cursor); len(more) != 0 {
				t.Fatalf("poll at the end returned %d events", len(more))
			}
		})
	}

	// A client polling from the end sees exactly what comes next, once.
	_, cursor := walkFeed(t, s, url.Values{"connection_id": {"con_a"}}, "")
	feedApply(t, s.App.Store, "con_b", time.Now(), feedRec("b9", lms.StatusEnrolled, 0))
	feedApply(t, s.App.Store, "con_a", time.Now(), feedRec("a9", lms.StatusEnrolled, 0))
	got, cursor := walkFeed(t, s, url.Values{"connection_id": {"con_a"}}, cursor)
	if len(got) != 1 || got[0].Type != store.EventEnrollmentCreated || !strings.Contains(string(got[0].Data), `"enrollment_id":"a9"`) {
		t.Fatalf("poll after new events: %+v", got)
	}
	if again, _ := walkFeed(t, s, url.Values{"connection_id": {"con_a"}}, cursor); len(again) != 0 {
		t.Fatalf("the new event came twice: %+v", again)
	}
}

func TestEventFeedProblems(t *testing.T) {
	s := startServer(t)
	seedFeed(t, s.App.Store)
	res := s.do("GET", "/v1/events?limit=2&type="+store.EventEnrollmentCreated, s.Key, nil)
	var p feedPage
	if err := json.Unmarshal(res.Body, &p); err != nil || p.NextCursor == "" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	for _, sc := range []scenario{
		{name: "not a cursor", method: "GET", path: "/v1/events?after=!!!", key: "ro", wantStatus: 400, wantType: "validation"},
		{name: "garbage cursor", method: "GET", path: "/v1/events?after=bm90LWEtY3Vyc29y", key: "ro", wantStatus: 400, wantType: "validation",
			wantContain: []string{"query.after"}},
		{name: "cursor of other filters", method: "GET", path: "/v1/events?after=" + p.NextCursor, key: "ro", wantStatus: 400,
			wantType: "validation", wantContain: []string{"other filters"}},
		{name: "unknown type", method: "GET", path: "/v1/events?type=enrollment.exploded", key: "ro", wantStatus: 400,
			wantType: "validation", wantContain: []string{"enrollment.exploded", "enrollment.status_changed"}},
		{name: "limit too big", method: "GET", path: "/v1/events?limit=5000", key: "ro", wantStatus: 400},
		{name: "no key", method: "GET", path: "/v1/events", wantStatus: 401},
		{name: "unknown connection is an empty feed", method: "GET", path: "/v1/events?connection_id=con_gone", key: "ro", wantStatus: 200,
			wantContain: []string{`"data":[]`, `"next_cursor":"`}},
	} {
		t.Run(sc.name, func(t *testing.T) { s.run(t, sc) })
	}
}
