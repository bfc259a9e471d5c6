package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/cli"
	"github.com/registrarhq/registrar/internal/webhook"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWebhooksListenVerifiesAndDeduplicates(t *testing.T) {
	secret := webhook.NewSecret()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	root := cli.NewRoot(out, out)
	root.SetArgs([]string{"webhooks", "listen", "--addr", "127.0.0.1:0", "--secret", secret})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var url string
	for i := 0; i < 100 && url == ""; i++ {
		time.Sleep(20 * time.Millisecond)
		if _, after, ok := strings.Cut(out.String(), "listening for webhooks on "); ok {
			url = strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])
		}
	}
	if url == "" {
		t.Fatalf("no listening line: %q", out.String())
	}
	send := func(id string, sign bool) int {
		body := []byte(`{"id":"` + id + `","type":"enrollment.created","time":"2026-01-01T00:00:00Z","data":{"enrollment_id":"e1","status":"enrolled"}}`)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		now := time.Now()
		req.Header.Set(webhook.HeaderID, id)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		sig := webhook.Sign(key, id, now, body)
		if !sign {
			sig = "v1,AAAA"
		}
		req.Header.Set(webhook.HeaderSignature, sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := send("evt_1", true); code != 204 {
		t.Fatalf("signed delivery: %d", code)
	}
	if code := send("evt_1", true); code != 204 {
		t.Fatalf("retried delivery: %d", code)
	}
	if code := send("evt_2", false); code != 401 {
		t.Fatalf("forged delivery: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Count(got, "verified evt_1") != 1 || !strings.Contains(got, "REJECTED evt_2") {
		t.Fatalf("output:\n%s", got)
	}
}
