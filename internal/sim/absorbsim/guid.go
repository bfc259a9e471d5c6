package absorbsim

import (
	"encoding/hex"
	"math/rand/v2"
)

// guid is a 128-bit Absorb identifier kept as bytes, so that a million
// enrollments do not carry a million 36-byte strings.
type guid [16]byte

func (g guid) isZero() bool { return g == guid{} }

// String formats g as lowercase 8-4-4-4-12 hex, as Absorb emits ids.
func (g guid) String() string {
	var b [36]byte
	hex.Encode(b[0:8], g[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], g[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], g[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], g[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], g[10:16])
	return string(b[:])
}

// ptr returns nil for the zero GUID, so optional ids serialise as null.
func (g guid) ptr() *string {
	if g.isZero() {
		return nil
	}
	s := g.String()
	return &s
}

// parseGUID accepts the 8-4-4-4-12 form, with or without braces, any case.
func parseGUID(s string) (guid, bool) {
	var g guid
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	hexs := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(g[:], []byte(hexs)); err != nil {
		return guid{}, false
	}
	return g, true
}

// newGUID draws a version-4 style GUID from r.
func newGUID(r *rand.Rand) guid {
	var g guid
	a, b := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		g[i] = byte(a >> (8 * i))
		g[8+i] = byte(b >> (8 * i))
	}
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g
}
