package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/webhook"
)

// newWebhooksCommand holds webhook tools. `listen` is a receiver for trying
// webhooks locally: it verifies each delivery's signature the Standard
// Webhooks way and prints it, dropping retried duplicates by webhook-id.
func newWebhooksCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Webhook tools"}
	var addr, secret string
	listen := &cobra.Command{
		Use:   "listen",
		Short: "Receive webhooks locally: verify signatures and print each event once",
		Long: "Runs a webhook receiver on --addr. Each delivery's signature is checked with --secret (the whsec_... value " +
			"POST /v1/webhooks returned); a bad signature gets 401 and is reported. Duplicates (retries of a delivery that " +
			"already arrived) are recognised by webhook-id and printed only once. Ctrl-C stops it.",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{noEnvAnnotation: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := webhook.ParseSecret(secret); err != nil {
				return fmt.Errorf("--secret: %w", err)
			}
			ln, err := listen(addr)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var mu sync.Mutex
			seen := map[string]bool{}
			srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
				if err != nil {
					http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
					return
				}
				if err := webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultTolerance); err != nil {
					fmt.Fprintf(out, "REJECTED %s: %v\n", r.Header.Get(webhook.HeaderID), err)
					http.Error(w, "bad signature", http.StatusUnauthorized)
					return
				}
				id := r.Header.Get(webhook.HeaderID)
				mu.Lock()
				dup := seen[id]
				seen[id] = true
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
				if dup {
					return
				}
				var e struct {
					Type string    `json:"type"`
					Time time.Time `json:"time"`
					Data struct {
						EnrollmentID   string `json:"enrollment_id"`
						Status         string `json:"status"`
						PreviousStatus string `json:"previous_status"`
						ConnectionID   string `json:"connection_id"`
					} `json:"data"`
				}
				_ = json.Unmarshal(body, &e)
				line := fmt.Sprintf("verified %s %s %s", id, e.Type, e.Data.ConnectionID)
				if e.Data.EnrollmentID != "" {
					line += " enrollment " + e.Data.EnrollmentID
				}
				if e.Data.PreviousStatus != "" {
					line += fmt.Sprintf(" %s -> %s", e.Data.PreviousStatus, e.Data.Status)
				} else if e.Data.Status != "" {
					line += " " + e.Data.Status
				}
				fmt.Fprintln(out, line)
			})}
			fmt.Fprintf(out, "listening for webhooks on http://%s\n", ln.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-cmd.Context().Done():
				return srv.Close()
			}
		},
	}
	listen.Flags().StringVar(&addr, "addr", "127.0.0.1:9999", "address to receive webhooks on")
	listen.Flags().StringVar(&secret, "secret", "", "the webhook's signing secret (whsec_...)")
	_ = listen.MarkFlagRequired("secret")
	cmd.AddCommand(listen)
	return cmd
}
