// Package cli holds Registrar's commands. Each command writes to the
// writers it is given and returns an error; Main turns an error into one line
// on stderr and a non-zero exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/registrarhq/registrar/internal/app"
)

// EnvPrefix prefixes the environment variable of every flag:
// --data-dir falls back to REGISTRAR_DATA_DIR.
const EnvPrefix = "REGISTRAR_"

// DefaultDataDir is where the embedded database lives unless told otherwise.
const DefaultDataDir = "./registrar-data"

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "registrar: "+oneLine(err.Error()))
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// globalOptions are the flags every store-opening command shares.
type globalOptions struct {
	dataDir     string
	databaseURL string
	logFormat   string
	logLevel    string
	stderr      io.Writer
}

func (g *globalOptions) config() app.Config {
	return app.Config{
		DataDir:     g.dataDir,
		DatabaseURL: g.databaseURL,
		SecretKey:   os.Getenv(EnvPrefix + "SECRET_KEY"),
		Logger:      g.logger(),
	}
}

// logger logs text on a terminal and JSON otherwise (for log collectors).
func (g *globalOptions) logger() *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(g.logLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := g.logFormat
	if format == "" || format == "auto" {
		format = "json"
		if f, ok := g.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(g.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(g.stderr, opts))
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{stderr: stderr}
	root := &cobra.Command{
		Use:   "registrar",
		Short: "One API for the course enrollments of Canvas, Absorb and DigitalChalk",
		Long: "Registrar keeps a fresh copy of your customers' LMS enrollments, serves them through one API with a change " +
			"feed and webhooks, and writes enrollments, grades and withdrawals back.\n\n" +
			"Every flag can also be set with an environment variable: --data-dir is REGISTRAR_DATA_DIR, and so on.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return applyEnv(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data-dir", DefaultDataDir, "directory of the embedded database and the secret key file")
	pf.StringVar(&g.databaseURL, "database-url", "", "PostgreSQL URL (postgres://...); empty uses SQLite in --data-dir")
	pf.StringVar(&g.logFormat, "log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")

	root.AddCommand(
		newDemoCommand(g),
		newServeCommand(g),
		newMigrateCommand(g),
		newAPIKeyCommand(g),
		newConnectionsCommand(g),
		newSyncCommand(g),
		newEnrollmentsCommand(),
		newSimCommand(),
		newWebhooksCommand(),
		newVersionCommand(),
		newBenchCommand(),
	)
	return root
}

// noEnvAnnotation marks a command whose own flags do not read REGISTRAR_*
// variables: the simulator's vendor credentials (--token, --api-key) share
// names with Registrar's own settings and must not pick them up.
const noEnvAnnotation = "registrar/no-env"

// applyEnv fills every flag the user did not set from REGISTRAR_<FLAG>. It
// sets them through the flag set, so they count as given and satisfy
// required flags (cobra checks those after this runs).
func applyEnv(cmd *cobra.Command) error {
	var errs []error
	local := cmd.LocalNonPersistentFlags()
	skipLocal := cmd.Annotations[noEnvAnnotation] == "true"
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || (skipLocal && local.Lookup(f.Name) != nil) {
			return
		}
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := cmd.Flags().Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "registrar", app.Version)
			return nil
		},
	}
}

func newMigrateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := app.OpenStore(cmd.Context(), g.config())
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintln(cmd.OutOrStdout(), "database is up to date")
			return nil
		},
	}
}
