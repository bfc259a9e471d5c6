package app_test

import (
	"testing"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/store/postgres"
)

// The API scenario tests again, on a PostgreSQL store (a fresh database per
// test, where REGISTRAR_TEST_DATABASE_URL is set): the API must behave the
// same whichever engine is behind it.

func startPostgresServer(t *testing.T) *server {
	t.Helper()
	return startServerWith(t, app.Config{DatabaseURL: postgres.TestDatabase(t)})
}

func startPostgresSyncServer(t *testing.T) *server {
	t.Helper()
	return startSyncServerOn(t, postgres.TestDatabase(t))
}

func TestPostgresConnectionsAPI(t *testing.T) {
	testConnectionsAPI(t, startPostgresServer)
}

func TestPostgresEnrollmentListFiltersAndCursorWalk(t *testing.T) {
	testEnrollmentListFiltersAndCursorWalk(t, startPostgresServer)
}

func TestPostgresSyncThroughTheAPI(t *testing.T) {
	testSyncThroughTheAPI(t, startPostgresSyncServer)
}
