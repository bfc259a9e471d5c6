package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/store/sqlite"
	"github.com/registrarhq/registrar/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "registrar.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
