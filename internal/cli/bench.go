package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/bench"
)

// benchChildCommand is the hidden subcommand that runs one sync in its own
// process, so that the bench can read that process's peak memory without
// the simulator's.
const benchChildCommand = "bench-sync-process"

func newBenchCommand() *cobra.Command {
	o := bench.Options{}
	var jsonFile string
	var memory bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sync speed, API reads and memory against the simulators",
		Long: "Starts simulators and Registrar in a temporary data directory and measures, per provider: a full sync of N " +
			"enrollments against a bare fetch of the same pages, a re-sync with nothing changed, an incremental sync after " +
			"0.1% changed (Absorb), a sync under a simulator rate limit, API list reads with concurrent clients, and the " +
			"peak memory of a sync process at N and 10×N (the API reads are repeated on the 10×N store). " +
			"docs/performance.md has the goals and the latest figures.",
		Example: "  registrar bench\n  registrar bench --provider canvas --enrollments 100000 --json bench.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Log = cmd.ErrOrStderr()
			if memory {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				o.Child = func(ctx context.Context, args []string) *exec.Cmd {
					return exec.CommandContext(ctx, exe, append([]string{"bench", benchChildCommand}, args...)...)
				}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			rep, err := bench.Run(cmd.Context(), o)
			if rep != nil && len(rep.Providers) > 0 {
				bench.Print(cmd.OutOrStdout(), rep)
			}
			if err != nil {
				return err
			}
			if jsonFile != "" {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				return os.WriteFile(jsonFile, append(b, '\n'), 0o644)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Enrollments, "enrollments", 100_000, "N: enrollments of the full sync")
	f.StringSliceVar(&o.Providers, "provider", bench.Providers(), "providers to measure (repeatable)")
	f.IntVar(&o.Repeat, "repeat", 1, "full syncs (and bare fetches) to run; the medians are reported")
	f.Float64Var(&o.RateLimit, "rate-limit", 20, "R: the simulator's rate limit (requests/s) for the rate-limit run")
	f.Float64Var(&o.RateSeconds, "rate-seconds", 10, "about how long the rate-limit run lasts")
	f.IntVar(&o.Clients, "clients", 50, "concurrent API clients")
	f.DurationVar(&o.APIDuration, "api-duration", 3*time.Second, "how long each API read is measured")
	f.IntVar(&o.MemoryScale, "memory-scale", 10, "the second memory measure syncs this many times N")
	f.BoolVar(&memory, "memory", true, "measure the peak memory of sync processes (at N and --memory-scale×N)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (simulators, syncs and API) to this file")
	f.StringVar(&jsonFile, "json", "", "also write the figures as JSON to this file")
	cmd.AddCommand(newBenchChildCommand())
	return cmd
}

// newBenchChildCommand is `registrar bench bench-sync-process PARAMS`,
// hidden: the bench runs it, not people.
func newBenchChildCommand() *cobra.Command {
	return &cobra.Command{
		Use:    benchChildCommand + " PARAMS",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return bench.ChildMain(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
}
