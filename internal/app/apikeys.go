package app

import (
	"context"
	"errors"
	"time"

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/ident"
	"github.com/registrarhq/registrar/internal/store"
)

// APIKeyCreate makes a new API key, stores only its SHA-256, and returns the
// plain key, which is shown once and cannot be recovered.
func APIKeyCreate(ctx context.Context, st store.Store, name string, readOnly bool, now time.Time) (string, *store.APIKey, error) {
	if name == "" {
		return "", nil, errors.New("an API key needs a name (--name)")
	}
	plain := api.KeyPrefix + ident.Secret(24)
	k := &store.APIKey{
		ID:        ident.New("key", now),
		Name:      name,
		Prefix:    plain[:len(api.KeyPrefix)+6],
		Hash:      api.HashKey(plain),
		ReadOnly:  readOnly,
		CreatedAt: now.UTC(),
	}
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.APIKeyCreate(ctx, k) }); err != nil {
		return "", nil, err
	}
	return plain, k, nil
}
