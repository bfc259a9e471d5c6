package canvas

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/lms"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current mapping")

// TestStatusTable checks the Canvas column of DESIGN.md's status table row by
// row (states from providers.md §1.5).
func TestStatusTable(t *testing.T) {
	tests := []struct {
		state    string
		activity bool
		want     lms.Status
	}{
		{"invited", false, lms.StatusAssigned},
		{"invited", true, lms.StatusAssigned},
		{"creation_pending", false, lms.StatusAssigned},
		{"active", false, lms.StatusEnrolled},
		{"active", true, lms.StatusInProgress},
		{"completed", false, lms.StatusCompleted},
		{"completed", true, lms.StatusCompleted},
		{"deleted", false, lms.StatusWithdrawn},
		{"rejected", false, lms.StatusWithdrawn},
		{"inactive", true, lms.StatusWithdrawn},
		{"pending_active", false, lms.StatusUnknown},
		{"", false, lms.StatusUnknown},
		{"Active", false, lms.StatusUnknown},
	}
	for _, tt := range tests {
		if got := statusOf(tt.state, tt.activity); got != tt.want {
			t.Errorf("statusOf(%q, activity=%v) = %q, want %q", tt.state, tt.activity, got, tt.want)
		}
	}
}

// TestRoles checks type → role and back (seed 004 "type").
func TestRoles(t *testing.T) {
	tests := []struct {
		typ  string
		role lms.Role
	}{
		{"StudentEnrollment", lms.RoleLearner},
		{"TeacherEnrollment", lms.RoleInstructor},
		{"TaEnrollment", lms.RoleTeachingAssistant},
		{"DesignerEnrollment", lms.RoleDesigner},
		{"ObserverEnrollment", lms.RoleObserver},
	}
	for _, tt := range tests {
		if got := roleOf(tt.typ); got != tt.role {
			t.Errorf("roleOf(%q) = %q, want %q", tt.typ, got, tt.role)
		}
		if got, ok := typeOf(tt.role); !ok || got != tt.typ {
			t.Errorf("typeOf(%q) = %q, %v; want %q", tt.role, got, ok, tt.typ)
		}
	}
	if got := roleOf("CustomThing"); got != "" {
		t.Errorf("roleOf(unknown) = %q, want empty", got)
	}
	if got, ok := typeOf(""); !ok || got != "StudentEnrollment" {
		t.Errorf("typeOf(\"\") = %q, %v; want StudentEnrollment (seed 004 default)", got, ok)
	}
	if _, ok := typeOf("janitor"); ok {
		t.Error("typeOf(janitor) accepted")
	}
}

// TestGolden maps every vendor record of testdata (seed 004's example and one
// per status row) and compares with its golden unified JSON byte for byte.
func TestGolden(t *testing.T) {
	wantStatus := map[string]lms.Status{
		"full":                 lms.StatusInProgress,
		"invited":              lms.StatusAssigned,
		"creation_pending":     lms.StatusAssigned,
		"active_no_activity":   lms.StatusEnrolled,
		"active_with_activity": lms.StatusInProgress,
		"completed":            lms.StatusCompleted,
		"deleted":              lms.StatusWithdrawn,
		"rejected":             lms.StatusWithdrawn,
		"inactive":             lms.StatusWithdrawn,
		"unknown_state":        lms.StatusUnknown,
		"teacher_numeric_ids":  lms.StatusEnrolled,
	}
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			e, err := mapEnrollment(raw, "Workplace Safety 101", mapOptions{})
			if err != nil {
				t.Fatalf("map: %v", err)
			}
			if want, ok := wantStatus[name]; !ok {
				t.Errorf("no expected status for %s: add it to wantStatus", name)
			} else if e.Status != want {
				t.Errorf("status %q, want %q", e.Status, want)
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
				t.Errorf("mapping of %s differs from %s (go test -update rewrites it):\n%s", in, golden, got)
			}
		})
	}
	for name := range wantStatus {
		if !seen[name] {
			t.Errorf("testdata/%s.json missing", name)
		}
	}
}

// TestScoreSource checks the score_source setting: current (default) or
// final scores and grades (seed 004 Grade object).
func TestScoreSource(t *testing.T) {
	raw, err := os.ReadFile("testdata/active_with_activity.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		final bool
		score float64
		grade string
	}{{false, 88.5, "B+"}, {true, 40.1, "F"}} {
		e, err := mapEnrollment(raw, "", mapOptions{scoreFinal: tt.final})
		if err != nil {
			t.Fatal(err)
		}
		if e.Score == nil || *e.Score != tt.score || e.Grade != tt.grade {
			t.Errorf("final=%v: score %v grade %q, want %v %q", tt.final, e.Score, e.Grade, tt.score, tt.grade)
		}
	}
}

// TestMappingLeavesUnknownOut: seed 004's Grade example sends "" for scores
// without a value; they must be absent, not zero (DESIGN.md "Unknown values
// are omitted").
func TestMappingLeavesUnknownOut(t *testing.T) {
	raw, err := os.ReadFile("testdata/active_no_activity.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := mapEnrollment(raw, "", mapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Score != nil || e.Grade != "" || e.TimeSpentSeconds != nil || e.LastActivityAt != nil || e.ExpiresAt != nil {
		t.Errorf("unknown values filled: score=%v grade=%q time=%v last=%v expires=%v", e.Score, e.Grade, e.TimeSpentSeconds, e.LastActivityAt, e.ExpiresAt)
	}
}

func TestMappingRejectsBadTimestamp(t *testing.T) {
	_, err := mapEnrollment(json.RawMessage(`{"id":"1","enrollment_state":"active","created_at":"yesterday"}`), "", mapOptions{})
	if err == nil {
		t.Error("a timestamp that is not ISO-8601 was accepted")
	}
}
