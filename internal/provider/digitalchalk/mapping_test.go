package digitalchalk

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current mapping")

// TestUnifiedStatus checks the DigitalChalk column of DESIGN.md's status
// table row by row (statuses from seed 000 / §3.3).
func TestUnifiedStatus(t *testing.T) {
	tests := []struct {
		remote, beginDate string
		want              lms.Status
	}{
		{"active", "", lms.StatusEnrolled},
		{"active", "2024-05-03T09:15:00Z", lms.StatusInProgress},
		{"passed", "", lms.StatusPassed},
		{"passed", "2024-05-03T09:15:00Z", lms.StatusPassed},
		{"failed", "2024-05-03T09:15:00Z", lms.StatusFailed},
		{"ejected", "", lms.StatusWithdrawn},
		{"ejected", "2024-05-03T09:15:00Z", lms.StatusWithdrawn},
		{"suspended", "", lms.StatusUnknown},
		{"Active", "", lms.StatusUnknown}, // the vendor's values are lowercase; no guessing
		{"", "", lms.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.remote+"/"+tt.beginDate, func(t *testing.T) {
			if got := unifiedStatus(tt.remote, tt.beginDate); got != tt.want {
				t.Errorf("unifiedStatus(%q, %q) = %q, want %q", tt.remote, tt.beginDate, got, tt.want)
			}
		})
	}
}

// TestGoldenMapping maps every testdata/*.json registration (seed 000's
// example, one per status row, one fully populated) with the users of
// testdata/users.json and compares with testdata/*.golden.json byte for byte.
func TestGoldenMapping(t *testing.T) {
	people := map[string]lms.User{}
	var users page[user]
	readJSON(t, "testdata/users.json", &users)
	for _, u := range users.Results {
		people[u.ID] = toUser(u)
	}
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") || filepath.Base(in) == "users.json" {
			continue
		}
		seen++
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var r registration
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			e := toEnrollment(r, userOf(people, r.UserID), nil)
			if !bytes.Equal(e.RemoteData, bytes.TrimSpace(raw)) {
				t.Errorf("remote_data is not the vendor record verbatim")
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
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("mapping of %s differs from %s:\n got: %s\nwant: %s", in, golden, got, want)
			}
		})
	}
	if seen < 7 {
		t.Fatalf("found %d registration fixtures, want at least 7", seen)
	}
}

// TestMappingRules pins the rules the golden files show, so that an -update
// cannot silently accept a wrong mapping.
func TestMappingRules(t *testing.T) {
	load := func(name string) registration {
		var r registration
		readJSON(t, "testdata/"+name, &r)
		return r
	}
	t.Run("ejected endDate is not a completion (§3.3)", func(t *testing.T) {
		e := toEnrollment(load("ejected.json"), nil, nil)
		if e.CompletedAt != nil {
			t.Errorf("completed_at = %v, want unset", e.CompletedAt)
		}
		if !bytes.Contains(e.RemoteData, []byte(`"endDate": "2024-03-20T19:13:05Z"`)) {
			t.Errorf("remote_data lost endDate: %s", e.RemoteData)
		}
	})
	t.Run("passed endDate is the completion; grade is the score", func(t *testing.T) {
		e := toEnrollment(load("seed000_example.json"), nil, nil)
		if want := time.Date(2012, 3, 20, 19, 13, 5, 0, time.UTC); e.CompletedAt == nil || !e.CompletedAt.Equal(want) {
			t.Errorf("completed_at = %v, want %v", e.CompletedAt, want)
		}
		if e.Score == nil || *e.Score != 100 {
			t.Errorf("score = %v, want 100", e.Score)
		}
		if e.AssignedBy != nil {
			t.Errorf("assigned_by = %+v; graderId is the grader, not the assigner", e.AssignedBy)
		}
		if e.CustomFields["grader_id"] != "89213aadea92ef4abbc4861afed8a215" {
			t.Errorf("custom_fields = %v, want grader_id", e.CustomFields)
		}
		if e.EnrolledAt == nil || e.CreatedAt == nil || !e.EnrolledAt.Equal(*e.CreatedAt) {
			t.Errorf("enrolled_at %v and created_at %v should both be createdDate", e.EnrolledAt, e.CreatedAt)
		}
	})
	t.Run("attempts fill attempt fields and is_current", func(t *testing.T) {
		r := load("active_begun.json")
		older := toEnrollment(r, nil, &attempts{number: 1, count: 2})
		newest := toEnrollment(r, nil, &attempts{number: 2, count: 2})
		if *older.AttemptNumber != 1 || *older.AttemptsCount != 2 || *older.IsCurrent {
			t.Errorf("older attempt: number %d count %d current %v", *older.AttemptNumber, *older.AttemptsCount, *older.IsCurrent)
		}
		if !*newest.IsCurrent {
			t.Errorf("newest attempt is not current")
		}
		if bulk := toEnrollment(r, nil, nil); bulk.AttemptNumber != nil || bulk.IsCurrent != nil {
			t.Errorf("without counting, attempt fields must stay unset")
		}
	})
}

func TestParseTime(t *testing.T) {
	want := time.Date(2012, 3, 1, 6, 3, 10, 0, time.UTC)
	tests := []struct {
		in   string
		want *time.Time
	}{
		{"2012-03-01T06:03:10Z", &want},
		{"2012-03-01T06:03:10.250Z", &want}, // truncated to the second like every vendor value
		{"2012-03-01T01:03:10-05:00", &want},
		{"2012-03-01T06:03:10", &want},
		{"", nil},
		{"yesterday", nil},
	}
	for _, tt := range tests {
		got := parseTime(tt.in)
		switch {
		case tt.want == nil && got != nil:
			t.Errorf("parseTime(%q) = %v, want nil", tt.in, got)
		case tt.want != nil && (got == nil || !got.Equal(*tt.want) || got.Location() != time.UTC):
			t.Errorf("parseTime(%q) = %v, want %v UTC", tt.in, got, tt.want)
		}
	}
}

func TestGradeAsString(t *testing.T) {
	var r registration
	if err := json.Unmarshal([]byte(`{"id":"x","status":"passed","grade":"87.5"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Grade == nil || float64(*r.Grade) != 87.5 {
		t.Errorf("grade = %v, want 87.5", r.Grade)
	}
	if err := json.Unmarshal([]byte(`{"id":"x","grade":"A+"}`), &r); err == nil {
		t.Errorf("a non-numeric grade must not parse")
	}
}

func TestVendorMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"errors array (§3.4)", `{"errors":["This offering is not available for registration for the given user."]}`,
			"This offering is not available for registration for the given user."},
		{"fieldErrors object (§3.4)", `{"fieldErrors":{"status":"Eject is not available after completion.","grade":"Must be 0-100."}}`,
			"grade: Must be 0-100.; status: Eject is not available after completion."},
		{"both", `{"errors":["Bad request."],"fieldErrors":{"name":"This field is required."}}`,
			"Bad request.; name: This field is required."},
		{"not JSON", `<html>oops</html>`, ""},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vendorMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("vendorMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
