package app_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/store/postgres"
)

// TestServeStopsWhenItLosesItsSession: a replica whose lock session ends
// (a database restart, a network cut) must stop, since the others take it
// for dead and may already be doing its work. Serve returns an error that
// says so, which makes the process exit for its supervisor to restart.
func TestServeStopsWhenItLosesItsSession(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, app.Config{DataDir: t.TempDir(), DatabaseURL: postgres.TestDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	select {
	case err := <-done:
		t.Fatalf("serve ended at once: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	pg := a.Store.(*postgres.Store)
	if _, err := pg.Pool().Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "+
		"WHERE application_name = 'registrar-session' AND datname = current_database()"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "lock session was lost") {
			t.Fatalf("serve ended with %v, want the lost session", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve went on without its lock session")
	}
}
