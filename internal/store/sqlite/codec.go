package sqlite

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/registrarhq/registrar/internal/lms"
)

// Enrollment records and event payloads are stored compressed. A Canvas
// record is ~1.8 KB of JSON (the vendor's remote_data is most of it), so a
// row nearly filled a 4 KB page on its own and a full sync of 100,000
// records wrote ~240 MB of table pages, twice (WAL, then checkpoint). S2
// (Snappy's faster successor, from klauspost/compress) compresses a record
// in ~3 µs and decompresses it in ~1 µs, which the list API pays gladly: it
// reads fewer pages.
//
// One record alone compresses poorly (S2 halves it): most of its bytes are
// the field names of the unified model and of the vendor's JSON, which every
// record repeats but a lone record holds once. So records are compressed
// against a dictionary of typical records (codec_dict_v1.json), and S2
// refers to the names in it instead of spelling them out: a 1.8 KB
// Canvas record of the bench's simulator takes ~510 bytes instead of ~840,
// an event payload ~280 instead of ~560, at the same speed. The dictionary
// is the connectors' golden records (internal/provider/*/testdata), each as
// stored and as an enrollment.created payload, compact JSON, nothing from
// the simulators the bench syncs.
//
// Format of a data column value, by its first byte:
//   - '{': JSON text, as written before compression;
//   - docS2 (0x01): an S2 block of the JSON, as written before the dictionary;
//   - docS2Dict1 (0x02): an S2 block of the JSON against dictionary v1.
//
// Readers accept all three, so databases written by earlier versions need no
// migration. A dictionary, once released, must never change: its bytes are
// part of every value written with it (TestCodecDictionaryFrozen). A better
// one would be a new file and a new format byte.
const (
	docS2      = 0x01
	docS2Dict1 = 0x02
)

//go:embed codec_dict_v1.json
var dictV1Bytes []byte

// dictV1 is built once, on first use; it is read-only after that.
var dictV1 = sync.OnceValue(func() *s2.Dict {
	d := s2.MakeDict(dictV1Bytes, []byte(`{"`))
	if d == nil {
		panic("sqlite: codec dictionary v1 is not a usable S2 dictionary")
	}
	return d
})

// encodeDocument is what the write path stores for a record's JSON.
func encodeDocument(js []byte) []byte {
	out := make([]byte, 1+s2.MaxEncodedLen(len(js)))
	out[0] = docS2Dict1
	n := len(dictV1().Encode(out[1:], js)) // writes into out[1:], which is large enough
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
	case docS2, docS2Dict1:
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
	var js []byte
	if col[0] == docS2Dict1 {
		js, err = dictV1().Decode(out, col[1:])
	} else {
		js, err = s2.Decode(out, col[1:])
	}
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
