package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildRegistrar compiles the binary once per test run.
func buildRegistrar(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "registrar")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/registrarhq/registrar/cmd/registrar")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

var (
	quoted = regexp.MustCompile(`'([^']*)'`)
	method = regexp.MustCompile(`-X (\w+)`)
)

// curlLine is one printed curl command, parsed enough to replay it.
type curlLine struct {
	method  string
	url     string
	headers map[string]string
	body    string
}

func parseCurl(t *testing.T, line string) curlLine {
	t.Helper()
	c := curlLine{method: "GET", headers: map[string]string{}}
	if m := method.FindStringSubmatch(line); m != nil {
		c.method = m[1]
	}
	parts := quoted.FindAllStringSubmatchIndex(line, -1)
	for _, p := range parts {
		value := line[p[2]:p[3]]
		before := strings.TrimSpace(line[:p[0]])
		switch {
		case strings.HasSuffix(before, "-H"):
			k, v, _ := strings.Cut(value, ": ")
			c.headers[k] = v
		case strings.HasSuffix(before, "-d"):
			c.body = value
		case strings.HasPrefix(value, "http"):
			c.url = value
		}
	}
	if c.url == "" {
		t.Fatalf("no URL in %q", line)
	}
	return c
}

// TestDemo runs `registrar demo` as a user would, waits for its URL, replays
// the printed curl lines and checks their answers, then stops it with Ctrl-C.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildRegistrar(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--addr", "127.0.0.1:0", "--enrollments", "1500")
	cmd.Env = append(os.Environ(), "REGISTRAR_LOG_LEVEL=warn")
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var curls []curlLine
	var base, dataDir string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "API:"):
			base = strings.Fields(line)[1]
		case strings.HasPrefix(line, "Data:"):
			dataDir = strings.Fields(line)[1]
		case strings.HasPrefix(line, "curl "):
			curls = append(curls, parseCurl(t, line))
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	ready := time.Since(start)
	if base == "" || len(curls) != 3 {
		t.Fatalf("demo printed URL %q and %d curl lines, want a URL and 3", base, len(curls))
	}
	if ready > 10*time.Second {
		t.Errorf("demo took %s to be ready, want under 10 s", ready)
	}
	go io.Copy(io.Discard, stdout)

	answers := make([]map[string]any, len(curls))
	for i, c := range curls {
		req, err := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := map[string]int{"GET": 200, "POST": 201}[c.method]
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d\n%s", c.method, c.url, res.StatusCode, want, body)
		}
		if err := json.Unmarshal(body, &answers[i]); err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
	}
	overdue := answers[0]["data"].([]any)
	if len(overdue) == 0 {
		t.Fatal("the overdue example lists nothing: the demo data should have overdue enrollments")
	}
	for _, e := range overdue {
		if s := e.(map[string]any)["status"]; s != "overdue" {
			t.Fatalf("overdue example lists a %v enrollment", s)
		}
	}
	if answers[1]["status"] != "enrolled" && answers[1]["status"] != "assigned" {
		t.Fatalf("enroll example answered %v", answers[1])
	}
	if len(answers[2]["data"].([]any)) == 0 {
		t.Fatal("the event feed example is empty")
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo did not stop cleanly on Ctrl-C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15 s of Ctrl-C")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("the temporary data directory %s was not removed: %v", dataDir, err)
	}
}
