// Package ident makes Registrar's ids: a short type prefix and a
// time-ordered random part (like a ULID), so ids sort by creation time and
// tell at a glance what they name ("con_", "run_", "evt_", "key_", "whk_").
package ident

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

var encoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// New returns prefix + "_" + 26 characters: 48 bits of milliseconds then 80
// random bits.
func New(prefix string, now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	_, _ = rand.Read(b[6:])
	return prefix + "_" + encoding.EncodeToString(b[:])
}

// Secret returns n random bytes encoded for use in keys and secrets.
func Secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return encoding.EncodeToString(b)
}
