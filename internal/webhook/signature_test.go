package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/webhook"
)

// The vector of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	key, err := webhook.ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Sign(key, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody)); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(vectorTS, 0)
	headers := func(mod func(h http.Header)) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderID, vectorID)
		h.Set(webhook.HeaderTimestamp, strconv.Itoa(vectorTS))
		h.Set(webhook.HeaderSignature, vectorSig)
		if mod != nil {
			mod(h)
		}
		return h
	}
	for _, tt := range []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		{name: "valid", h: headers(nil), want: nil},
		{name: "one of several signatures", h: headers(func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v1a,abc v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+vectorSig)
		}), want: nil},
		{name: "wrong signature", h: headers(func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
		}), want: webhook.ErrNoMatchingSig},
		{name: "body changed", h: headers(nil), body: `{"test":2432232314}`, want: webhook.ErrNoMatchingSig},
		{name: "id changed", h: headers(func(h http.Header) { h.Set(webhook.HeaderID, "msg_other") }), want: webhook.ErrNoMatchingSig},
		{name: "other secret", secret: webhook.NewSecret(), h: headers(nil), want: webhook.ErrNoMatchingSig},
		{name: "missing id", h: headers(func(h http.Header) { h.Del(webhook.HeaderID) }), want: webhook.ErrMissingHeaders},
		{name: "missing timestamp", h: headers(func(h http.Header) { h.Del(webhook.HeaderTimestamp) }), want: webhook.ErrMissingHeaders},
		{name: "missing signature", h: headers(func(h http.Header) { h.Del(webhook.HeaderSignature) }), want: webhook.ErrMissingHeaders},
		{name: "timestamp not a number", h: headers(func(h http.Header) { h.Set(webhook.HeaderTimestamp, "yesterday") }), want: webhook.ErrBadTimestamp},
		{name: "too old", h: headers(nil), now: now.Add(webhook.DefaultTolerance + time.Second), want: webhook.ErrTimestampTooOld},
		{name: "from the future", h: headers(nil), now: now.Add(-webhook.DefaultTolerance - time.Second), want: webhook.ErrTimestampTooNew},
		{name: "secret without prefix", secret: strings.TrimPrefix(vectorSecret, "whsec_"), h: headers(nil), want: webhook.ErrSecretMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret, body, at := tt.secret, tt.body, tt.now
			if secret == "" {
				secret = vectorSecret
			}
			if body == "" {
				body = vectorBody
			}
			if at.IsZero() {
				at = now
			}
			if err := webhook.Verify(secret, tt.h, []byte(body), at, webhook.DefaultTolerance); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	s := webhook.NewSecret()
	key, err := webhook.ParseSecret(s)
	if err != nil || len(key) < webhook.MinSecretBytes {
		t.Fatalf("NewSecret %q: %v (%d bytes)", s, err, len(key))
	}
	if webhook.NewSecret() == s {
		t.Fatal("two secrets are equal")
	}
	for _, bad := range []string{"", "whsec_", "whsec_dG9vIHNob3J0", "whsec_not base64!", "sk_" + strings.TrimPrefix(s, "whsec_"),
		"whsec_" + strings.Repeat("QUFB", 22)} { // 66 bytes: over the spec's 512 bits
		if _, err := webhook.ParseSecret(bad); !errors.Is(err, webhook.ErrSecretMalformed) {
			t.Errorf("ParseSecret(%q) = %v, want ErrSecretMalformed", bad, err)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := webhook.DefaultBackoff()
	for _, tt := range []struct {
		failures int
		rnd      float64
		want     time.Duration
	}{
		{1, 0.5, 5 * time.Second},
		{2, 0.5, 15 * time.Second},
		{3, 0.5, 45 * time.Second},
		{7, 0.5, 3645 * time.Second},
		{8, 0.5, 10935 * time.Second},
		{9, 0.5, 4 * time.Hour},
		{500, 0.5, 4 * time.Hour},
		{1, 0, 4 * time.Second},
		{1, 0.9999999, 6 * time.Second},
		{0, 0.5, 5 * time.Second},
	} {
		if got := b.Delay(tt.failures, tt.rnd); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.failures, tt.rnd, got, tt.want)
		}
	}
}
