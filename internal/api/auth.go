package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/store"
)

// KeyPrefix starts every API key, so a leaked key is easy to recognise.
const KeyPrefix = "rk_"

// HashKey returns the stored form of an API key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type apiKeyContextKey struct{}

// apiKeyFrom returns the authenticated key of a request.
func apiKeyFrom(ctx context.Context) *store.APIKey {
	k, _ := ctx.Value(apiKeyContextKey{}).(*store.APIKey)
	return k
}

// authenticate guards every /v1 operation: a missing or unknown key is 401
// with WWW-Authenticate, a read-only key on a write is 403. Keys are looked
// up on every request (by hash, one indexed read) so that a key created or
// removed by the CLI takes effect at once, even while the server runs.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || !strings.HasPrefix(op.Path, "/v1/") {
		next(ctx)
		return
	}
	deny := func(status int, typ, detail string) {
		p := newProblem(status, typ, detail)
		p.Instance = ctx.URL().Path
		if status == http.StatusUnauthorized {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="registrar"`)
		}
		ctx.SetHeader("Content-Type", "application/problem+json")
		ctx.SetStatus(status)
		_ = s.api.Marshal(ctx.BodyWriter(), "application/json", p)
	}
	header := ctx.Header("Authorization")
	scheme, key, ok := strings.Cut(header, " ")
	if header == "" {
		deny(http.StatusUnauthorized, "unauthenticated", "missing Authorization header: send Authorization: Bearer <api key>")
		return
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		deny(http.StatusUnauthorized, "unauthenticated", "the Authorization header must be: Bearer <api key>")
		return
	}
	k, err := s.deps.Store.APIKeyGetByHash(ctx.Context(), HashKey(strings.TrimSpace(key)))
	if errors.Is(err, store.ErrNotFound) {
		deny(http.StatusUnauthorized, "unauthenticated", "unknown API key")
		return
	}
	if err != nil {
		s.deps.Logger.Error("api key lookup failed", "err", err)
		deny(http.StatusInternalServerError, "internal", "cannot check the API key right now")
		return
	}
	if k.ReadOnly && op.Method != http.MethodGet && op.Method != http.MethodHead {
		deny(http.StatusForbidden, "read-only-key", "API key "+k.Name+" is read-only; this operation writes")
		return
	}
	next(huma.WithValue(ctx, apiKeyContextKey{}, k))
}
