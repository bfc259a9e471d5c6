package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/jobs"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/syncer"
)

func newSyncCommand(g *globalOptions) *cobra.Command {
	var full bool
	var maxFailure time.Duration
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Sync a connection now, in the foreground",
		Long: "Syncs one connection in this process and waits for the end, with a progress bar on a terminal and log " +
			"lines otherwise. It works beside a running serve on the same data directory: when the connection already " +
			"has a live run (serve's, or another sync command's), it follows that run to its end instead of starting a " +
			"second one; a run left behind by a killed process is resumed from its last checkpoint. Ctrl-C stops after " +
			"the last committed page, and the run resumes from there next time. The exit status is non-zero when the " +
			"run fails, with the reason.",
		Example: "  registrar sync acme-canvas\n  registrar sync acme-absorb --full",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg := g.config()
			cfg.Sync.MaxFailure = maxFailure
			a, err := app.New(ctx, cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			c, err := findConnection(ctx, a.Store, args[0])
			if err != nil {
				return err
			}
			p := newSyncProgress(cmd.ErrOrStderr(), c.Name, time.Now)
			p.estimate = lastFullCount(ctx, a.Store, c.ID)
			began := time.Now()
			run, err := a.Syncer.Foreground(ctx, syncer.ForegroundParams{ConnectionID: c.ID, Full: full, Trigger: "cli", Progress: p.update})
			p.finish()
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted: the sync of %s stopped after its last committed page; "+
						"run registrar sync %s again, or let serve, to resume it", c.Name, c.Name)
				}
				return fmt.Errorf("sync of %s: %w", c.Name, err)
			}
			st := run.Stats
			// The run's own times have second precision; this process's
			// clock says how long the command waited.
			took := " in " + time.Since(began).Round(time.Millisecond).String()
			fmt.Fprintf(cmd.OutOrStdout(), "sync %s of %s %s%s: %d pages, %d records seen, %d inserted, %d updated, "+
				"%d unchanged, %d deleted, %d restored; %d requests, %d retries, %d throttled\n",
				run.ID, c.Name, run.Status, took, st.Pages, st.Seen, st.Inserted, st.Updated, st.Unchanged, st.Deleted,
				st.Restored, st.Requests, st.Retries, st.Throttled)
			if run.Status == store.SyncStatusFailed {
				return &exitError{code: 1, err: fmt.Errorf("sync of %s failed: %s", c.Name, run.Error)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "read every record and detect deletes, even where the LMS can list only what changed")
	cmd.Flags().DurationVar(&maxFailure, "max-failure", syncer.DefaultMaxFailure,
		"how long the LMS may keep failing before the run ends failed")
	return cmd
}

// addSyncFlags adds the sync engine's settings to serve.
func addSyncFlags(cmd *cobra.Command, c *app.SyncConfig) {
	f := cmd.Flags()
	f.DurationVar(&c.MaxFailure, "sync-max-failure", syncer.DefaultMaxFailure,
		"how long an LMS may keep failing before its sync run ends failed")
	f.DurationVar(&c.StaleAfter, "sync-stale-after", syncer.DefaultStaleAfter,
		"age of a run's heartbeat after which its owner is presumed dead and the run is resumed elsewhere")
	f.DurationVar(&c.FullEvery, "full-sync-every", syncer.DefaultFullEvery,
		"longest time between full scheduled syncs of a connection (only full syncs detect deletes)")
	f.IntVar(&c.Workers, "sync-workers", jobs.DefaultSyncWorkers, "sync runs worked at once")
	f.DurationVar(&c.ReapEvery, "dead-replica-check-every", jobs.DefaultReapEvery,
		"with PostgreSQL, how often replicas look for a dead replica's running syncs and deliveries to take over")
}

// syncProgress shows a run's progress: a bar on a terminal (records, pages,
// rate, and an ETA when the LMS announces a total), else a log line every
// few seconds, so that piped output stays readable.
type syncProgress struct {
	out  io.Writer
	name string
	now  func() time.Time
	tty  bool
	bar  *progressbar.ProgressBar

	// estimate is the record count of the last successful full run: the
	// LMSs announce no totals, and it is what a full run will likely read,
	// so the bar can show an ETA. 0 when unknown.
	estimate int64

	runID     string
	following bool
	start     time.Time
	startSeen int64
	lastLine  time.Time
	last      store.SyncRun
}

