package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/app"
	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
	"github.com/registrarhq/registrar/internal/store"
	"github.com/registrarhq/registrar/internal/syncer"
)

type demoOptions struct {
	addr        string
	enrollments int
	seed        uint64
}

// demoLMS is one simulated LMS of the demo and how to connect to it.
type demoLMS struct {
	name        string // connection name
	provider    string
	server      *simkit.Server
	settings    map[string]string
	credentials map[string]string
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Registrar against three simulated LMSs, synced and served, to try the API",
		Long: "Starts local simulators of Canvas, Absorb and DigitalChalk with seeded data, connects Registrar to each, " +
			"syncs them, serves the API and prints its URL, a read-write API key and curl lines to try. Works offline. " +
			"Data lives in a temporary directory, removed on exit, unless --data-dir is given. Ctrl-C stops it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd, g, o)
		},
	}
	cmd.Flags().StringVar(&o.addr, "addr", DefaultAddr, "address the API listens on (127.0.0.1:0 picks a free port)")
	cmd.Flags().IntVar(&o.enrollments, "enrollments", 3000, "enrollments in each simulated LMS")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "data set seed of the simulators")
	return cmd
}

func runDemo(cmd *cobra.Command, g *globalOptions, o *demoOptions) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	began := time.Now()
	ln, err := listen(o.addr)
	if err != nil {
		return fmt.Errorf("%w; or run the demo on a free port with --addr 127.0.0.1:0", err)
	}
	defer ln.Close()

	cfg := g.config()
	if !dataDirChosen(cmd) {
		dir, err := os.MkdirTemp("", "registrar-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	lmss, stop, err := startDemoLMSs(o)
	if err != nil {
		return err
	}
	defer stop()

	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	key, _, err := app.APIKeyCreate(ctx, a.Store, "demo", false, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Registrar demo: syncing three simulated LMSs (%d enrollments each)...\n", o.enrollments)
	conns := map[string]*store.Connection{}
	for _, l := range lmss {
		c, err := demoConnection(ctx, a, l)
		if err != nil {
			return err
		}
		conns[l.provider] = c
		p := newSyncProgress(cmd.ErrOrStderr(), l.name, time.Now)
		run, err := a.Syncer.Foreground(ctx, syncer.ForegroundParams{ConnectionID: c.ID, Full: true, Trigger: "demo", Progress: p.update})
		p.finish()
		if err != nil {
			return fmt.Errorf("sync of %s: %w", l.name, err)
		}
		if run.Status != store.SyncStatusSucceeded {
			return fmt.Errorf("sync of %s failed: %s", l.name, run.Error)
		}
		fmt.Fprintf(out, "  %-18s %6d enrollments synced from %s\n", l.name, run.Stats.Seen, l.server.URL)
	}
	userID, courseID, err := demoEnrollTarget(ctx, a.Store, conns["absorb"].ID)
	if err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	auth := "-H 'Authorization: Bearer " + key + "'"
	fmt.Fprintf(out, "\nRegistrar is serving on %s (ready in %s)\n\n", base, time.Since(began).Round(100*time.Millisecond))
	fmt.Fprintf(out, "  API:      %s   (docs: %s/docs)\n", base, base)
	fmt.Fprintf(out, "  API key:  %s   (read-write)\n", key)
	if dataDirChosen(cmd) {
		fmt.Fprintf(out, "  Data:     %s\n", cfg.DataDir)
	} else {
		fmt.Fprintf(out, "  Data:     %s (removed on exit; keep data with --data-dir)\n", cfg.DataDir)
	}
	fmt.Fprintf(out, "\nTry:\n")
	fmt.Fprintf(out, "  # enrollments past their due date, across the three LMSs\n")
	fmt.Fprintf(out, "  curl -s %s '%s/v1/course-enrollments?status=overdue&limit=5'\n", auth, base)
	fmt.Fprintf(out, "  # enroll a learner in Absorb (written to the LMS first, then stored, with an event)\n")
	fmt.Fprintf(out, "  curl -s -X POST %s -H 'Content-Type: application/json' '%s/v1/connections/%s/course-enrollments' -d '{\"user_id\":\"%s\",\"course_id\":\"%s\"}'\n",
		auth, base, conns["absorb"].ID, userID, courseID)
	fmt.Fprintf(out, "  # the change feed\n")
	fmt.Fprintf(out, "  curl -s %s '%s/v1/events?limit=5'\n", auth, base)
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "\nstopping...")
	return <-errc
}

// dataDirChosen reports whether the user picked a data directory (flag or
// REGISTRAR_DATA_DIR); otherwise the demo uses a temporary one.
func dataDirChosen(cmd *cobra.Command) bool {
	if f := cmd.Flags().Lookup("data-dir"); f != nil && f.Changed {
		return true
	}
	_, ok := os.LookupEnv(EnvPrefix + "DATA_DIR")
	return ok
}

// startDemoLMSs starts the three simulators on free loopback ports.
func startDemoLMSs(o *demoOptions) ([]demoLMS, func(), error) {
	var servers []*simkit.Server
	stop := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	cs, err := canvassim.New(canvassim.Config{Seed: o.seed, Enrollments: o.enrollments})
	if err != nil {
		return nil, stop, err
	}
	as, err := absorbsim.New(absorbsim.Config{Seed: o.seed, Enrollments: o.enrollments})
	if err != nil {
		return nil, stop, err
	}
	ds, err := dcsim.New(dcsim.Config{Seed: o.seed, Enrollments: o.enrollments})
	if err != nil {
		return nil, stop, err
	}
	var lmss []demoLMS
	for _, s := range []struct {
		name, provider string
		sim            interface{ Credentials() []simkit.Credential }
		handler        func() http.Handler
	}{
		{"demo-canvas", "canvas", cs, func() http.Handler { return cs.Handler() }},
		{"demo-absorb", "absorb", as, func() http.Handler { return as.Handler() }},
		{"demo-digitalchalk", "digitalchalk", ds, func() http.Handler { return ds.Handler() }},
	} {
		srv, err := simkit.Start("127.0.0.1:0", s.handler())
		if err != nil {
			stop()
			return nil, stop, err
		}
		servers = append(servers, srv)
		l := demoLMS{name: s.name, provider: s.provider, server: srv, settings: map[string]string{}, credentials: map[string]string{}}
		creds := map[string]string{}
		for _, c := range s.sim.Credentials() {
			creds[c.Name] = c.Value
		}
		switch s.provider {
		case "canvas":
			l.settings["base_url"], l.settings["account_id"] = srv.URL, creds["account_id"]
			l.credentials["token"] = creds["token"]
		case "absorb":
			l.settings["base_url"] = srv.URL
			for _, k := range []string{"api_key", "username", "password"} {
				l.credentials[k] = creds[k]
			}
		case "digitalchalk":
			l.settings["base_url"] = srv.URL + "/dc/api/v5"
			l.credentials["token"] = creds["Bearer token"]
		}
		lmss = append(lmss, l)
	}
	return lmss, stop, nil
}

// demoConnection creates the connection to a simulated LMS, or points an
// existing one (a kept --data-dir) at the simulator's new port.
func demoConnection(ctx context.Context, a *app.App, l demoLMS) (*store.Connection, error) {
	existing, err := a.Store.ConnectionGetByName(ctx, l.name)
	if errors.Is(err, store.ErrNotFound) {
		c, err := a.API.ConnectionCreate(ctx, api.ConnectionCreateParams{Provider: l.provider, Name: l.name, Tenant: "demo",
			Settings: l.settings, Credentials: l.credentials})
		if err != nil {
			return nil, problemMessage(err)
		}
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	existing.Settings = l.settings
	existing.UpdatedAt = time.Now().UTC()
	if err := a.Store.InTx(ctx, func(tx store.Tx) error { return tx.ConnectionUpdate(ctx, existing) }); err != nil {
		return nil, err
	}
	return existing, nil
}

// demoEnrollTarget finds a user and a course of a connection with no
// enrollment between them, for the demo's enroll example.
func demoEnrollTarget(ctx context.Context, st store.Store, connectionID string) (string, string, error) {
	users, _, err := st.UserList(ctx, store.PeopleListParams{ConnectionID: connectionID, Limit: 50})
	if err != nil {
		return "", "", err
	}
	courses, _, err := st.CourseList(ctx, store.PeopleListParams{ConnectionID: connectionID, Limit: 50})
	if err != nil {
		return "", "", err
	}
	for _, u := range users {
		res, err := st.EnrollmentList(ctx, store.EnrollmentListParams{ConnectionIDs: []string{connectionID},
			UserIDs: []string{u.ID}, IncludeDeleted: true, Limit: 1000, Now: time.Now()})
		if err != nil {
			return "", "", err
		}
		taken := map[string]bool{}
		for _, e := range res.Enrollments {
			if e.Record.Course != nil {
				taken[e.Record.Course.ID] = true
			}
		}
		for _, c := range courses {
			if !taken[c.ID] {
				return u.ID, c.ID, nil
			}
		}
	}
	return "", "", errors.New("the simulated Absorb has no user without an enrollment to show enrolling")
}
