package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/app"
)

func newAPIKeyCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys"}
	var name string
	var readOnly bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it once",
		Long:  "Creates an API key. Only its SHA-256 is stored: copy the key now, it cannot be shown again. A running server accepts it at once.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := app.OpenStore(cmd.Context(), g.config())
			if err != nil {
				return err
			}
			defer st.Close()
			key, k, err := app.APIKeyCreate(cmd.Context(), st, name, readOnly, time.Now())
			if err != nil {
				return err
			}
			mode := "read-write"
			if k.ReadOnly {
				mode = "read-only"
			}
			fmt.Fprintln(cmd.OutOrStdout(), key)
			fmt.Fprintf(cmd.ErrOrStderr(), "created %s API key %q (%s); it is shown only this once\n", mode, k.Name, k.ID)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name to tell the key apart (required)")
	create.Flags().BoolVar(&readOnly, "read-only", false, "the key may only read")
	_ = create.MarkFlagRequired("name")
	cmd.AddCommand(create)
	return cmd
}
