// Package store is Registrar's storage contract. Engines (sqlite, postgres)
// implement Store with their own SQL and migrations; package storetest is the
// one behaviour suite every engine passes.
//
// The interface is split the way River splits its driver: reads go through
// Store directly (engines may serve them from a reader pool), and every write
// goes through a Tx handed out by Store.InTx, so that data, change events and
// checkpoints always commit together. Business rules (diffing, which events to
// raise) live in the callers, once, not in each engine.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
)

// Errors every engine returns for the same conditions.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (connection name, idempotency key) is taken.
	ErrConflict = errors.New("conflict")
)

// Store is a storage engine.
type Store interface {
	Reader

	// InTx runs fn in one write transaction: everything fn does through tx
	// commits together or not at all. fn must not keep tx after it returns.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// EnrollmentEncode returns the engine's stored form of a record (see
	// Enrollment.Encoded). It is pure: no database access, safe to call
	// from any goroutine.
	EnrollmentEncode(r lms.CourseEnrollment) ([]byte, error)

	// Migrate applies pending migrations; engines also run it when opened.
	Migrate(ctx context.Context) error
	// Ping checks the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Reader holds every read. Tx embeds it so reads inside a transaction see the
// transaction's own writes.
type Reader interface {
	ConnectionGet(ctx context.Context, id string) (*Connection, error)
	// ConnectionGetByName finds a connection by its unique name.
	ConnectionGetByName(ctx context.Context, name string) (*Connection, error)
	ConnectionList(ctx context.Context, params ConnectionListParams) ([]Connection, error)

	APIKeyGetByHash(ctx context.Context, hash string) (*APIKey, error)
	APIKeyList(ctx context.Context) ([]APIKey, error)

	EnrollmentGet(ctx context.Context, connectionID, id string) (*Enrollment, error)
	// EnrollmentList pages through enrollments in key order (connection_id,
	// id); see EnrollmentListParams.
	EnrollmentList(ctx context.Context, params EnrollmentListParams) (*EnrollmentListResult, error)
	// EnrollmentStates returns the stored state of the given ids of one
	// connection (missing ids are absent from the map): what a sync needs to
	// diff a page without reading whole records.
	EnrollmentStates(ctx context.Context, connectionID string, ids []string) (map[string]EnrollmentState, error)

	// EnrollmentDateEventsDue returns live records whose due date or expiry
	// has passed at Now and whose enrollment.overdue / enrollment.expired
	// event has not been raised yet, oldest date first.
	EnrollmentDateEventsDue(ctx context.Context, params DateEventsDueParams) ([]DateEventDue, error)

	UserList(ctx context.Context, params PeopleListParams) ([]lms.User, string, error)
	CourseList(ctx context.Context, params PeopleListParams) ([]lms.Course, string, error)

	SyncRunGet(ctx context.Context, id string) (*SyncRun, error)
	SyncRunList(ctx context.Context, params SyncRunListParams) ([]SyncRun, error)
	// SyncRunActive returns the queued or running run of a connection, or
	// ErrNotFound.
	SyncRunActive(ctx context.Context, connectionID string) (*SyncRun, error)
	// SyncRunListActive returns every queued or running run, oldest first
	// (start-up recovery and takeover of abandoned runs).
	SyncRunListActive(ctx context.Context) ([]SyncRun, error)

	// EventList returns events after a sequence number, in order.
	EventList(ctx context.Context, params EventListParams) ([]Event, error)
	// EventLastSeq returns the highest committed event sequence (0 if none).
	EventLastSeq(ctx context.Context) (int64, error)

	WebhookGet(ctx context.Context, id string) (*Webhook, error)
	WebhookList(ctx context.Context) ([]Webhook, error)
	DeliveryList(ctx context.Context, params DeliveryListParams) ([]Delivery, error)

	IdempotencyGet(ctx context.Context, apiKeyID, key string) (*IdempotencyRecord, error)
}

// Tx is a write transaction.
type Tx interface {
	Reader

	ConnectionCreate(ctx context.Context, c *Connection) error
	ConnectionUpdate(ctx context.Context, c *Connection) error
	// ConnectionDelete removes a connection and everything that belongs to
	// it (enrollments, users, courses, runs, checkpoints). Its events stay in
	// the feed.
	ConnectionDelete(ctx context.Context, id string) error

	APIKeyCreate(ctx context.Context, k *APIKey) error
	APIKeyDelete(ctx context.Context, id string) error

	// EnrollmentUpsertMany inserts or replaces records. Rows keep their key;
	// every other column is replaced by the given values.
	EnrollmentUpsertMany(ctx context.Context, rows []Enrollment) error
	// EnrollmentInsertNew inserts the rows whose key is not stored, leaves
	// the others alone, and returns the ids it inserted (in any order).
	EnrollmentInsertNew(ctx context.Context, rows []Enrollment) ([]string, error)
	// EnrollmentMarkSeen records that a sync run saw these ids, for delete
	// detection, without rewriting the records.
	EnrollmentMarkSeen(ctx context.Context, connectionID, runID string, ids []string) error
	// EnrollmentSweep marks every live record of the connection that run
	// runID did not see as deleted at the given time, and returns them.
	EnrollmentSweep(ctx context.Context, params EnrollmentSweepParams) ([]Enrollment, error)

	// EnrollmentMarkDateEvent records that the overdue or expired event of a
	// record was raised (typ is EventEnrollmentOverdue or
	// EventEnrollmentExpired), so it is raised once. Changing the record's
	// due_at (or expires_at) through EnrollmentUpsertMany clears the mark, so a
	// moved date can pass, and be announced, again.
	EnrollmentMarkDateEvent(ctx context.Context, connectionID, id, typ string, at time.Time) error

	UserUpsertMany(ctx context.Context, connectionID string, users []lms.User) error
	CourseUpsertMany(ctx context.Context, connectionID string, courses []lms.Course) error

	SyncRunCreate(ctx context.Context, r *SyncRun) error
	SyncRunUpdate(ctx context.Context, r *SyncRun) error

	// EventAppend appends events; the engine assigns Seq in commit order.
	// Event ids are the caller's to make unique (ident.New); engines do not
	// index them, since nothing reads an event by id.
	EventAppend(ctx context.Context, events []Event) error

	WebhookCreate(ctx context.Context, w *Webhook) error
	WebhookUpdate(ctx context.Context, w *Webhook) error
	WebhookDelete(ctx context.Context, id string) error
	DeliveryCreate(ctx context.Context, d *Delivery) error

	IdempotencyPut(ctx context.Context, r *IdempotencyRecord) error
	// IdempotencyPurge deletes records created before the given time.
	IdempotencyPurge(ctx context.Context, before time.Time) (int64, error)
}

// Connection is one LMS account Registrar reads and writes.
type Connection struct {
	ID       string
	Provider string
	Name     string
	// Tenant is the integrator's own customer id; filterable everywhere.
	Tenant   string
	Settings map[string]string
	// SecretsCiphertext holds the encrypted credentials; the store never sees
	// them in clear.
	SecretsCiphertext []byte
	// SecretNames lists which credential fields are set, for display.
	SecretNames  []string
	SyncInterval time.Duration
	// Paused stops scheduled syncs; on-demand syncs still run.
	Paused    bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// Health, written by the sync engine.
	LastSyncAt     *time.Time
	LastSyncStatus string
	LastSyncError  string
	// LastFullSyncAt is when the last successful full sync finished: every live
	// record was seen then (what synced_at means for unchanged rows).
	LastFullSyncAt *time.Time
}

// ConnectionListParams filters connections.
type ConnectionListParams struct {
	Provider string
	Tenant   string
}

// APIKey is a key to the API, stored hashed.
type APIKey struct {
	ID   string
	Name string
	// Prefix is the start of the key, shown to help people tell keys apart.
	Prefix    string
	Hash      string // hex SHA-256 of the whole key
	ReadOnly  bool
	CreatedAt time.Time
}

// Enrollment is a stored record: the unified record plus what the store
// needs to filter, diff and sweep it.
type Enrollment struct {
	Record lms.CourseEnrollment
	// ContentHash identifies the record's content (without sync bookkeeping);
	// equal hashes mean nothing changed.
	ContentHash string
	// ChangedAt is when Registrar last recorded a change of this record.
	ChangedAt time.Time
	// SeenRun is the last sync run that saw the record.
	SeenRun string
	// Data is set by raw listings only (EnrollmentListParams.Raw): the
	// record's JSON as stored, not decoded. See EnrollmentListParams.Raw.
	Data []byte
	// Encoded, when set on a row given to EnrollmentUpsertMany, is
	// Store.EnrollmentEncode of Record, done by the caller outside the
	// transaction; the engine writes it instead of encoding Record on the
	// single writer's path. Nil: the engine encodes Record.
	Encoded []byte
}

// EnrollmentState is the part of a stored record a sync diffs against.
type EnrollmentState struct {
	ContentHash     string
	Status          lms.Status
	RemoteDeletedAt *time.Time
}

// EnrollmentListParams filters and pages enrollments. Zero values mean "no
// filter". Status filters on the effective status at Now (so "overdue" and
// "expired" work, and a stored in_progress past its due date is not listed
// as in_progress).
type EnrollmentListParams struct {
	ConnectionIDs  []string
	Providers      []string
	Tenant         string
	UserIDs        []string
	UserEmails     []string
	CourseIDs      []string
	Statuses       []lms.Status
	UpdatedAfter   *time.Time // on ChangedAt
	DueBefore      *time.Time
	IncludeDeleted bool
	Now            time.Time
	// After is the key of the last row of the previous page; the page starts
	// right after it. Zero means from the start.
	After EnrollmentKey
	Limit int
	// Raw skips decoding the stored records, for readers that serve them as
	// JSON (the API's lists). Each Enrollment then has Data, the record's
	// stored JSON (uncompressed, otherwise as written: the record without the
	// fields that have columns), and a Record with only the fields the engine
	// reads from columns: ConnectionID, ID, Provider, RemoteDeletedAt and
	// SyncedAt exactly as a decoded listing has them, and Status, DueAt and
	// ExpiresAt as the columns keep them (dates possibly truncated to the
	// second). Decoding Data into a CourseEnrollment and setting the first
	// five fields from Record gives exactly the record a decoded listing
	// returns; AppendEnrollmentJSON does that, and the effective status,
	// without decoding. The sync bookkeeping (ContentHash, ChangedAt,
	// SeenRun) is not read.
	Raw bool
}

// EnrollmentKey is the primary key of an enrollment.
type EnrollmentKey struct {
	ConnectionID string
	ID           string
}

// IsZero reports whether k is the zero key.
func (k EnrollmentKey) IsZero() bool { return k.ConnectionID == "" && k.ID == "" }

// EnrollmentListResult is one page.
type EnrollmentListResult struct {
	Enrollments []Enrollment
	// More is true when rows exist after the last one returned.
	More bool
}

// EnrollmentSweepParams selects what a completed full sync marks deleted.
type EnrollmentSweepParams struct {
	ConnectionID string
	RunID        string
	DeletedAt    time.Time
}

// DateEventsDueParams selects records whose date events are due.
type DateEventsDueParams struct {
	Now   time.Time
	Limit int
}

// DateEventDue is a record with the event it is due.
type DateEventDue struct {
	Enrollment Enrollment
	// Type is EventEnrollmentOverdue or EventEnrollmentExpired.
	Type string
}

// PeopleListParams pages users or courses of a connection by id.
type PeopleListParams struct {
	ConnectionID string
	After        string
	Limit        int
}

// Sync run kinds and statuses.
const (
	SyncKindFull        = "full"
	SyncKindIncremental = "incremental"

	SyncStatusQueued    = "queued"
	SyncStatusRunning   = "running"
	SyncStatusSucceeded = "succeeded"
	SyncStatusFailed    = "failed"
)

// SyncRun is one sync of one connection, with its checkpoint.
type SyncRun struct {
	ID           string
	ConnectionID string
	Kind         string
	Trigger      string // schedule, manual, created, cli
	Status       string
	CreatedAt    time.Time
	StartedAt    *time.Time
	FinishedAt   *time.Time
	// HeartbeatAt is refreshed while a worker runs it; a run whose heartbeat
	// is old was abandoned and may be taken over.
	HeartbeatAt *time.Time
	// ChangedSince is the lower bound of an incremental run.
	ChangedSince *time.Time
	// Cursor is the checkpoint: the provider cursor after the last committed
	// page. Committed in the same transaction as that page.
	Cursor string
	Stats  SyncStats
	Error  string
}

// SyncStats counts what a run did.
type SyncStats struct {
	Pages     int64 `json:"pages"`
	Seen      int64 `json:"records_seen"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Deleted   int64 `json:"deleted"`
	Restored  int64 `json:"restored"`
	Requests  int64 `json:"requests"`
	Retries   int64 `json:"retries"`
	Throttled int64 `json:"throttled"`
	// Total is the number of records the LMS announced, -1 if unknown.
	Total int64 `json:"total"`
}

// SyncRunListParams pages runs of a connection, newest first.
type SyncRunListParams struct {
	ConnectionID string
	// Before is a run id; the page starts with older runs.
	Before string
	Limit  int
}

// Event types of the change feed.
const (
	EventEnrollmentCreated       = "enrollment.created"
	EventEnrollmentUpdated       = "enrollment.updated"
	EventEnrollmentStatusChanged = "enrollment.status_changed"
	EventEnrollmentDeleted       = "enrollment.deleted"
	EventEnrollmentRestored      = "enrollment.restored"
	EventEnrollmentOverdue       = "enrollment.overdue"
	EventEnrollmentExpired       = "enrollment.expired"
	EventSyncCompleted           = "sync.completed"
	EventSyncFailed              = "sync.failed"
)

// EventTypes lists every event type.
var EventTypes = []string{
	EventEnrollmentCreated, EventEnrollmentUpdated, EventEnrollmentStatusChanged,
	EventEnrollmentDeleted, EventEnrollmentRestored, EventEnrollmentOverdue,
	EventEnrollmentExpired, EventSyncCompleted, EventSyncFailed,
}

// Event is one entry of the change feed.
type Event struct {
	// Seq orders the feed; assigned by the engine at append.
	Seq          int64
	ID           string
	Type         string
	ConnectionID string
	EnrollmentID string
	OccurredAt   time.Time
	// Data is the event's JSON payload.
	Data []byte
}

// EventListParams selects feed events.
type EventListParams struct {
	AfterSeq     int64
	Types        []string
	ConnectionID string
	Limit        int
}

// Webhook is an endpoint that receives events.
type Webhook struct {
	ID               string
	URL              string
	Events           []string // empty means all
	SecretCiphertext []byte
	Enabled          bool
	DisabledReason   string
	// CursorSeq is the last event delivered (or skipped as not matching);
	// delivery proceeds strictly in feed order per endpoint.
	CursorSeq int64
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Delivery is one attempt to deliver one event to one webhook.
type Delivery struct {
	ID          string
	WebhookID   string
	EventID     string
	EventSeq    int64
	Attempt     int
	StatusCode  int
	Error       string
	Succeeded   bool
	DurationMS  int64
	AttemptedAt time.Time
	NextAttempt *time.Time
}

// DeliveryListParams pages attempts of a webhook, newest first.
type DeliveryListParams struct {
	WebhookID string
	Before    string
	Limit     int
}

// IdempotencyRecord remembers the answer to a write made with an
// Idempotency-Key, so a retry gets the same answer.
type IdempotencyRecord struct {
	APIKeyID    string
	Key         string
	Method      string
	Path        string
	RequestHash string
	Status      int
	Body        []byte
	CreatedAt   time.Time
}
