package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
)

// TestRecordsStoredCompressed: the data column holds a record compressed
// against the dictionary (format byte 0x02), well under half the JSON's
// size, and rows written by earlier versions, as plain JSON or as S2 without
// the dictionary (0x01), still read back.
func TestRecordsStoredCompressed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registrar.db")
	s, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ConnectionCreate(ctx, &store.Connection{ID: "con_1", Provider: "canvas", Name: "c", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		var rows []store.Enrollment
		for _, id := range []string{"e1", "e2"} {
			remote := `{"id":"` + id + `","enrollment_state":"active","user":{"name":"Zoë Ōkubo","sortable_name":"Ōkubo, Zoë"},` +
				`"grades":{"html_url":"https://lms.example/courses/1/grades/7","current_score":null}` +
				strings.Repeat(`,"sis_import_id":null,"associated_user_id":null`, 10) + `}`
			rows = append(rows, store.Enrollment{Record: lms.CourseEnrollment{ID: id, ConnectionID: "con_1", Provider: "canvas",
				Status: lms.StatusEnrolled, User: &lms.User{ID: "u1", Name: "Zoë Ōkubo"}, Course: &lms.Course{ID: "c1", Title: "Safety"},
				RemoteData: json.RawMessage(remote)}, ContentHash: "h", ChangedAt: now})
		}
		return tx.EnrollmentUpsertMany(ctx, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.EnrollmentGet(ctx, "con_1", "e1")
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var col []byte
	if err := db.QueryRow(`SELECT data FROM enrollments WHERE id = 'e1'`).Scan(&col); err != nil {
		t.Fatal(err)
	}
	plain := want.Record
	plain.ConnectionID, plain.ID, plain.Provider, plain.SyncedAt = "", "", "", nil
	js, _ := json.Marshal(plain)
	if col[0] != 0x02 || len(col) >= len(js)/2 {
		t.Fatalf("data column: format byte 0x%02x, %d bytes for %d bytes of JSON; want 0x02 and under half", col[0], len(col), len(js))
	}

	// Rows as earlier versions wrote them: plain JSON text, then S2 blocks
	// without the dictionary.
	for _, old := range []struct {
		name string
		col  any
	}{
		{"plain JSON", string(js)},
		{"S2 without dictionary", append([]byte{0x01}, s2.EncodeBetter(nil, js)...)},
	} {
		if _, err := db.Exec(`UPDATE enrollments SET data = ? WHERE id = 'e2'`, old.col); err != nil {
			t.Fatal(err)
		}
		got, err := s.EnrollmentGet(ctx, "con_1", "e2")
		if err != nil {
			t.Fatalf("%s: %v", old.name, err)
		}
		got.Record.ID = "e1"
		if !reflect.DeepEqual(got.Record, want.Record) {
			t.Fatalf("%s row reads back as\n%+v\nwant\n%+v", old.name, got.Record, want.Record)
		}
	}
	// Raw listings read both formats too: the compressed row's JSON is the
	// plain one's (the records differ only in id, stored as "").
	raw, err := s.EnrollmentList(ctx, store.EnrollmentListParams{Raw: true, Limit: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Enrollments) != 2 {
		t.Fatalf("raw listing: %d rows, want 2", len(raw.Enrollments))
	}
	for _, e := range raw.Enrollments {
		if string(e.Data) != string(js) {
			t.Errorf("raw listing, %s: Data\n%s\nwant\n%s", e.Record.ID, e.Data, js)
		}
	}

	// A value in no known format is an error naming the record, not a panic.
	if _, err := db.Exec(`UPDATE enrollments SET data = x'07aa' WHERE id = 'e2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnrollmentGet(ctx, "con_1", "e2"); err == nil || !strings.Contains(err.Error(), "e2") {
		t.Fatalf("unknown format: err = %v", err)
	}
	if _, err := s.EnrollmentList(ctx, store.EnrollmentListParams{Raw: true, Limit: 10, Now: now}); err == nil ||
		!strings.Contains(err.Error(), "e2") {
		t.Fatalf("unknown format, raw listing: err = %v", err)
	}
}

// TestCodecDictionaryFrozen: every value written with format 0x02 refers to
// bytes of dictionary v1, so changing the file would make stored records
// unreadable (or, worse, read back wrong). A better dictionary is a new file
// with a new format byte; this hash never changes.
func TestCodecDictionaryFrozen(t *testing.T) {
	b, err := os.ReadFile("codec_dict_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != "ef470228ab7097189a05bc528228f969288d72de0c00e528f65605446ab3521f" {
		t.Fatalf("codec_dict_v1.json changed (sha256 %s): records stored with it would no longer read", got)
	}
}
