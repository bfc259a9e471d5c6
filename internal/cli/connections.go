package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/store"
)

// withApp opens the app (store, secrets, providers) for a command that
// works on the data directory directly, also while serve runs on it.
func withApp(ctx context.Context, g *globalOptions, fn func(a *app.App) error) error {
	a, err := app.New(ctx, g.config())
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// findConnection accepts a connection's name or id.
func findConnection(ctx context.Context, st store.Store, ref string) (*store.Connection, error) {
	c, err := st.ConnectionGetByName(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		c, err = st.ConnectionGet(ctx, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no connection named %q (registrar connections list shows them)", ref)
	}
	return c, err
}

func parsePairs(flag string, pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: use name=value", flag, p)
		}
		out[k] = v
	}
	return out, nil
}

// problemMessage renders an API problem as one line.
func problemMessage(err error) error {
	var p *api.Problem
	if !errors.As(err, &p) {
		return err
	}
	msg := p.Detail
	var parts []string
	for _, e := range p.Errors {
		loc := strings.TrimPrefix(e.Location, "body.")
		parts = append(parts, loc+" "+e.Message)
	}
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return errors.New(msg)
}

func newConnectionsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "connections", Aliases: []string{"connection"}, Short: "Manage connections to LMS accounts"}

	var p api.ConnectionCreateParams
	var settings, creds []string
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a connection",
		Example: `  registrar connections add --provider canvas --name acme-canvas \
    --setting base_url=https://acme.instructure.com --setting account_id=1 --credential token=$CANVAS_TOKEN`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if p.Settings, err = parsePairs("setting", settings); err != nil {
				return err
			}
			if p.Credentials, err = parsePairs("credential", creds); err != nil {
				return err
			}
			return withApp(cmd.Context(), g, func(a *app.App) error {
				c, err := a.API.ConnectionCreate(cmd.Context(), p)
				if err != nil {
					return problemMessage(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created connection %s (%s, %s)\n", c.Name, c.ID, c.Provider)
				return nil
			})
		},
	}
	add.Flags().StringVar(&p.Provider, "provider", "", "canvas, absorb or digitalchalk")
	add.Flags().StringVar(&p.Name, "name", "", "a unique name")
	add.Flags().StringVar(&p.Tenant, "tenant", "", "your own customer id for this connection")
	add.Flags().StringVar(&p.SyncInterval, "sync-interval", "", "how often to sync (default 15m, minimum 1m)")
	add.Flags().StringArrayVar(&settings, "setting", nil, "a setting as name=value (repeatable)")
	add.Flags().StringArrayVar(&creds, "credential", nil, "a credential as name=value (repeatable; stored encrypted)")
	_ = add.MarkFlagRequired("provider")
	_ = add.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List connections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := app.OpenStore(cmd.Context(), g.config())
			if err != nil {
				return err
			}
			defer st.Close()
			conns, err := st.ConnectionList(cmd.Context(), store.ConnectionListParams{})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tPROVIDER\tTENANT\tLAST SYNC\tSTATUS")
			for _, c := range conns {
				last := "never"
				if c.LastSyncAt != nil {
					last = c.LastSyncAt.Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.ID, c.Provider, c.Tenant, last, c.LastSyncStatus)
			}
			return w.Flush()
		},
	}

	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a connection and its stored data",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := app.OpenStore(cmd.Context(), g.config())
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := findConnection(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			if err := st.InTx(cmd.Context(), func(tx store.Tx) error { return tx.ConnectionDelete(cmd.Context(), c.ID) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed connection %s (%s)\n", c.Name, c.ID)
			return nil
		},
	}

	test := &cobra.Command{
		Use:   "test NAME",
		Short: "Check a connection's settings and credentials against its LMS",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd.Context(), g, func(a *app.App) error {
				c, err := findConnection(cmd.Context(), a.Store, args[0])
				if err != nil {
					return err
				}
				if err := a.API.ConnectionTest(cmd.Context(), c); err != nil {
					return fmt.Errorf("connection %s failed its test: %w", c.Name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "connection %s works: %s accepted its settings and credentials\n", c.Name, c.Provider)
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, remove, test)
	return cmd
}
