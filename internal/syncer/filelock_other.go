//go:build !unix

package syncer

// NewFileLocker returns nil where flock(2) is missing: liveness then rests
// on heartbeats alone, and a run left by a killed process is taken over once
// its heartbeat is older than StaleAfter.
func NewFileLocker(dir string) Locker { return nil }
