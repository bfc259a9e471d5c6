package bench

import (
	"fmt"
	"net/http"

	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/canvassim"
	"github.com/registrarhq/registrar/internal/sim/dcsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// Providers are the providers the bench knows, in the order it runs them.
func Providers() []string { return []string{"canvas", "absorb", "digitalchalk"} }

// simulator is what the bench needs of a running simulator.
type simulator interface {
	Handler() http.Handler
	Kit() *simkit.Kit
	Credentials() []simkit.Credential
	Mutate(count int, seed uint64) (any, error)
}

// lms is a simulator served on a loopback port, with the settings and
// credentials of a connection to it.
type lms struct {
	provider    string
	sim         simulator
	server      *simkit.Server
	settings    map[string]string
	credentials map[string]string
}

func (l *lms) Close() { l.server.Close() }

// startLMS starts a simulator of provider with n enrollments. Sizes follow
// the simulators' own large data sets: about ten enrollments per user, and
// courses big enough that per-course paging (Absorb) reads full pages.
func startLMS(provider string, seed uint64, n int, faults simkit.Faults) (*lms, error) {
	var s simulator
	var err error
	switch provider {
	case "canvas":
		s, err = canvassim.New(canvassim.Config{Seed: seed, Users: max(n/10, 50), Courses: max(n/1000, 10), Enrollments: n, Faults: faults})
	case "absorb":
		s, err = absorbsim.New(absorbsim.Config{Seed: seed, Courses: max(n/1000, 10), Enrollments: n, Faults: faults})
	case "digitalchalk":
		s, err = dcsim.New(dcsim.Config{Seed: seed, Enrollments: n, Faults: faults})
	default:
		return nil, fmt.Errorf("unknown provider %q (known: canvas, absorb, digitalchalk)", provider)
	}
	if err != nil {
		return nil, err
	}
	srv, err := simkit.Start("127.0.0.1:0", s.Handler())
	if err != nil {
		return nil, err
	}
	l := &lms{provider: provider, sim: s, server: srv, settings: map[string]string{}, credentials: map[string]string{}}
	creds := map[string]string{}
	for _, c := range s.Credentials() {
		creds[c.Name] = c.Value
	}
	switch provider {
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
	return l, nil
}
