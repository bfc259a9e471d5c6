package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/store/postgres"
)

func openSessions(t *testing.T, n int) (*postgres.Store, []*postgres.Session) {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Options{URL: postgres.TestDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var out []*postgres.Session
	for range n {
		s, err := st.OpenSession(ctx, postgres.SessionOptions{PingEvery: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return st, out
}

// TestSessionLocks: a sync lock is held by one session at a time (the
// holder's own second try included, as a second job of its run would be),
// until unlocked or the session ends; keys are independent.
func TestSessionLocks(t *testing.T) {
	t.Parallel()
	_, ss := openSessions(t, 2)
	a, b := ss[0], ss[1]
	try := func(s *postgres.Session, key string) (func(), bool) {
		t.Helper()
		unlock, ok, err := s.TryLock(key)
		if err != nil {
			t.Fatal(err)
		}
		return unlock, ok
	}
	unlockA, ok := try(a, "conn_1")
	if !ok {
		t.Fatal("a free lock was refused")
	}
	for _, tc := range []struct {
		name string
		s    *postgres.Session
		key  string
		want bool
	}{
		{"another session", b, "conn_1", false},
		{"the holder again", a, "conn_1", false},
		{"another key", b, "conn_2", true},
	} {
		unlock, ok := try(tc.s, tc.key)
		if ok != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, ok, tc.want)
		}
		if ok {
			unlock()
		}
	}
	unlockA()
	unlockA() // a second call is harmless
	unlockB, ok := try(b, "conn_1")
	if !ok {
		t.Fatal("an unlocked lock stayed taken")
	}
	// Ending the holder's session (as its process dying does) frees it,
	// once the server has ended the backend (soon after, not at once).
	b.Close()
	unlockB() // after Close: a no-op
	for deadline := time.Now().Add(3 * time.Second); ; {
		if _, ok := try(a, "conn_1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock of a closed session stayed taken")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := b.TryLock("conn_3"); err == nil {
		t.Error("a closed session took a lock")
	}
}

// TestSessionHeld: a held name is seen held from anywhere until its
// session ends; nobody else may hold it meanwhile.
func TestSessionHeld(t *testing.T) {
	t.Parallel()
	_, ss := openSessions(t, 2)
	a, b := ss[0], ss[1]
	ctx := context.Background()
	if err := a.Hold("replica-1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Hold("replica-1"); err == nil {
		t.Error("two sessions hold one name")
	}
	for _, s := range []*postgres.Session{a, b} {
		held, err := s.Held(ctx, "replica-1")
		if err != nil || !held {
			t.Errorf("Held = %v, %v; want true", held, err)
		}
	}
	if held, err := b.Held(ctx, "replica-2"); err != nil || held {
		t.Errorf("Held(free name) = %v, %v", held, err)
	}
	a.Close()
	for deadline := time.Now().Add(3 * time.Second); ; {
		held, err := b.Held(ctx, "replica-1")
		if err != nil {
			t.Fatal(err)
		}
		if !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the name of a closed session stayed held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSessionLost: a session whose connection is ended by the server (as a
// restart or a network cut does) reports it, and refuses locks after.
func TestSessionLost(t *testing.T) {
	t.Parallel()
	st, ss := openSessions(t, 1)
	s := ss[0]
	ctx := context.Background()
	if err := s.Hold("replica-x"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'registrar-session' AND datname = current_database()"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a terminated session was not noticed")
	}
	if s.Err() == nil {
		t.Error("a lost session has no error")
	}
	if _, _, err := s.TryLock("conn_1"); err == nil {
		t.Error("a lost session took a lock")
	}
}
