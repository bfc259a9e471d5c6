package absorb

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current mapping")

// TestUnifiedStatus checks the Absorb column of DESIGN.md's status table row
// by row (codes: providers.md §2.4).
func TestUnifiedStatus(t *testing.T) {
	tests := []struct {
		code int
		name string
		want lms.Status
	}{
		{0, "NotStarted", lms.StatusEnrolled},
		{1, "InProgress", lms.StatusInProgress},
		{2, "PendingApproval", lms.StatusAssigned},
		{3, "Complete", lms.StatusCompleted},
		{4, "NotComplete", lms.StatusFailed},
		{5, "Failed", lms.StatusFailed},
		{6, "Declined", lms.StatusWithdrawn},
		{7, "PendingEvaluationRequired", lms.StatusInProgress},
		{8, "OnWaitlist", lms.StatusAssigned},
		{9, "Absent", lms.StatusWithdrawn},
		{10, "NotApplicable", lms.StatusUnknown},
		{11, "PendingProctor", lms.StatusInProgress},
		{12, "ReadyForReview", lms.StatusInProgress},
		{13, "a code Absorb may add later", lms.StatusUnknown},
		{-1, "nonsense", lms.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unifiedStatus(tt.code); got != tt.want {
				t.Errorf("unifiedStatus(%d) = %q, want %q", tt.code, got, tt.want)
			}
			if n, ok := statusNames()[tt.name]; ok && n != tt.code {
				t.Errorf("statusNames()[%q] = %d, want %d", tt.name, n, tt.code)
			}
		})
	}
}

// TestGoldenMapping maps the vendor records of testdata (written from seed
// 003's response schemas: one per status code and a fully populated one) and
// compares them byte for byte with their .golden.json. Run with -update to
// rewrite the golden files, then review the diff.
func TestGoldenMapping(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		seen++
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			e, err := mapper{zone: time.UTC}.enrollment(raw)
			if err != nil {
				t.Fatalf("mapping: %v", err)
			}
			got, err := json.MarshalIndent(e, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(in, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenMapping -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("mapping of %s differs from %s:\n got: %s\nwant: %s", in, golden, got, want)
			}
		})
	}
	if seen < 14 {
		t.Errorf("found %d vendor records in testdata, want one per status 0-12 and a full one", seen)
	}
}

// TestMappingFields pins the field rules of the connector issue on the fully
// populated record, so that a wrong golden file cannot hide them.
func TestMappingFields(t *testing.T) {
	raw, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := mapper{zone: time.UTC}.enrollment(raw)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"status", e.Status, lms.StatusCompleted},
		{"remote_status", e.RemoteStatus, "3"},
		{"provider", e.Provider, "absorb"},
		{"user", *e.User, lms.User{ID: "2b3c4d5e-1111-4111-8111-11111111111b", Name: "Oğuz Yılmaz"}},
		{"course", *e.Course, lms.Course{ID: "0b8e4a61-5d2c-4c1b-8f7e-2a9d3c4b5e6f", Title: "Fire Warden Certification 104"}},
		{"enrolled_at = dateAdded", *e.EnrolledAt, at("2026-01-05T07:00:00Z")},
		{"created_at = dateAdded", *e.CreatedAt, at("2026-01-05T07:00:00Z")},
		// dateStarted carries +02:00: converted to UTC.
		{"started_at", *e.StartedAt, at("2026-01-06T07:00:00Z")},
		{"completed_at", *e.CompletedAt, at("2026-02-20T16:45:30Z")},
		{"due_at", *e.DueAt, at("2026-03-01T00:00:00Z")},
		{"expires_at", *e.ExpiresAt, at("2027-02-20T16:45:30Z")},
		// Truncated to the second (lms.UTC).
		{"updated_at", *e.UpdatedAt, at("2026-02-20T16:45:31Z")},
		{"progress", *e.ProgressPercent, 100.0},
		{"score", *e.Score, 87.25},
		// 54123456789 ticks of 100 ns = 5412.3 s.
		{"time_spent_seconds", *e.TimeSpentSeconds, int64(5412)},
		{"certificate", *e.Certificate, lms.Certificate{ID: "4d5e6f70-3333-4333-8333-33333333333d"}},
		{"is_current", *e.IsCurrent, false},
		{"started_at zone", e.StartedAt.Location(), time.UTC},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(e.RemoteData, raw) {
		t.Error("remote_data is not the vendor record verbatim")
	}
	if e.AttemptNumber != nil || e.AssignedAt != nil || e.Grade != "" {
		t.Error("filled a field Absorb does not give")
	}
}

