package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// storedFilters are the filters of the stored enrollment lists; every
// provider supports them because they run on Registrar's copy.
var storedFilters = []string{"connection_id", "provider", "tenant", "user_id", "user_email", "course_id", "status",
	"updated_after", "due_before", "include_deleted"}

// ProviderInfo describes a provider: how to connect it and what it can do.
type ProviderInfo struct {
	Name     string             `json:"name" example:"canvas"`
	Title    string             `json:"title" example:"Canvas LMS"`
	Settings []provider.Setting `json:"settings" doc:"Connection settings; secret ones go in credentials."`
	Capabilities
	Notes []string `json:"notes,omitempty" doc:"Limits to know about."`
}

// Capabilities is what a provider can read and write, derived from the
// interfaces its connector implements.
type Capabilities struct {
	Provider string `json:"provider" example:"absorb"`
	// Writes lists the write capabilities.
	Writes []lms.Capability `json:"writes" doc:"Write capabilities: enroll, reenroll, score, set_status, complete, withdraw, reactivate, invitation, lesson_attempts."`
	// Sync is "incremental" when the LMS can list changes since a time.
	Sync          string   `json:"sync" enum:"full,incremental" doc:"incremental when the LMS filters by modification time; full syncs always compare content hashes."`
	Fields        []string `json:"fields" doc:"Unified fields the connector fills when the LMS has the value."`
	Filters       []string `json:"filters" doc:"Filters of the stored enrollment list."`
	WithdrawModes []string `json:"withdraw_modes,omitempty" doc:"Values of DELETE ?mode=."`
	StatusTargets []string `json:"status_targets,omitempty" doc:"Statuses PATCH can set."`
	LiveReads     bool     `json:"live_reads" doc:"Whether mode=live reads through to the LMS."`
}

func capabilitiesOf(d *provider.Definition) Capabilities {
	c := Capabilities{Provider: d.Name, Sync: "full", Fields: d.Fields, Filters: storedFilters, LiveReads: d.Prototype != nil}
	if c.Fields == nil {
		c.Fields = []string{}
	}
	for _, cap := range d.Capabilities() {
		if cap == lms.CapabilityIncrementalSync {
			c.Sync = "incremental"
			continue
		}
		c.Writes = append(c.Writes, cap)
	}
	if c.Writes == nil {
		c.Writes = []lms.Capability{}
	}
	if w, ok := d.Prototype.(provider.Withdrawer); ok {
		c.WithdrawModes = w.WithdrawModes()
	}
	for _, st := range statusTargets(d.Prototype) {
		c.StatusTargets = append(c.StatusTargets, string(st))
	}
	return c
}

// statusTargets lists the statuses PATCH can move an enrollment to with this
// connector, from the interfaces it implements.
func statusTargets(r provider.Reader) []lms.Status {
	seen := map[lms.Status]bool{}
	var out []lms.Status
	add := func(s lms.Status) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if ss, ok := r.(provider.StatusSetter); ok {
		for _, s := range ss.SettableStatuses() {
			add(s)
		}
	}
	if _, ok := r.(provider.Completer); ok {
		add(lms.StatusCompleted)
	}
	if _, ok := r.(provider.Withdrawer); ok {
		add(lms.StatusWithdrawn)
	}
	if _, ok := r.(provider.Reactivator); ok {
		add(lms.StatusEnrolled)
	}
	return out
}

type providersOutput struct {
	Body struct {
		Data []ProviderInfo `json:"data"`
	}
}

type capabilitiesOutput struct {
	Body struct {
		Data []Capabilities `json:"data"`
	}
}

func (s *Server) registerProviders() {
	huma.Register(s.api, op("providers-list", http.MethodGet, "/v1/providers", "List providers with their settings and capabilities", "providers"),
		func(ctx context.Context, _ *struct{}) (*providersOutput, error) {
			out := &providersOutput{}
			out.Body.Data = []ProviderInfo{}
			for _, d := range s.deps.Providers {
				out.Body.Data = append(out.Body.Data, ProviderInfo{Name: d.Name, Title: d.Title, Settings: d.Settings,
					Capabilities: capabilitiesOf(d), Notes: d.Notes})
			}
			return out, nil
		})
	huma.Register(s.api, op("capabilities-list", http.MethodGet, "/v1/capabilities", "The capability matrix: what each provider can read and write", "providers"),
		func(ctx context.Context, _ *struct{}) (*capabilitiesOutput, error) {
			out := &capabilitiesOutput{}
			out.Body.Data = []Capabilities{}
			for _, d := range s.deps.Providers {
				out.Body.Data = append(out.Body.Data, capabilitiesOf(d))
			}
			return out, nil
		})
}
