package cli

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/app"
)

// DefaultAddr is where serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8080"

func newServeCommand(g *globalOptions) *cobra.Command {
	var addr string
	var syncCfg app.SyncConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Listen before opening anything, so a taken port is a clear error
			// and not a half-started server.
			ln, err := listen(addr)
			if err != nil {
				return err
			}
			defer ln.Close()
			cfg := g.config()
			cfg.Sync = syncCfg
			a, err := app.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			cfg.Logger.Info("registrar serving", "url", "http://"+ln.Addr().String(), "data_dir", cfg.DataDir, "version", app.Version)
			fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s\n", ln.Addr())
			return a.Serve(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", DefaultAddr, "address to listen on (host:port)")
	addSyncFlags(cmd, &syncCfg)
	return cmd
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: the port is already in use (pick another with --addr)", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}
