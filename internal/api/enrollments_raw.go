package api

import (
	"encoding/json"
	"io"
	"reflect"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/store"
)

// jsonWriter is a response body that writes its own JSON; the JSON format
// (api.go) hands it the writer instead of encoding it.
type jsonWriter interface {
	writeJSON(w io.Writer) error
}

// enrollmentListBody is the body of both enrollment lists. The OpenAPI
// document describes it as EnrollmentList; stored pages are written from the
// stored JSON of the records (store.EnrollmentListParams.Raw, patched by
// store.AppendEnrollmentJSON) without decoding and encoding them again, live
// pages by encoding list.
type enrollmentListBody struct {
	list *EnrollmentList
	// raw is the whole encoded body of a stored page (from rawBodies).
	raw *[]byte
}

var _ huma.SchemaProvider = enrollmentListBody{}

// Schema documents the body as EnrollmentList, as if it were one.
func (enrollmentListBody) Schema(r huma.Registry) *huma.Schema {
	return r.Schema(reflect.TypeOf(EnrollmentList{}), true, "")
}

func (b enrollmentListBody) writeJSON(w io.Writer) error {
	if b.raw == nil {
		return encodeJSON(w, b.list)
	}
	_, err := w.Write(*b.raw)
	if cap(*b.raw) <= maxPooledBody {
		rawBodies.Put(b.raw)
	}
	return err
}

// rawBodies recycles the buffers of stored pages (~140 KB for 50 Canvas
// records); buffers of larger pages are left to the collector.
var rawBodies = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledBody = 1 << 20

// rawListBody writes a raw listing as an EnrollmentList body: the records as
// readers see them at now, then next_cursor unless it is empty. The bytes
// are those encoding an EnrollmentList of the decoded records would give, up
// to the order of each record's keys and the escaping of strings.
func rawListBody(res *store.EnrollmentListResult, now time.Time, nextCursor string) (enrollmentListBody, error) {
	bp, b := startRawBody()
	var err error
	for i := range res.Enrollments {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = store.AppendEnrollmentJSON(b, &res.Enrollments[i], now); err != nil {
			return enrollmentListBody{}, err
		}
	}
	return endRawBody(bp, b, nextCursor)
}

// startRawBody takes a buffer from rawBodies and starts the body in it: the
// records follow.
func startRawBody() (*[]byte, []byte) {
	bp := rawBodies.Get().(*[]byte)
	return bp, append((*bp)[:0], `{"data":[`...)
}

// endRawBody ends the body b started by startRawBody, whose records are
// written.
func endRawBody(bp *[]byte, b []byte, nextCursor string) (enrollmentListBody, error) {
	b = append(b, ']')
	if nextCursor != "" {
		c, err := json.Marshal(nextCursor)
		if err != nil {
			return enrollmentListBody{}, err
		}
		b = append(b, `,"next_cursor":`...)
		b = append(b, c...)
	}
	b = append(b, "}\n"...) // as the JSON encoder ends a value
	*bp = b
	return enrollmentListBody{raw: bp}, nil
}
