package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/registrarhq/registrar/internal/lms"
)

// EnrollmentJSONLister is implemented by engines that write a raw listing's
// JSON as they read it, without keeping each record's JSON in memory of its
// own until the page is written (the SQLite engine). Readers that serve raw
// listings as JSON use it when the store has it, EnrollmentList with Raw
// otherwise; both give the same bytes.
type EnrollmentJSONLister interface {
	// EnrollmentListJSON appends to dst the records EnrollmentList with p
	// (Raw set) lists, each as AppendEnrollmentJSON writes it at p.Now,
	// separated by commas.
	EnrollmentListJSON(ctx context.Context, p EnrollmentListParams, dst []byte) (EnrollmentJSONPage, error)
}

// EnrollmentJSONPage is a page written by EnrollmentListJSON.
type EnrollmentJSONPage struct {
	// JSON is dst with the records appended.
	JSON []byte
	// Count is the number of records, Last the key of the last one.
	Count int
	Last  EnrollmentKey
	// More is true when rows exist after the last one written.
	More bool
}

// AppendEnrollmentJSON appends to dst the JSON of a record listed with
// EnrollmentListParams.Raw, as readers are served it: the stored JSON in
// e.Data with the fields the engine keeps in columns set from e.Record (id,
// connection_id, provider, remote_deleted_at, synced_at) and status replaced
// by the effective status at now (lms.EffectiveStatus). It does not decode
// the record: the stored members are copied as they are, so the keys come in
// another order than when the decoded record is encoded, but every value is
// the same.
//
// Engines store the record without its column fields (id is stored as "",
// the others are left out), so when the stored JSON starts with {"id":"",
// and the columns show that no date changes the status at now, the record is
// copied with id spliced in and the column fields appended. Otherwise (a due
// or expiry date within a second of now, the precision of the columns, or a
// status that a date changes) the top-level members are walked and status,
// due_at and expires_at are read from the stored JSON itself, so the answer
// is exactly lms.EffectiveStatus over the stored record.
func AppendEnrollmentJSON(dst []byte, e *Enrollment, now time.Time) ([]byte, error) {
	data := bytes.TrimSpace(e.Data)
	const prefix = `{"id":"",`
	if bytes.HasPrefix(data, []byte(prefix)) && data[len(data)-1] == '}' && statusStands(&e.Record, now) {
		dst = append(dst, `{"id":`...)
		dst = appendJSONString(dst, e.Record.ID)
		dst = append(dst, ',')
		dst = append(dst, data[len(prefix):len(data)-1]...)
		return appendColumnFields(dst, &e.Record), nil
	}
	return appendEnrollmentSlow(dst, e, data, now)
}

// statusStands reports whether the columns prove that no date changes the
// stored status at now. Column dates may be truncated (to the second in
// SQLite), so a date d stands for a time in [d, d+1s).
func statusStands(r *lms.CourseEnrollment, now time.Time) bool {
	if r.Status == lms.StatusWithdrawn {
		return true
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		return false // expired, or within the second of its expiry
	}
	if r.DueAt != nil && r.Status.IsOpen() && r.DueAt.Before(now) {
		return false // overdue, or within the second of its due date
	}
	return true
}

// appendColumnFields appends the fields engines keep out of the stored JSON
// (besides id) and closes the object; omitted when empty, as when encoded.
func appendColumnFields(dst []byte, r *lms.CourseEnrollment) []byte {
	if r.ConnectionID != "" {
		dst = append(dst, `,"connection_id":`...)
		dst = appendJSONString(dst, r.ConnectionID)
	}
	if r.Provider != "" {
		dst = append(dst, `,"provider":`...)
		dst = appendJSONString(dst, r.Provider)
	}
	if r.RemoteDeletedAt != nil {
		dst = append(dst, `,"remote_deleted_at":`...)
		dst = appendJSONTime(dst, *r.RemoteDeletedAt)
	}
	if r.SyncedAt != nil {
		dst = append(dst, `,"synced_at":`...)
		dst = appendJSONTime(dst, *r.SyncedAt)
	}
	return append(dst, '}')
}

var errRawRecord = errors.New("stored record is not a JSON object")

// appendEnrollmentSlow walks the top-level members of the stored JSON: the
// column fields are dropped (and written from e.Record), status is replaced
// by the effective status computed from the stored status, due_at and
// expires_at, every other member is copied.
func appendEnrollmentSlow(dst []byte, e *Enrollment, data []byte, now time.Time) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return dst, fmt.Errorf("enrollment %s/%s: %w", e.Record.ConnectionID, e.Record.ID, err)
	}
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, e.Record.ID)
	var status lms.Status
	var due, expires *time.Time
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return fail(errRawRecord)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			if i >= len(data) || data[i] != '"' {
				return fail(errRawRecord)
			}
			ks := i
			i = skipString(data, i)
			if i < 0 {
				return fail(errRawRecord)
			}
			key := data[ks:i]
			i = skipSpace(data, i)
			if i >= len(data) || data[i] != ':' {
				return fail(errRawRecord)
			}
			i = skipSpace(data, i+1)
			vs := i
			i = skipValue(data, i)
			if i < 0 {
				return fail(errRawRecord)
			}
			val := data[vs:i]
			copyMember := true
			switch string(key) {
			case `"id"`, `"connection_id"`, `"provider"`, `"remote_deleted_at"`, `"synced_at"`:
				copyMember = false
			case `"status"`:
				copyMember = false
				if err := json.Unmarshal(val, &status); err != nil {
					return fail(err)
				}
			case `"due_at"`:
				if err := json.Unmarshal(val, &due); err != nil {
					return fail(err)
				}
			case `"expires_at"`:
				if err := json.Unmarshal(val, &expires); err != nil {
					return fail(err)
				}
			}
			if copyMember {
				dst = append(dst, ',')
				dst = append(dst, key...)
				dst = append(dst, ':')
				dst = append(dst, val...)
			}
			i = skipSpace(data, i)
			if i < len(data) && data[i] == ',' {
				i = skipSpace(data, i+1)
				continue
			}
			if i < len(data) && data[i] == '}' {
				i++
				break
			}
			return fail(errRawRecord)
		}
	}
	if skipSpace(data, i) != len(data) {
		return fail(errRawRecord)
	}
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, string(lms.EffectiveStatus(status, due, expires, now)))
	return appendColumnFields(dst, &e.Record), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a quote),
// or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1. It
// checks the nesting of objects and arrays, not the grammar of scalars: the
// stored JSON was written by an encoder.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		var stack []byte
		for ; i < len(b); i++ {
			switch c := b[i]; c {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				if len(stack) == 0 || (c == '}') != (stack[len(stack)-1] == '{') {
					return -1
				}
				if stack = stack[:len(stack)-1]; len(stack) == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// appendJSONString appends s as a JSON string: plain ASCII as is, anything
// else through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendJSONTime appends t as time.Time encodes itself in JSON.
func appendJSONTime(dst []byte, t time.Time) []byte {
	if y := t.Year(); y >= 0 && y <= 9999 {
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}
