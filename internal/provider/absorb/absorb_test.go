package absorb

import (
	"context"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/provider/providertest"
	"github.com/registrarhq/registrar/internal/sim/absorbsim"
	"github.com/registrarhq/registrar/internal/sim/simkit"
)

const (
	simAPIKey   = "5b0e3c2a-7d41-4f8e-9a6b-1c2d3e4f5a6b"
	simUsername = "registrar.admin"
	simPassword = "correct horse battery staple"
)

// simEnv is one absorbsim and how to build connectors against it.
type simEnv struct {
	sim     *absorbsim.Sim
	baseURL string
}

func startSim(t *testing.T, enrollments int, faults simkit.Faults) *simEnv {
	t.Helper()
	users := max(enrollments/2, 8)
	courses := max(enrollments/10, 4)
	sim, err := absorbsim.New(absorbsim.Config{
		Seed: 7, Users: users, Courses: courses, Enrollments: enrollments,
		APIKey: simAPIKey, Username: simUsername, Password: simPassword,
		Faults: faults,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Start("127.0.0.1:0", sim.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &simEnv{sim: sim, baseURL: srv.URL}
}

func (e *simEnv) connector(t *testing.T, password string) *Connector {
	t.Helper()
	c, err := New(provider.Config{
		// A small page size so that the suite's few hundred records cross
		// many course and enrollment pages.
		Settings: map[string]string{"base_url": e.baseURL, "page_size": "7"},
		Secrets:  map[string]string{"api_key": simAPIKey, "username": simUsername, "password": password},
		HTTP:     fastHTTP(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listing reads every record through the connector.
func listing(t *testing.T, c *Connector) []lms.CourseEnrollment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all, _, err := providertest.ListAll(ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// pick returns the first current enrollment with one of the statuses that
// was not handed out before.
func pick(t *testing.T, c *Connector, used map[string]bool, statuses ...lms.Status) lms.CourseEnrollment {
	t.Helper()
	for _, e := range listing(t, c) {
		if used[e.ID] || (e.IsCurrent != nil && !*e.IsCurrent) {
			continue
		}
		for _, s := range statuses {
			if e.Status == s {
				used[e.ID] = true
				return e
			}
		}
	}
	t.Fatalf("the simulator holds no unused current enrollment with status %v", statuses)
	return lms.CourseEnrollment{}
}

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{Start: func(t *testing.T, n int, faults simkit.Faults) *providertest.Env {
		env := startSim(t, n, faults)
		c := env.connector(t, simPassword)
		used := map[string]bool{}
		open := []lms.Status{lms.StatusEnrolled, lms.StatusInProgress}
		return &providertest.Env{
			Reader:         c,
			Kit:            env.sim.Kit(),
			BaseURL:        env.baseURL,
			WantIDs:        env.sim.EnrollmentIDs,
			NewReader:      func() provider.Reader { return env.connector(t, simPassword) },
			BadCredentials: func() provider.Reader { return env.connector(t, "wrong password") },
			Mutate: func(count int, seed uint64) {
				if _, err := env.sim.Mutate(count, seed); err != nil {
					t.Fatal(err)
				}
			},
			Delete: env.sim.DeleteEnrollment,
			EnrollTarget: func(t *testing.T) provider.EnrollParams {
				return enrollTarget(t, c)
			},
			ReEnrollTarget: func(t *testing.T) provider.EnrollParams {
				e := pick(t, c, used, lms.StatusCompleted, lms.StatusFailed)
				return provider.EnrollParams{UserID: e.User.ID, CourseID: e.Course.ID}
			},
			CompleteTarget: func(t *testing.T) string {
				return pick(t, c, used, open...).ID
			},
			WithdrawTarget: func(t *testing.T) provider.WithdrawParams {
				return provider.WithdrawParams{EnrollmentID: pick(t, c, used, open...).ID}
			},
			// Absorb un-enroll removes the record (absorb package doc).
			WithdrawRemoves: true,
			ScoreTarget: func(t *testing.T) provider.ScoreParams {
				return provider.ScoreParams{EnrollmentID: pick(t, c, used, open...).ID, Score: 77.5}
			},
			StatusTarget: func(t *testing.T) provider.StatusParams {
				return provider.StatusParams{EnrollmentID: pick(t, c, used, open...).ID, Status: lms.StatusCompleted}
			},
		}
	}})
}

// enrollTarget finds a user and a course with no enrollment between them.
func enrollTarget(t *testing.T, c *Connector) provider.EnrollParams {
	t.Helper()
	ctx := context.Background()
	enrolled := map[[2]string]bool{}
	for _, e := range listing(t, c) {
		enrolled[[2]string{e.User.ID, e.Course.ID}] = true
	}
	users, err := c.UserPage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	courses, err := c.CoursePage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		for _, course := range courses.Courses {
			if !enrolled[[2]string{u.ID, course.ID}] {
				return provider.EnrollParams{UserID: u.ID, CourseID: course.ID}
			}
		}
	}
	t.Fatal("every user of the first page is enrolled in every course of the first page")
	return provider.EnrollParams{}
}