// TestParseTime: Absorb may emit times without an offset (providers.md §2.6,
// UNCERTAIN); they are read in the configured zone.
func TestParseTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		in   string
		zone *time.Location
		want string // RFC 3339 UTC, "" for absent, "error" for an error
	}{
		{"2019-08-24T14:15:22Z", time.UTC, "2019-08-24T14:15:22Z"},
		{"2019-08-24T14:15:22.987Z", time.UTC, "2019-08-24T14:15:22Z"},
		{"2019-08-24T14:15:22-05:00", time.UTC, "2019-08-24T19:15:22Z"},
		{"2019-08-24T14:15:22", time.UTC, "2019-08-24T14:15:22Z"},
		{"2019-08-24T14:15:22.123", time.UTC, "2019-08-24T14:15:22Z"},
		{"2019-08-24T14:15:22", paris, "2019-08-24T12:15:22Z"},
		{"2019-08-24T14:15:22Z", paris, "2019-08-24T14:15:22Z"},
		{"2019-08-24", time.UTC, "2019-08-24T00:00:00Z"},
		{"", time.UTC, ""},
		{"yesterday", time.UTC, "error"},
	}
	for _, tt := range tests {
		got, err := mapper{zone: tt.zone}.parseTime(&tt.in)
		switch {
		case tt.want == "error":
			if err == nil {
				t.Errorf("parseTime(%q) = %v, want an error", tt.in, got)
			}
		case err != nil:
			t.Errorf("parseTime(%q): %v", tt.in, err)
		case tt.want == "":
			if got != nil {
				t.Errorf("parseTime(%q) = %v, want absent", tt.in, got)
			}
		case got == nil || got.Format(time.RFC3339) != tt.want || got.Location() != time.UTC:
			t.Errorf("parseTime(%q) in %s = %v, want %s", tt.in, tt.zone, got, tt.want)
		}
	}
	if got, err := (mapper{zone: time.UTC}).parseTime(nil); got != nil || err != nil {
		t.Errorf("parseTime(nil) = %v, %v", got, err)
	}
}

// TestParseDuration: timeSpent's format is UNCERTAIN (.NET TimeSpan or ISO
// 8601, providers.md §2.6); both read.
func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"00:00:00", 0, true},
		{"01:30:12.3456789", 5412, true},
		{"1.02:03:04", 93784, true},
		{"PT1H30M12S", 5412, true},
		{"PT0.5S", 0, true},
		{"P1DT1S", 86401, true},
		{"PT", 0, false},
		{"P", 0, false},
		{"ninety minutes", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDuration(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		raw        string
		wantCode   int // -1: no code
		wantRemote string
		wantErr    bool
	}{
		{`3`, 3, "3", false},
		{`"5"`, 5, "5", false},
		{`"Complete"`, 3, "Complete", false},
		{`"Mystery"`, -1, "Mystery", false},
		{`null`, -1, "null", false},
		{``, -1, "null", false},
		{`{}`, -1, "", true},
	}
	for _, tt := range tests {
		code, remote, err := parseStatus(json.RawMessage(tt.raw))
		if (err != nil) != tt.wantErr {
			t.Errorf("parseStatus(%s) error %v, want error %v", tt.raw, err, tt.wantErr)
			continue
		}
		gotCode := -1
		if code != nil {
			gotCode = *code
		}
		if gotCode != tt.wantCode || remote != tt.wantRemote {
			t.Errorf("parseStatus(%s) = %d, %q; want %d, %q", tt.raw, gotCode, remote, tt.wantCode, tt.wantRemote)
		}
	}
}

func TestMappingRejects(t *testing.T) {
	for _, raw := range []string{`{"courseId":"c"}`, `{"id":"x","dateAdded":"soon"}`, `[1,2]`, `{"id":"x","status":{}}`} {
		if _, err := (mapper{zone: time.UTC}).enrollment(json.RawMessage(raw)); err == nil {
			t.Errorf("enrollment(%s) mapped, want an error", raw)
		}
	}
}

func TestMapUserAndCourse(t *testing.T) {
	m := mapper{zone: time.UTC}
	u, err := m.user(json.RawMessage(`{"id":"u1","firstName":"Hana","lastName":"Müller","username":"hana","emailAddress":"hana@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Hana Müller" || u.PrimaryEmail() != "hana@example.com" {
		t.Errorf("user = %+v", u)
	}
	u, err = m.user(json.RawMessage(`{"id":"u2","username":"solo"}`))
	if err != nil || u.Name != "solo" || len(u.Emails) != 0 {
		t.Errorf("user without names = %+v, %v", u, err)
	}
	u, err = m.user(json.RawMessage(`{"id":"u3","fullName":"Zoë Kim","email":"zoe@example.com"}`))
	if err != nil || u.Name != "Zoë Kim" || u.PrimaryEmail() != "zoe@example.com" {
		t.Errorf("user with fullName and email = %+v, %v", u, err)
	}
	for _, raw := range []string{`{"id":"c1","name":"Forklift Operation 115"}`, `{"id":"c1","courseName":"Forklift Operation 115"}`} {
		c, err := m.course(json.RawMessage(raw))
		if err != nil || c != (lms.Course{ID: "c1", Title: "Forklift Operation 115"}) {
			t.Errorf("course %s = %+v, %v", raw, c, err)
		}
	}
}

// TestFieldsAreFilled: every field the Definition claims appears in the
// mapping of the fully populated record (section.id comes only with a
// session enroll, see Notes).
func TestFieldsAreFilled(t *testing.T) {
	raw, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := mapper{zone: time.UTC}.enrollment(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(e)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, field := range Definition().Fields {
		if field == "section.id" {
			continue
		}
		var v any = doc
		for _, part := range strings.Split(field, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[part]
		}
		if v == nil {
			t.Errorf("Definition lists %s, but the full record does not fill it", field)
		}
	}
}
