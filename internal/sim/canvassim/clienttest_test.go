package canvassim

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestThirdPartyClientAgrees lists a 250-row course with @kth/canvas-api's
// pagination helper, a real Canvas client, and compares what it saw with
// the simulator's own count (providers.md §1.11: Link paging with
// bookmarks, rel="next" followed verbatim).
func TestThirdPartyClientAgrees(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH; install Node.js to run the third-party client check")
	}
	dir := "clienttest"
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@kth", "canvas-api")); err != nil {
		t.Skip("clienttest/node_modules is missing; run `npm ci` in internal/sim/canvassim/clienttest")
	}
	s, base := startSim(t, Config{Seed: 12, Users: 120, Courses: 1, Enrollments: 250})
	s.mu.RLock()
	want := len(s.st.courses[0].enrollment)
	s.mu.RUnlock()
	const perPage = 7

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "list-enrollments.mjs", base+"/api/v1", testToken, "10001", strconv.Itoa(perPage))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	var got struct {
		Count  int `json:"count"`
		Unique int `json:"unique"`
		Pages  int `json:"pages"`
	}
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(rest), &got); err != nil {
				t.Fatalf("bad result %q: %v", rest, err)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no RESULT line in %q", out)
	}
	wantPages := (want + perPage - 1) / perPage
	if got.Count != want || got.Unique != want || got.Pages != wantPages {
		t.Fatalf("client saw %+v, simulator has %d rows in %d pages", got, want, wantPages)
	}
	if n := s.Kit().RouteCount("GET /api/v1/courses/{course_id}/enrollments"); n != int64(wantPages) {
		t.Fatalf("simulator served %d list requests, want %d", n, wantPages)
	}
}
