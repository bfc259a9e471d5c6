package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/ident"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/store"
)

// Connection sync intervals.
const (
	DefaultSyncInterval = 15 * time.Minute
	MinSyncInterval     = time.Minute
)

// Connection is a connection as the API shows it: credentials are
// write-only, so only which of them are set is shown.
type Connection struct {
	ID           string            `json:"id" example:"con_01hx7k3v9q8w6e5r4t3y2u1i0o"`
	Provider     string            `json:"provider" example:"canvas"`
	Name         string            `json:"name" example:"Acme Canvas"`
	Tenant       string            `json:"tenant,omitempty" doc:"Your own customer id for this connection; filterable everywhere." example:"acme"`
	Settings     map[string]string `json:"settings" doc:"Plain settings of the provider (base_url, account_id, ...)."`
	Credentials  map[string]bool   `json:"credentials" doc:"Which credential fields are set (true). Values are never returned."`
	SyncInterval string            `json:"sync_interval" doc:"How often the connection is synced, as a duration." example:"15m0s"`
	Paused       bool              `json:"paused" doc:"Scheduled syncs are paused (on-demand syncs still run)."`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Health       ConnectionHealth  `json:"health"`
}

// ConnectionHealth summarises the last syncs.
type ConnectionHealth struct {
	LastSyncAt     *time.Time `json:"last_sync_at,omitempty"`
	LastSyncStatus string     `json:"last_sync_status,omitempty" enum:"succeeded,failed"`
	LastSyncError  string     `json:"last_sync_error,omitempty"`
	LastFullSyncAt *time.Time `json:"last_full_sync_at,omitempty"`
}

func (s *Server) connectionOut(c *store.Connection) Connection {
	creds := map[string]bool{}
	if d := s.providers[c.Provider]; d != nil {
		for _, n := range d.SecretNames() {
			creds[n] = false
		}
	}
	for _, n := range c.SecretNames {
		creds[n] = true
	}
	settings := c.Settings
	if settings == nil {
		settings = map[string]string{}
	}
	return Connection{
		ID: c.ID, Provider: c.Provider, Name: c.Name, Tenant: c.Tenant, Settings: settings, Credentials: creds,
		SyncInterval: c.SyncInterval.String(), Paused: c.Paused, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Health: ConnectionHealth{LastSyncAt: c.LastSyncAt, LastSyncStatus: c.LastSyncStatus, LastSyncError: c.LastSyncError,
			LastFullSyncAt: c.LastFullSyncAt},
	}
}

type connectionOutput struct{ Body Connection }

// ConnectionCreateParams is a new connection, as the API and the CLI take it.
type ConnectionCreateParams struct {
	Provider     string            `json:"provider" doc:"canvas, absorb or digitalchalk (GET /v1/providers lists them with their settings)."`
	Name         string            `json:"name" minLength:"1" maxLength:"200" doc:"A unique name, used by the CLI."`
	Tenant       string            `json:"tenant,omitempty" maxLength:"200"`
	Settings     map[string]string `json:"settings,omitempty" doc:"The provider's plain settings."`
	Credentials  map[string]string `json:"credentials,omitempty" doc:"The provider's credentials; encrypted at rest and never returned."`
	SyncInterval string            `json:"sync_interval,omitempty" doc:"A duration such as 15m or 1h; default 15m, minimum 1m."`
	Paused       bool              `json:"paused,omitempty"`
}

// ConnectionCreate validates, encrypts and stores a new connection, then
// starts its first sync when syncs are wired.
func (s *Server) ConnectionCreate(ctx context.Context, b ConnectionCreateParams) (*store.Connection, error) {
	d, err := s.providerFor(b.Provider)
	if err != nil {
		return nil, err
	}
	if b.Name == "" {
		return nil, validationProblem("invalid connection", &huma.ErrorDetail{Location: "body.name", Message: "is required"})
	}
	if err := validateSettings(d, b.Settings, b.Credentials); err != nil {
		return nil, err
	}
	interval, err := parseInterval(b.SyncInterval)
	if err != nil {
		return nil, err
	}
	ct, names, err := s.sealCredentials(b.Credentials)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &store.Connection{
		ID: ident.New("con", now), Provider: d.Name, Name: b.Name, Tenant: b.Tenant, Settings: b.Settings,
		SecretsCiphertext: ct, SecretNames: names, SyncInterval: interval, Paused: b.Paused,
		CreatedAt: now, UpdatedAt: now,
	}
	if c.Settings == nil {
		c.Settings = map[string]string{}
	}
	if err := s.deps.Store.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionCreate(ctx, c) }); err != nil {
		return nil, storeProblem(err, "connection")
	}
	s.deps.Logger.Info("connection created", "connection", c.ID, "provider", c.Provider)
	if s.deps.Syncs != nil {
		// The first sync starts on creation, so reads fill without waiting
		// for the schedule. A failure to start is logged, not fatal: the
		// connection exists and the schedule will retry.
		if _, err := s.deps.Syncs.SyncStart(ctx, c.ID, true, "created"); err != nil {
			s.deps.Logger.Warn("first sync did not start", "connection", c.ID, "err", err)
		}
	}
	return c, nil
}

