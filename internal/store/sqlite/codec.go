package sqlite

import (
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/compress/s2"

	"github.com/registrarhq/registrar/internal/lms"
)

// Enrollment records are stored compressed. A Canvas record is ~1.8 KB of
// JSON (the vendor's remote_data is most of it), so a row nearly filled a
// 4 KB page on its own and a full sync of 100,000 records wrote ~240 MB of
// table pages, twice (WAL, then checkpoint). S2 (Snappy's faster successor,
// from klauspost/compress) halves the JSON for ~3 µs per record to encode
// and ~1 µs to decode, which the list API pays gladly: it reads half the
// pages. PostgreSQL needs none of this (TOAST compresses large values).
//
// Format of the data column: JSON text as written before compression
// (first byte '{'), or docS2 followed by an S2 block of the JSON. Readers
// accept both, so databases written by earlier versions need no migration.
const docS2 = 0x01

// encodeDocument is what the write path stores for a record's JSON.
func encodeDocument(js []byte) []byte {
	out := make([]byte, 1+s2.MaxEncodedLen(len(js)))
	out[0] = docS2
	n := len(s2.EncodeBetter(out[1:], js)) // writes into out[1:], which is large enough
	return out[:1+n]
}

// decodeDocument returns the JSON of a data column value; a plain JSON value
// is returned as it is, without a copy.
func decodeDocument(col []byte) ([]byte, error) {
	if len(col) > 0 && col[0] == '{' {
		return col, nil
	}
	return appendDocument(nil, col)
}

// documentLen returns the length of the JSON of a data column value.
func documentLen(col []byte) (int, error) {
	if len(col) == 0 {
		return 0, errors.New("empty record")
	}
	switch col[0] {
	case '{':
		return len(col), nil
	case docS2:
		n, err := s2.DecodedLen(col[1:])
		if err != nil {
			return 0, fmt.Errorf("decompress record: %w", err)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("record in an unknown format (first byte 0x%02x)", col[0])
	}
}

// appendDocument appends the JSON of a data column value to dst, decoding
// straight into dst's spare capacity when it has room.
func appendDocument(dst, col []byte) ([]byte, error) {
	n, err := documentLen(col)
	if err != nil {
		return dst, err
	}
	if col[0] == '{' {
		return append(dst, col...), nil
	}
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	js, err := s2.Decode(out, col[1:])
	if err != nil {
		return dst, fmt.Errorf("decompress record: %w", err)
	}
	if len(js) != n {
		return dst, errors.New("decompress record: length differs from the block's header")
	}
	if n > 0 && &js[0] != &out[0] { // s2 decodes into out, which is large enough
		copy(out, js)
	}
	return dst[:len(dst)+n], nil
}

// EnrollmentEncode implements store.Store: the data column's value.
func (s *Store) EnrollmentEncode(r lms.CourseEnrollment) ([]byte, error) { return enrollmentData(r) }
