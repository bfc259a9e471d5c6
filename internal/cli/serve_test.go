package cli_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/cli"
)

// run runs the CLI as main does and returns the exit code and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestServeRefusesClearly(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"port taken", []string{"serve", "--addr", taken.Addr().String(), "--data-dir", t.TempDir()}, "already in use"},
		{"data dir not writable", []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(file, "data")}, "data directory"},
		{"unknown provider", []string{"connections", "add", "--provider", "moodle", "--name", "m", "--data-dir", t.TempDir()}, "unknown provider"},
		{"unknown connection", []string{"connections", "remove", "nope", "--data-dir", t.TempDir()}, `no connection named "nope"`},
		{"bad database url", []string{"migrate", "--database-url", "mysql://x"}, "unsupported --database-url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code == 0 {
				t.Fatal("exit code 0")
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "registrar: ") || !strings.Contains(stderr, tc.want) {
				t.Fatalf("want one line mentioning %q, got %q", tc.want, stderr)
			}
		})
	}
}

func TestConnectionsAddListRemove(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "connections", "add", "--data-dir", dir, "--provider", "digitalchalk", "--name", "dc",
		"--setting", "base_url=https://api.digitalchalk.com/dc/api/v5", "--credential", "token=secret-dc-token")
	if code != 0 || !strings.Contains(out, "created connection dc") {
		t.Fatalf("add: %d %q %q", code, out, stderr)
	}
	code, out, _ = runCLI(t, "connections", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "dc") || strings.Contains(out, "secret-dc-token") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "connections", "remove", "dc", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "removed connection dc") {
		t.Fatalf("remove: %d %q", code, out)
	}
}

func TestVersionAndMigrate(t *testing.T) {
	if code, out, _ := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "registrar ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "migrate", "--data-dir", t.TempDir()); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %q", code, out)
	}
}

// The simulator prints what a connection needs under the settings' names.
func TestSimPrintsConnectionSettings(t *testing.T) {
	for vendor, want := range map[string][]string{
		"canvas":       {"base_url: http://", "token: canvas-sim-token", "account_id: 1"},
		"absorb":       {"base_url: http://", "api_key: ", "username: admin", "password: "},
		"digitalchalk": {"base_url: http://", "/dc/api/v5", "token: dc-sim-token"},
	} {
		t.Run(vendor, func(t *testing.T) {
			out := &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			root := cli.NewRoot(out, out)
			root.SetArgs([]string{"sim", vendor, "--enrollments", "50", "--addr", "127.0.0.1:0"})
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()
			for i := 0; i < 200 && !strings.Contains(out.String(), want[len(want)-1]); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if !strings.HasPrefix(got, "listening on http://127.0.0.1:") {
				t.Fatalf("first line: %q", got)
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
