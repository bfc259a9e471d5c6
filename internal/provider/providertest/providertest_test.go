package providertest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// pagedReader serves fixed pages; cursors are the page numbers as given.
type pagedReader struct {
	provider.Reader
	pages   [][]string
	cursors []string // NextCursor of each page
}

func (r *pagedReader) EnrollmentPage(_ context.Context, p provider.EnrollmentPageParams) (*provider.EnrollmentPage, error) {
	i := 0
	for j, c := range r.cursors {
		if p.Cursor != "" && c == p.Cursor {
			i = j + 1
			break
		}
	}
	out := &provider.EnrollmentPage{NextCursor: r.cursors[i], Total: -1}
	for _, id := range r.pages[i] {
		out.Enrollments = append(out.Enrollments, lms.CourseEnrollment{ID: id})
	}
	return out, nil
}

func TestListAll(t *testing.T) {
	tests := []struct {
		name    string
		r       *pagedReader
		want    int
		pages   int
		stalled bool
	}{
		{"three pages", &pagedReader{pages: [][]string{{"a", "b"}, {"c"}, {}}, cursors: []string{"1", "2", ""}}, 3, 3, false},
		{"one page", &pagedReader{pages: [][]string{{"a"}}, cursors: []string{""}}, 1, 1, false},
		{"a cursor that comes back", &pagedReader{pages: [][]string{{"a"}, {"b"}, {"c"}}, cursors: []string{"1", "2", "1"}}, 3, 3, true},
	}
	for _, tt := range tests {
		got, pages, err := ListAll(context.Background(), tt.r, "")
		if tt.stalled {
			if err == nil || !strings.Contains(err.Error(), "did not move") {
				t.Errorf("%s: got %v, want a stalled-cursor error", tt.name, err)
			}
			continue
		}
		if err != nil || len(got) != tt.want || pages != tt.pages {
			t.Errorf("%s: %d records in %d pages (%v), want %d in %d", tt.name, len(got), pages, err, tt.want, tt.pages)
		}
	}
}

// TestCheckIDs: the comparison with the simulator's list catches a missing,
// an extra and a repeated record.
func TestCheckIDs(t *testing.T) {
	recs := func(ids ...string) []lms.CourseEnrollment {
		var out []lms.CourseEnrollment
		for _, id := range ids {
			out = append(out, lms.CourseEnrollment{ID: id})
		}
		return out
	}
	tests := []struct {
		name string
		got  []lms.CourseEnrollment
		ok   bool
	}{
		{"exact", recs("a", "b", "c"), true},
		{"missing", recs("a", "b"), false},
		{"extra", recs("a", "b", "c", "d"), false},
		{"twice", recs("a", "b", "c", "a"), false},
	}
	for _, tt := range tests {
		var rec failures
		checkIDs(&rec, tt.got, []string{"a", "b", "c"})
		if (len(rec) == 0) != tt.ok {
			t.Errorf("%s: failures %q, want ok=%v", tt.name, rec, tt.ok)
		}
	}
}

// failures records what a check reported.
type failures []string

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	*f = append(*f, fmt.Sprintf(format, args...))
}