func newSyncProgress(out io.Writer, name string, now func() time.Time) *syncProgress {
	p := &syncProgress{out: out, name: name, now: now}
	if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.tty = true
	}
	return p
}

func (p *syncProgress) update(r store.SyncRun, following bool) {
	if r.ID != p.runID || following != p.following {
		p.begin(r, following)
	}
	p.last = r
	if p.tty {
		if max := p.expected(r); max > 0 && p.bar.GetMax64() != max {
			p.bar.ChangeMax64(max)
		}
		p.bar.Describe(fmt.Sprintf("%s: page %d", p.name, r.Stats.Pages))
		_ = p.bar.Set64(r.Stats.Seen)
		return
	}
	if p.now().Sub(p.lastLine) >= 2*time.Second {
		p.line(r)
	}
}

// begin starts showing a run (or the switch from following it to running it).
func (p *syncProgress) begin(r store.SyncRun, following bool) {
	if p.bar != nil {
		_ = p.bar.Exit()
		fmt.Fprintln(p.out)
	}
	p.runID, p.following, p.start, p.startSeen = r.ID, following, p.now(), r.Stats.Seen
	switch {
	case following:
		fmt.Fprintf(p.out, "following sync run %s of %s, which another process (serve?) is running\n", r.ID, p.name)
	case r.Stats.Pages > 0:
		fmt.Fprintf(p.out, "resuming sync run %s of %s from its checkpoint after page %d\n", r.ID, p.name, r.Stats.Pages)
	default:
		fmt.Fprintf(p.out, "sync run %s of %s (%s) started\n", r.ID, p.name, r.Kind)
	}
	if p.tty {
		max := p.expected(r)
		if max <= 0 {
			max = -1 // a spinner with counts and rate
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription(p.name),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
		_ = p.bar.Set64(r.Stats.Seen)
	}
	p.lastLine = time.Time{}
}

func (p *syncProgress) line(r store.SyncRun) {
	p.lastLine = p.now()
	records := fmt.Sprintf("%d records", r.Stats.Seen)
	if max := p.expected(r); max > 0 && r.Status == store.SyncStatusRunning {
		records = fmt.Sprintf("%d of about %d records (%d%%)", r.Stats.Seen, max, 100*r.Stats.Seen/max)
	}
	rate := ""
	if el := p.now().Sub(p.start).Seconds(); el >= 1 {
		rate = fmt.Sprintf(", %.0f records/s", float64(r.Stats.Seen-p.startSeen)/el)
	}
	fmt.Fprintf(p.out, "sync %s: run %s %s, %d pages, %s%s\n", p.name, r.ID, r.Status, r.Stats.Pages, records, rate)
}

// expected is how many records the run will read: the LMS's total when it
// gives one, else for a full run the last full run's count; 0 if unknown.
func (p *syncProgress) expected(r store.SyncRun) int64 {
	switch {
	case r.Stats.Total >= 0:
		return max(r.Stats.Total, r.Stats.Seen)
	case r.Kind == store.SyncKindFull && p.estimate > 0:
		return max(p.estimate, r.Stats.Seen)
	}
	return 0
}

// lastFullCount returns the records seen by the connection's last
// successful full run, or 0.
func lastFullCount(ctx context.Context, st store.Store, connectionID string) int64 {
	runs, err := st.SyncRunList(ctx, store.SyncRunListParams{ConnectionID: connectionID, Limit: 20})
	if err != nil {
		return 0
	}
	for _, r := range runs {
		if r.Kind == store.SyncKindFull && r.Status == store.SyncStatusSucceeded {
			return r.Stats.Seen
		}
	}
	return 0
}

func (p *syncProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.out)
		return
	}
	if p.runID != "" {
		p.line(p.last)
	}
}
