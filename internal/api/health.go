package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type healthBody struct {
	Status  string `json:"status" example:"ok"`
	Version string `json:"version,omitempty"`
}

type healthOutput struct{ Body healthBody }

func (s *Server) registerHealth() {
	huma.Register(s.api, op("healthz", http.MethodGet, "/healthz", "Liveness: the process answers", "operations"),
		func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
			return &healthOutput{Body: healthBody{Status: "ok", Version: s.deps.Version}}, nil
		})
	huma.Register(s.api, op("readyz", http.MethodGet, "/readyz", "Readiness: the database answers", "operations", http.StatusServiceUnavailable),
		func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := s.deps.Store.Ping(ctx); err != nil {
				return nil, newProblem(http.StatusServiceUnavailable, "not-ready", "database not reachable: "+err.Error())
			}
			return &healthOutput{Body: healthBody{Status: "ready", Version: s.deps.Version}}, nil
		})
}