type connectionCreateInput struct {
	Body ConnectionCreateParams
}

type connectionPatchInput struct {
	ID   string `path:"cid"`
	Body struct {
		Name         *string            `json:"name,omitempty" minLength:"1" maxLength:"200"`
		Tenant       *string            `json:"tenant,omitempty" maxLength:"200"`
		Settings     map[string]*string `json:"settings,omitempty" doc:"Settings to change; null removes one."`
		Credentials  map[string]*string `json:"credentials,omitempty" doc:"Credentials to replace; null removes one."`
		SyncInterval *string            `json:"sync_interval,omitempty"`
		Paused       *bool              `json:"paused,omitempty"`
	}
}

type connectionIDInput struct {
	ID string `path:"cid" doc:"Connection id."`
}

type connectionListInput struct {
	Provider string `query:"provider" doc:"Only connections of this provider."`
	Tenant   string `query:"tenant" doc:"Only connections of this tenant."`
}

type connectionListOutput struct {
	Body struct {
		Data []Connection `json:"data"`
	}
}

func parseInterval(v string) (time.Duration, error) {
	if v == "" {
		return DefaultSyncInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, validationProblem("invalid sync_interval", &huma.ErrorDetail{Location: "body.sync_interval", Message: "must be a duration such as 15m or 1h", Value: v})
	}
	if d < MinSyncInterval {
		return 0, validationProblem("invalid sync_interval", &huma.ErrorDetail{Location: "body.sync_interval", Message: "must be at least 1m", Value: v})
	}
	return d, nil
}

// validateSettings checks settings as the definition declares them, then
// builds the connector (which makes no network call) so that checks only the
// connector knows (ranges, enums, path overrides, time zones) fail at create
// time instead of at the first sync.
func validateSettings(d *provider.Definition, settings, creds map[string]string) error {
	if err := d.Validate(settings, creds); err != nil {
		return settingsProblem(err)
	}
	if d.New == nil {
		return nil
	}
	if _, err := d.New(provider.Config{Settings: settings, Secrets: creds}); err != nil {
		var ve *provider.ValidationError
		if errors.As(err, &ve) {
			return settingsProblem(err)
		}
		return validationProblem("invalid connection settings", &huma.ErrorDetail{Location: "body.settings", Message: err.Error()})
	}
	return nil
}

// settingsProblem turns a provider validation error into field errors.
func settingsProblem(err error) error {
	var ve *provider.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	p := validationProblem("invalid connection settings")
	for _, f := range ve.Fields {
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message})
	}
	return p
}

func (s *Server) sealCredentials(creds map[string]string) ([]byte, []string, error) {
	names := make([]string, 0, len(creds))
	for k, v := range creds {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	plain, err := json.Marshal(creds)
	if err != nil {
		return nil, nil, err
	}
	ct, err := s.deps.Secrets.Seal(plain)
	return ct, names, err
}

// OpenCredentials decrypts a connection's credentials.
func OpenCredentials(box interface{ Open([]byte) ([]byte, error) }, c *store.Connection) (map[string]string, error) {
	creds := map[string]string{}
	if len(c.SecretsCiphertext) == 0 {
		return creds, nil
	}
	plain, err := box.Open(c.SecretsCiphertext)
	if err != nil {
		return nil, fmt.Errorf("connection %s credentials: %w", c.ID, err)
	}
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, fmt.Errorf("connection %s credentials: %w", c.ID, err)
	}
	return creds, nil
}

