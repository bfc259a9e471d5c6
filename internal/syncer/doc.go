// Package syncer keeps the store an exact copy of each connected LMS.
//
// A sync run walks a connector's enrollment pages and, for every page, commits
// in one store transaction: the records (through events.Apply, which writes
// only what changed and appends one change event per change), the users and
// courses they point at, and the run's checkpoint (the connector's opaque
// cursor after that page) with its counters and heartbeat. A process killed at
// any instant therefore leaves the store at a page boundary, and the run
// resumes from its checkpoint with nothing lost and nothing applied twice.
//
// Pages move through three goroutines: the fetcher reads them in order, the
// preparer does the work that needs no transaction (content hashes and, on a
// first sync, the store's encoding of each row), and the walk, the single
// writer, commits the pages that are ready together (up to 64 pages and
// readAheadRecords records), with the checkpoint after the last of them, so
// the boundary a kill can leave is still a page boundary. Records hold a
// share of readAheadRecords from their fetch to their commit, which bounds a
// sync's memory whatever the page size.
//
// The last page commits together with the end of the run: for a full run the
// sweep (records of the connection the run did not see are marked
// remote_deleted_at, with one enrollment.deleted event each), the run's
// success, the connection's health and the sync.completed event. There is no
// instant at which the data is complete but the run is not finished, and a run
// that fails marks nothing deleted. Mark-and-sweep is keyed by the run id, and
// a resumed run keeps its id, so pages seen before a kill still count (the
// Nango bug of resuming from a checkpoint and then deleting the records of
// earlier pages cannot happen).
//
// One run per connection is active (queued or running) at a time; the store's
// unique index enforces it. Ownership of a running run is proven by its
// heartbeat, refreshed with every page and by a ticker between pages, and,
// where processes share a host (SQLite), by an OS file lock that the kernel
// releases when the owner dies, so a run left behind by a killed process is
// taken over at once instead of after StaleAfter. Every commit first checks
// that the run still carries the heartbeat this owner wrote last, so an owner
// that lost the run (it stalled past StaleAfter and another took over) stops
// instead of writing beside the new owner.
//
// The engine does not queue work itself: SyncStart hands new runs to an
// Enqueuer (package jobs, on River), whose workers call Run; Recover and
// Schedule hand over what is due the same way. Enqueueing a run twice is
// harmless (the second execution finds it owned or finished), so nothing
// needs exactly-once enqueueing. The CLI calls Foreground to run, resume or
// follow a connection's sync in its own process.
//
// A record written through the API while a full run walks (write-back stores
// the LMS's answer without a run's mark) is not swept by that run even if
// the walk had passed its place: it was in the LMS after the run started.
package syncer
