package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDatabaseEnv names the variable that points tests at a PostgreSQL
// server, as River's TEST_DATABASE_URL does.
const TestDatabaseEnv = "REGISTRAR_TEST_DATABASE_URL"

// TestDatabase creates an empty database with a random name on the server
// REGISTRAR_TEST_DATABASE_URL points at, drops it when the test ends, and
// returns its URL. It skips the test when the variable is unset, so tests
// that use it run everywhere and exercise PostgreSQL where CI provides one.
//
// A database per test (rather than a schema or a rolled-back transaction)
// keeps tests fully isolated, migrations included, and lets them run in
// parallel; CREATE DATABASE from the template takes tens of milliseconds.
func TestDatabase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(TestDatabaseEnv)
	if base == "" {
		tb.Skip(TestDatabaseEnv + " not set: skipping PostgreSQL tests")
	}
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		tb.Fatal(err)
	}
	name := "registrar_test_" + hex.EncodeToString(suffix)
	adminExec(tb, base, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	tb.Cleanup(func() {
		adminExec(tb, base, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	u, err := withDatabase(base, name)
	if err != nil {
		tb.Fatalf("%s: %v", TestDatabaseEnv, err)
	}
	return u
}

// adminExec runs one statement on the database the base URL names.
func adminExec(tb testing.TB, base, statement string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", TestDatabaseEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, statement); err != nil {
		tb.Fatalf("%s: %v", statement, err)
	}
}

// withDatabase points a postgres:// URL, or a keyword/value string, at
// another database on the same server.
func withDatabase(base, name string) (string, error) {
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		// In a keyword/value string the last dbname wins.
		return base + " dbname=" + name, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		// url.Parse's error quotes the URL, password included.
		return "", errors.New("not a valid URL")
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}