func (s *Server) providerFor(name string) (*provider.Definition, error) {
	d, ok := s.providers[name]
	if !ok {
		names := make([]string, 0, len(s.providers))
		for n := range s.providers {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, validationProblem("unknown provider", &huma.ErrorDetail{Location: "body.provider",
			Message: "must be one of " + strings.Join(names, ", "), Value: name})
	}
	return d, nil
}

func (s *Server) registerConnections() {
	create := op("connections-create", http.MethodPost, "/v1/connections", "Create a connection", "connections", http.StatusConflict)
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create,
		func(ctx context.Context, in *connectionCreateInput) (*connectionOutput, error) {
			c, err := s.ConnectionCreate(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &connectionOutput{Body: s.connectionOut(c)}, nil
		})

	huma.Register(s.api, op("connections-list", http.MethodGet, "/v1/connections", "List connections", "connections"),
		func(ctx context.Context, in *connectionListInput) (*connectionListOutput, error) {
			list, err := s.deps.Store.ConnectionList(ctx, store.ConnectionListParams{Provider: in.Provider, Tenant: in.Tenant})
			if err != nil {
				return nil, err
			}
			out := &connectionListOutput{}
			out.Body.Data = make([]Connection, 0, len(list))
			for i := range list {
				out.Body.Data = append(out.Body.Data, s.connectionOut(&list[i]))
			}
			return out, nil
		})

	huma.Register(s.api, op("connections-get", http.MethodGet, "/v1/connections/{cid}", "Get a connection", "connections", http.StatusNotFound),
		func(ctx context.Context, in *connectionIDInput) (*connectionOutput, error) {
			c, err := s.deps.Store.ConnectionGet(ctx, in.ID)
			if err != nil {
				return nil, storeProblem(err, "connection "+in.ID)
			}
			return &connectionOutput{Body: s.connectionOut(c)}, nil
		})

	huma.Register(s.api, op("connections-update", http.MethodPatch, "/v1/connections/{cid}", "Change a connection", "connections", http.StatusNotFound, http.StatusConflict),
		func(ctx context.Context, in *connectionPatchInput) (*connectionOutput, error) {
			var out *store.Connection
			err := s.deps.Store.InTx(ctx, func(tx store.Tx) error {
				c, err := tx.ConnectionGet(ctx, in.ID)
				if err != nil {
					return storeProblem(err, "connection "+in.ID)
				}
				b := in.Body
				if b.Name != nil {
					c.Name = *b.Name
				}
				if b.Tenant != nil {
					c.Tenant = *b.Tenant
				}
				if b.Paused != nil {
					c.Paused = *b.Paused
				}
				if b.SyncInterval != nil {
					if c.SyncInterval, err = parseInterval(*b.SyncInterval); err != nil {
						return err
					}
				}
				settings := map[string]string{}
				for k, v := range c.Settings {
					settings[k] = v
				}
				mergeInto(settings, b.Settings)
				creds, err := OpenCredentials(s.deps.Secrets, c)
				if err != nil {
					return err
				}
				mergeInto(creds, b.Credentials)
				if err := validateSettings(s.providers[c.Provider], settings, creds); err != nil {
					return err
				}
				c.Settings = settings
				if b.Credentials != nil {
					if c.SecretsCiphertext, c.SecretNames, err = s.sealCredentials(creds); err != nil {
						return err
					}
				}
				c.UpdatedAt = s.now()
				out = c
				return storeProblem(tx.ConnectionUpdate(ctx, c), "connection")
			})
			if err != nil {
				return nil, err
			}
			return &connectionOutput{Body: s.connectionOut(out)}, nil
		})

	del := op("connections-delete", http.MethodDelete, "/v1/connections/{cid}", "Delete a connection and its stored data", "connections", http.StatusNotFound)
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del,
		func(ctx context.Context, in *connectionIDInput) (*struct{}, error) {
			err := s.deps.Store.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionDelete(ctx, in.ID) })
			if err != nil {
				return nil, storeProblem(err, "connection "+in.ID)
			}
			s.deps.Logger.Info("connection deleted", "connection", in.ID)
			return nil, nil
		})

	huma.Register(s.api, op("connections-test", http.MethodPost, "/v1/connections/{cid}/test",
		"Check a connection's settings and credentials against the LMS", "connections", http.StatusNotFound),
		func(ctx context.Context, in *connectionIDInput) (*connectionTestOutput, error) {
			c, err := s.deps.Store.ConnectionGet(ctx, in.ID)
			if err != nil {
				return nil, storeProblem(err, "connection "+in.ID)
			}
			out := &connectionTestOutput{}
			out.Body.ConnectionID = c.ID
			out.Body.Provider = c.Provider
			start := time.Now()
			err = s.ConnectionTest(ctx, c)
			out.Body.DurationMS = time.Since(start).Milliseconds()
			if err != nil {
				out.Body.OK = false
				out.Body.Error = err.Error()
				out.Body.Kind = string(provider.KindOf(err))
				return out, nil
			}
			out.Body.OK = true
			return out, nil
		})
}

type connectionTestOutput struct {
	Body struct {
		ConnectionID string `json:"connection_id"`
		Provider     string `json:"provider"`
		OK           bool   `json:"ok" doc:"Whether the LMS accepted the settings and credentials."`
		Kind         string `json:"kind,omitempty" doc:"What failed: authentication, permission, unavailable, not_found, upstream..."`
		Error        string `json:"error,omitempty" doc:"What failed, exactly."`
		DurationMS   int64  `json:"duration_ms"`
	}
}

// ConnectionTest checks a connection against its LMS; the error says what failed.
func (s *Server) ConnectionTest(ctx context.Context, c *store.Connection) error {
	if s.deps.Connectors == nil {
		return errors.New("connectors are not configured")
	}
	conn, err := s.deps.Connectors.Connector(ctx, c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if t, ok := conn.(provider.ConnectionTester); ok {
		return t.ConnectionTest(ctx)
	}
	_, err = conn.EnrollmentPage(ctx, provider.EnrollmentPageParams{})
	return err
}

func mergeInto(dst map[string]string, changes map[string]*string) {
	for k, v := range changes {
		if v == nil || *v == "" {
			delete(dst, k)
		} else {
			dst[k] = *v
		}
	}
}
