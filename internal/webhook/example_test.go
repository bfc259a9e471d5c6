package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/registrarhq/registrar/internal/webhook"
)

// A receiver checks the signature on the raw body before it parses it, and
// keeps the webhook-id of what it processed to drop redeliveries.
func ExampleVerify() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // as returned by POST /v1/webhooks
	seen := map[string]bool{}
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header, body, time.Unix(1614265330, 0), webhook.DefaultTolerance); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(webhook.HeaderID)
		if !seen[id] {
			seen[id] = true
			fmt.Println("processing", id, string(body))
		}
		w.WriteHeader(http.StatusNoContent)
	})

	for _, sig := range []string{"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,forged"} {
		req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(`{"test": 2432232314}`))
		req.Header.Set(webhook.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
		req.Header.Set(webhook.HeaderTimestamp, strconv.Itoa(1614265330))
		req.Header.Set(webhook.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// processing msg_p5jXN8AQM9LWM0D4loKWxJek {"test": 2432232314}
	// 204
	// 401
}
