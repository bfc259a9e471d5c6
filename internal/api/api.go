// Package api is Registrar's HTTP API: typed huma handlers over the standard
// ServeMux, from which the OpenAPI 3.1 document is generated, RFC 9457
// problems for every error, bearer-key authentication on every /v1 route and
// Prometheus metrics. It converts between the wire and the store or the
// connectors at the edge; it holds no business rules of sync.
package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/secrets"
	"github.com/registrarhq/registrar/internal/store"

	gojson "github.com/goccy/go-json"
)

// MaxBodyBytes bounds request bodies; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Connectors builds a connector for a stored connection (decrypting its
// credentials); the API uses it for live reads, tests and writes.
type Connectors interface {
	Connector(ctx context.Context, c *store.Connection) (provider.Reader, error)
}

// Syncs starts sync runs; nil until the sync engine is wired.
type Syncs interface {
	// SyncStart starts (or returns the already active) run of a connection.
	SyncStart(ctx context.Context, connectionID string, full bool, trigger string) (*store.SyncRun, error)
}

// Deps is what the API needs.
type Deps struct {
	Store      store.Store
	Secrets    *secrets.Box
	Providers  []*provider.Definition
	Connectors Connectors
	Syncs      Syncs
	Metrics    *prometheus.Registry
	Logger     *slog.Logger
	Now        func() time.Time
	Version    string
}

// Server is the HTTP API.
type Server struct {
	deps      Deps
	api       huma.API
	mux       *http.ServeMux
	handler   http.Handler
	providers map[string]*provider.Definition
}

// New builds the API and registers every route.
func New(deps Deps) *Server {
	installProblemErrors()
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	if deps.Version == "" {
		deps.Version = "dev"
	}
	s := &Server{deps: deps, mux: http.NewServeMux(), providers: map[string]*provider.Definition{}}
	for _, d := range deps.Providers {
		s.providers[d.Name] = d
	}
	cfg := huma.DefaultConfig("Registrar API", deps.Version)
	cfg.Info.Description = "One API for the course enrollments of Canvas, Absorb and DigitalChalk: a stored, " +
		"always-fresh copy, a change feed, webhooks and write-back. Every /v1 route needs `Authorization: Bearer <api key>`; " +
		"errors are RFC 9457 problem details (application/problem+json)."
	cfg.OpenAPIPath = "/openapi"
	// Responses are encoded with goccy/go-json (same bytes as huma's default
	// encoding/json encoder without HTML escaping, faster on large pages).
	// Bodies that write their own JSON (enrollment lists) do so.
	jsonFormat := huma.Format{
		Marshal: func(w io.Writer, v any) error {
			if jw, ok := v.(jsonWriter); ok {
				return jw.writeJSON(w)
			}
			return encodeJSON(w, v)
		},
		Unmarshal: huma.DefaultJSONFormat.Unmarshal,
	}
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	cfg.CreateHooks = nil // no $schema links in bodies: clients get plain objects
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API key made with `registrar apikey create`."},
	}
	s.api = humago.New(s.mux, cfg)
	s.api.UseMiddleware(s.authenticate)
	s.registerHealth()
	s.registerConnections()
	s.registerEnrollments()
	s.registerWrites()
	s.registerPeople()
	s.registerProviders()
	s.registerSyncs()
	s.registerEvents()
	s.registerWebhooks()
	s.mux.HandleFunc("/", s.notFound)
	s.handler = s.instrument(s.mux)
	return s
}

// encodeJSON writes v as JSON with goccy/go-json, without HTML escaping.
func encodeJSON(w io.Writer, v any) error {
	enc := gojson.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI returns the generated OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// errorStatuses every authenticated operation can return.
var authErrors = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusInternalServerError}

// op describes an operation; v1 routes require authentication.
func op(id, method, path, summary, tag string, errs ...int) huma.Operation {
	o := huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         path,
		Summary:      summary,
		Tags:         []string{tag},
		MaxBodyBytes: MaxBodyBytes,
	}
	if strings.HasPrefix(path, "/v1/") {
		o.Security = []map[string][]string{{"bearer": {}}}
		o.Errors = append(o.Errors, authErrors...)
		if method != http.MethodGet {
			o.Errors = append(o.Errors, http.StatusForbidden, http.StatusRequestEntityTooLarge)
		}
	}
	o.Errors = append(o.Errors, errs...)
	return o
}

// instrument counts requests and their latency by route and status.
func (s *Server) instrument(next http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "registrar_http_requests_total",
		Help: "HTTP requests answered, by method, route and status.",
	}, []string{"method", "route", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "registrar_http_request_duration_seconds",
		Help:    "HTTP request latency, by method and route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	s.deps.Metrics.MustRegister(requests, latency)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// ServeMux sets r.Pattern while routing; unmatched requests share one
		// label so that scanners cannot blow up the metric's cardinality.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		} else if i := strings.IndexByte(route, ' '); i >= 0 {
			route = route[i+1:]
		}
		requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
		latency.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) now() time.Time { return s.deps.Now().UTC() }

// effective returns the record as a reader sees it now.
func (s *Server) effective(e lms.CourseEnrollment) lms.CourseEnrollment { return e.Effective(s.now()) }

// notFound answers requests no route matched with a problem: 405 with Allow
// when the path exists for other methods, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	p := newProblem(http.StatusNotFound, "not-found", "no route "+r.URL.Path)
	if len(allowed) > 0 {
		p = newProblem(http.StatusMethodNotAllowed, "method-not-allowed", r.Method+" is not allowed on "+r.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
