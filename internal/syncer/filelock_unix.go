//go:build unix

package syncer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// FileLocker locks connections with flock(2) on files in Dir. The kernel
// drops a lock when its holder exits, however it exits, so a process that
// finds a connection unlocked knows that no process on this host is syncing
// it, whatever the run's heartbeat says. It serves processes sharing a data
// directory (the SQLite engine); it proves nothing across hosts.
type FileLocker struct {
	Dir string
}

// NewFileLocker returns a FileLocker on dir.
func NewFileLocker(dir string) Locker { return FileLocker{Dir: dir} }

// TryLock implements Locker.
func (l FileLocker) TryLock(key string) (func(), bool, error) {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("sync lock directory: %w", err)
	}
	name := filepath.Join(l.Dir, "sync-"+strings.Map(safeRune, key)+".lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("sync lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("sync lock %s: %w", name, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, true, nil
}

func safeRune(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
		return r
	}
	return '_'
}
