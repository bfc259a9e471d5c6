package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a symmetric Standard Webhooks secret.
const SecretPrefix = "whsec_"

// Secret sizes the Standard Webhooks spec allows for HMAC keys (192 to 512
// bits).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's
// clock before Verify refuses it as a possible replay.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns.
var (
	ErrMissingHeaders  = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrBadTimestamp    = errors.New("webhook: webhook-timestamp is not unix seconds")
	ErrTimestampTooOld = errors.New("webhook: webhook-timestamp is too old")
	ErrTimestampTooNew = errors.New("webhook: webhook-timestamp is in the future")
	ErrNoMatchingSig   = errors.New("webhook: no signature matches")
	ErrSecretMalformed = errors.New("webhook: secret must be whsec_ followed by base64 of 24 to 64 bytes")
)

// NewSecret returns a fresh secret in the Standard Webhooks form:
// whsec_ and the base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret returns the key bytes of a whsec_ secret. The prefix is
// required: it tells a receiver which scheme the secret belongs to, and a
// secret without it is more likely a mistake than a key.
func ParseSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrSecretMalformed
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, ErrSecretMalformed
	}
	return key, nil
}

// Sign returns the webhook-signature value of a message: "v1," and the
// base64 HMAC-SHA256, keyed with the secret's decoded bytes, of
// "{id}.{timestamp}.{body}".
func Sign(key []byte, id string, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery the way a receiver should: the three headers
// are present, the timestamp is within tolerance of now (replay
// protection), and one of the space-separated v1 signatures matches the
// exact body bytes (compare before parsing the JSON: re-encoding changes
// bytes). It is small on purpose, so receivers can copy it.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	at := time.Unix(sec, 0)
	if now.Sub(at) > tolerance {
		return ErrTimestampTooOld
	}
	if at.Sub(now) > tolerance {
		return ErrTimestampTooNew
	}
	want := Sign(key, id, at, body)
	for _, s := range strings.Fields(sigs) {
		// Other schemes (v1a, future versions) are skipped, not errors.
		if strings.HasPrefix(s, "v1,") && hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrNoMatchingSig
}
