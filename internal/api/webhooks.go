package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/ident"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/webhook"
)

// Page sizes of delivery lists.
const (
	DefaultDeliveryLimit = 50
	MaxDeliveryLimit     = 500
)

// Webhook is an endpoint as the API shows it; its secret is shown once, in
// the answer that created it.
type Webhook struct {
	ID     string   `json:"id" example:"whk_01hx7k3v9q8w6e5r4t3y2u1i0o"`
	URL    string   `json:"url" example:"https://example.com/registrar-events"`
	Events []string `json:"events" doc:"The event types delivered; empty means all."`
	// Enabled is false once delivery gave up; DisabledReason says why.
	Enabled             bool      `json:"enabled"`
	DisabledReason      string    `json:"disabled_reason,omitempty" doc:"Why delivery stopped (410 Gone, or failing for 24 hours)."`
	ConsecutiveFailures int       `json:"consecutive_failures" doc:"Failed attempts since the last success."`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// WebhookCreated is the answer to a create: the endpoint and its secret.
type WebhookCreated struct {
	Webhook
	Secret string `json:"secret" doc:"The signing secret (whsec_...). Shown this once: store it to verify webhook-signature."`
}

func webhookOut(w *store.Webhook) Webhook {
	types := w.Events
	if types == nil {
		types = []string{}
	}
	return Webhook{ID: w.ID, URL: w.URL, Events: types, Enabled: w.Enabled, DisabledReason: w.DisabledReason,
		ConsecutiveFailures: w.ConsecutiveFailures, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

type webhookCreateInput struct {
	Body struct {
		URL    string   `json:"url" minLength:"1" maxLength:"2000" doc:"An absolute http or https URL; redirects are not followed."`
		Events []string `json:"events,omitempty" doc:"Event types to deliver (GET /v1/events lists them); empty or absent means all."`
		Secret string   `json:"secret,omitempty" doc:"A Standard Webhooks secret (whsec_ + base64 of 24 to 64 bytes); generated when absent."`
		From   string   `json:"from,omitempty" enum:"now,start" default:"now" doc:"now: deliver events recorded from now on. start: also replay the whole feed recorded so far."`
	}
}

type webhookCreateOutput struct{ Body WebhookCreated }

type webhookOutput struct{ Body Webhook }

type webhookIDInput struct {
	ID string `path:"id" doc:"Webhook id."`
}

type webhookPatchInput struct {
	ID   string `path:"id" doc:"Webhook id."`
	Body struct {
		URL     *string  `json:"url,omitempty" minLength:"1" maxLength:"2000"`
		Events  []string `json:"events,omitempty" doc:"Replaces the event types; [] means all."`
		Enabled *bool    `json:"enabled,omitempty" doc:"true re-enables a disabled endpoint: delivery resumes where it stopped, with a fresh 24-hour retry window."`
	}
}

// WebhookListBody lists every endpoint.
type WebhookListBody struct {
	Data []Webhook `json:"data"`
}

type webhookListOutput struct{ Body WebhookListBody }

// Delivery is one attempt to deliver one event.
type Delivery struct {
	ID         string `json:"id"`
	EventID    string `json:"event_id" doc:"The event (and webhook-id header) delivered."`
	Attempt    int    `json:"attempt" doc:"1 for the first attempt at this event, then 2, 3..."`
	Succeeded  bool   `json:"succeeded" doc:"The endpoint answered 2xx."`
	StatusCode int    `json:"status_code,omitempty" doc:"The endpoint's HTTP status; absent when it did not answer."`
	Error      string `json:"error,omitempty" doc:"What went wrong: the status and the start of the answer, or the network error."`
	DurationMS int64  `json:"duration_ms"`
	// AttemptedAt is when the attempt was made.
	AttemptedAt time.Time  `json:"attempted_at"`
	NextAttempt *time.Time `json:"next_attempt_at,omitempty" doc:"When this event is tried again; absent after a success or when the endpoint was disabled."`
}

type deliveryListInput struct {
	ID     string `path:"id" doc:"Webhook id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

// DeliveryList is a page of attempts, newest first.
type DeliveryList struct {
	Data       []Delivery `json:"data"`
	NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor to get older attempts; absent on the last page."`
}

type deliveryListOutput struct{ Body DeliveryList }

type deliveryCursor struct {
	V       int    `json:"v"`
	Webhook string `json:"w"`
	Before  string `json:"b"`
}

// webhookURL accepts absolute http(s) URLs only: anything else cannot be
// delivered to, and is better refused now than disabled tomorrow.
func webhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return validationProblem("invalid webhook URL", &huma.ErrorDetail{Location: "body.url",
			Message: "must be an absolute http:// or https:// URL without a fragment", Value: raw})
	}
	return nil
}

// webhookEvents validates and de-duplicates an events filter.
func webhookEvents(values []string) ([]string, error) {
	types, err := eventTypes(values, "body.events")
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, t := range types {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Server) registerWebhooks() {
	create := op("webhooks-create", http.MethodPost, "/v1/webhooks", "Register a webhook endpoint", "webhooks")
	create.DefaultStatus = http.StatusCreated
	create.Description = "Events are POSTed in feed order, signed the Standard Webhooks way (webhook-id = the event id, " +
		"webhook-timestamp, webhook-signature = v1,base64(HMAC-SHA256(\"{id}.{timestamp}.{body}\")) keyed with the " +
		"base64-decoded part of the secret). A 2xx is a success; failures are retried with exponential backoff for 24 hours, " +
		"then the endpoint is disabled (at once on 410 Gone). The secret is returned only in this answer."
	huma.Register(s.api, create, func(ctx context.Context, in *webhookCreateInput) (*webhookCreateOutput, error) {
		b := in.Body
		if err := webhookURL(b.URL); err != nil {
			return nil, err
		}
		types, err := webhookEvents(b.Events)
		if err != nil {
			return nil, err
		}
		secret := b.Secret
		if secret == "" {
			secret = webhook.NewSecret()
		} else if _, err := webhook.ParseSecret(secret); err != nil {
			return nil, validationProblem("invalid webhook secret", &huma.ErrorDetail{Location: "body.secret", Message: err.Error()})
		}
		ct, err := s.deps.Secrets.Seal([]byte(secret))
		if err != nil {
			return nil, err
		}
		now := s.now()
		w := &store.Webhook{ID: ident.New("whk", now), URL: b.URL, Events: types, SecretCiphertext: ct, Enabled: true,
			CreatedAt: now, UpdatedAt: now}
		err = s.deps.Store.InTx(ctx, func(tx store.Tx) error {
			// Read in the write transaction, so no event commits between
			// the read and the endpoint's creation unseen.
			if b.From != "start" {
				end, err := tx.EventLastSeq(ctx)
				if err != nil {
					return err
				}
				w.CursorSeq = end
			}
			return tx.WebhookCreate(ctx, w)
		})
		if err != nil {
			return nil, storeProblem(err, "webhook")
		}
		s.deps.Logger.Info("webhook created", "webhook", w.ID, "from", b.From)
		return &webhookCreateOutput{Body: WebhookCreated{Webhook: webhookOut(w), Secret: secret}}, nil
	})

	huma.Register(s.api, op("webhooks-list", http.MethodGet, "/v1/webhooks", "List webhook endpoints", "webhooks"),
		func(ctx context.Context, _ *struct{}) (*webhookListOutput, error) {
			list, err := s.deps.Store.WebhookList(ctx)
			if err != nil {
				return nil, err
			}
			out := &webhookListOutput{Body: WebhookListBody{Data: make([]Webhook, 0, len(list))}}
			for i := range list {
				out.Body.Data = append(out.Body.Data, webhookOut(&list[i]))
			}
			return out, nil
		})

	huma.Register(s.api, op("webhooks-get", http.MethodGet, "/v1/webhooks/{id}", "Get a webhook endpoint", "webhooks", http.StatusNotFound),
		func(ctx context.Context, in *webhookIDInput) (*webhookOutput, error) {
			w, err := s.deps.Store.WebhookGet(ctx, in.ID)
			if err != nil {
				return nil, storeProblem(err, "webhook "+in.ID)
			}
			return &webhookOutput{Body: webhookOut(w)}, nil
		})

	patch := op("webhooks-update", http.MethodPatch, "/v1/webhooks/{id}", "Change or re-enable a webhook endpoint", "webhooks", http.StatusNotFound)
	patch.Description = "Any change cancels the wait for a scheduled retry: the next attempt is made within seconds. " +
		"A new URL, or re-enabling, starts a fresh 24-hour retry window."
	huma.Register(s.api, patch,
		func(ctx context.Context, in *webhookPatchInput) (*webhookOutput, error) {
			b := in.Body
			if b.URL != nil {
				if err := webhookURL(*b.URL); err != nil {
					return nil, err
				}
			}
			var types []string
			if b.Events != nil {
				var err error
				if types, err = webhookEvents(b.Events); err != nil {
					return nil, err
				}
			}
			var out *store.Webhook
			err := s.deps.Store.InTx(ctx, func(tx store.Tx) error {
				w, err := tx.WebhookGet(ctx, in.ID)
				if err != nil {
					return err
				}
				if b.URL != nil && *b.URL != w.URL {
					// A new address starts a new retry window.
					w.URL, w.ConsecutiveFailures = *b.URL, 0
				}
				if b.Events != nil {
					w.Events = types
				}
				if b.Enabled != nil {
					if *b.Enabled && !w.Enabled {
						// A fresh start: the failure count is what opens
						// the 24-hour window and the backoff.
						w.ConsecutiveFailures, w.DisabledReason = 0, ""
					}
					w.Enabled = *b.Enabled
					if !w.Enabled && w.DisabledReason == "" {
						w.DisabledReason = "disabled through the API"
					}
				}
				w.UpdatedAt = s.now()
				out = w
				return tx.WebhookUpdate(ctx, w)
			})
			if err != nil {
				return nil, storeProblem(err, "webhook "+in.ID)
			}
			return &webhookOutput{Body: webhookOut(out)}, nil
		})

	del := op("webhooks-delete", http.MethodDelete, "/v1/webhooks/{id}", "Delete a webhook endpoint and its delivery history", "webhooks", http.StatusNotFound)
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *webhookIDInput) (*struct{}, error) {
		if err := s.deps.Store.InTx(ctx, func(tx store.Tx) error { return tx.WebhookDelete(ctx, in.ID) }); err != nil {
			return nil, storeProblem(err, "webhook "+in.ID)
		}
		s.deps.Logger.Info("webhook deleted", "webhook", in.ID)
		return nil, nil
	})

	huma.Register(s.api, op("webhook-deliveries-list", http.MethodGet, "/v1/webhooks/{id}/deliveries",
		"List delivery attempts of a webhook endpoint, newest first", "webhooks", http.StatusNotFound),
		func(ctx context.Context, in *deliveryListInput) (*deliveryListOutput, error) {
			if _, err := s.deps.Store.WebhookGet(ctx, in.ID); err != nil {
				return nil, storeProblem(err, "webhook "+in.ID)
			}
			p := store.DeliveryListParams{WebhookID: in.ID, Limit: in.Limit}
			if p.Limit == 0 {
				p.Limit = DefaultDeliveryLimit
			}
			if in.Cursor != "" {
				var c deliveryCursor
				if err := decodeCursor(in.Cursor, &c); err != nil || c.V != 1 || c.Before == "" || c.Webhook != in.ID {
					return nil, badCursor("cursor is not a delivery cursor of this webhook")
				}
				p.Before = c.Before
			}
			want := p.Limit
			p.Limit++ // one more tells whether another page exists
			list, err := s.deps.Store.DeliveryList(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &deliveryListOutput{Body: DeliveryList{Data: make([]Delivery, 0, len(list))}}
			for i, d := range list {
				if i == want {
					out.Body.NextCursor = encodeCursor(deliveryCursor{V: 1, Webhook: in.ID, Before: list[i-1].ID})
					break
				}
				out.Body.Data = append(out.Body.Data, Delivery{ID: d.ID, EventID: d.EventID, Attempt: d.Attempt,
					Succeeded: d.Succeeded, StatusCode: d.StatusCode, Error: d.Error, DurationMS: d.DurationMS,
					AttemptedAt: d.AttemptedAt, NextAttempt: d.NextAttempt})
			}
			return out, nil
		})
}
