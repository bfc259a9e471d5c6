package cli

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// simulator is what the sim command needs of each vendor simulator.
type simulator interface {
	Handler() http.Handler
	Credentials() []simkit.Credential
}

type simOptions struct {
	addr                                 string
	seed                                 uint64
	users, courses, enrollments          int
	latency                              time.Duration
	failRate, malformedRate, dropRate    float64
	rateLimit                            float64
	throttleStatus                       int
	token, accountID                     string
	apiKey, username, password, dcPrefix string
}

func (o *simOptions) faults() simkit.Faults {
	return simkit.Faults{
		Latency: simkit.Duration(o.latency), FailRate: o.failRate, MalformedRate: o.malformedRate, DropRate: o.dropRate,
		RateLimit: o.rateLimit, ThrottleStatus: o.throttleStatus,
	}
}

func newSimCommand() *cobra.Command {
	o := &simOptions{}
	cmd := &cobra.Command{
		Use:   "sim canvas|absorb|digitalchalk",
		Short: "Run a local simulator of an LMS API, with seeded data and fault injection",
		Long: "Runs a faithful local copy of a vendor API (paths, auth, paging, errors, state rules, throttling) on a " +
			"loopback port. The first line printed is \"listening on http://HOST:PORT\"; the next lines are the base URL " +
			"and credentials to connect with. The admin API under /_sim/ (stats, faults, mutate, clock) answers on loopback.",
		Args:        cobra.ExactArgs(1),
		ValidArgs:   []string{"canvas", "absorb", "digitalchalk"},
		Annotations: map[string]string{noEnvAnnotation: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			sim, basePath, err := o.build(args[0])
			if err != nil {
				return err
			}
			srv, err := simkit.Start(o.addr, sim.Handler())
			if err != nil {
				return err
			}
			defer srv.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "listening on %s\n", srv.URL)
			fmt.Fprintf(out, "base_url: %s%s\n", srv.URL, basePath)
			for _, c := range sim.Credentials() {
				name := strings.ToLower(strings.ReplaceAll(c.Name, " ", "_"))
				// Print credentials under the names of the connection settings
				// they fill; base_url above already carries the path prefix.
				switch name {
				case "bearer_token":
					name = "token"
				case "base_path":
					continue
				}
				fmt.Fprintf(out, "%s: %s\n", name, c.Value)
			}
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	f.Uint64Var(&o.seed, "seed", 1, "data set seed: the same seed gives the same data")
	f.IntVar(&o.users, "users", 0, "number of users (0: the simulator's default)")
	f.IntVar(&o.courses, "courses", 0, "number of courses or offerings (0: default)")
	f.IntVar(&o.enrollments, "enrollments", 0, "number of enrollments (0: default 2000)")
	f.DurationVar(&o.latency, "latency", 0, "latency added to every answer, e.g. 50ms")
	f.Float64Var(&o.failRate, "fail-rate", 0, "share of requests answered with a 5xx (0-1)")
	f.Float64Var(&o.malformedRate, "malformed-rate", 0, "share of answers with malformed JSON (0-1)")
	f.Float64Var(&o.dropRate, "drop-rate", 0, "share of connections dropped without an answer (0-1)")
	f.Float64Var(&o.rateLimit, "rate-limit", 0, "requests per second allowed before throttling (0: no limit)")
	f.IntVar(&o.throttleStatus, "throttle-status", 0, "status of throttled answers where the vendor has two: 403 or 429 (Canvas)")
	f.StringVar(&o.token, "token", "", "bearer token the simulator accepts (Canvas, DigitalChalk)")
	f.StringVar(&o.accountID, "account-id", "", "Canvas account id (default 1)")
	f.StringVar(&o.apiKey, "api-key", "", "Absorb API key (a GUID)")
	f.StringVar(&o.username, "username", "", "Absorb admin username")
	f.StringVar(&o.password, "password", "", "Absorb admin password")
	f.StringVar(&o.dcPrefix, "path-prefix", "", "DigitalChalk API path prefix (default /dc/api/v5)")
	return cmd
}

func (o *simOptions) build(vendor string) (simulator, string, error) {
	switch vendor {
	case "canvas":
		s, err := canvassim.New(canvassim.Config{Seed: o.seed, Users: o.users, Courses: o.courses, Enrollments: o.enrollments,
			Token: o.token, AccountID: o.accountID, Faults: o.faults()})
		return s, "", err
	case "absorb":
		s, err := absorbsim.New(absorbsim.Config{Seed: o.seed, Users: o.users, Courses: o.courses, Enrollments: o.enrollments,
			APIKey: o.apiKey, Username: o.username, Password: o.password, Faults: o.faults()})
		return s, "", err
	case "digitalchalk":
		prefix := o.dcPrefix
		if prefix == "" {
			prefix = "/dc/api/v5"
		}
		s, err := dcsim.New(dcsim.Config{Seed: o.seed, Users: o.users, Courses: o.courses, Enrollments: o.enrollments,
			Token: o.token, PathPrefix: prefix, Faults: o.faults()})
		return s, prefix, err
	}
	return nil, "", fmt.Errorf("unknown simulator %q: use canvas, absorb or digitalchalk", vendor)
}
