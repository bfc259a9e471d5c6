package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrarhq/registrar/internal/app"
)

// server is a real Registrar on a loopback port, with a read-write and a
// read-only key, for scenario tests that go through HTTP end to end.
type server struct {
	t        *testing.T
	App      *app.App
	URL      string
	Key      string
	ReadKey  string
	DataDir  string
	shutdown func()
}

func startServer(t *testing.T) *server {
	t.Helper()
	return startServerWith(t, app.Config{})
}

// startServerWith starts a server with cfg (its DataDir is set to a fresh
// temporary directory when empty).
func startServerWith(t *testing.T, cfg app.Config) *server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	dir := cfg.DataDir
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	key, _, err := app.APIKeyCreate(ctx, a.Store, "test", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	readKey, _, err := app.APIKeyCreate(ctx, a.Store, "reader", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, App: a, URL: "http://" + ln.Addr().String(), Key: key, ReadKey: readKey, DataDir: dir}
	var once sync.Once
	s.shutdown = func() {
		once.Do(func() {
			cancel()
			<-done
			a.Close()
		})
	}
	t.Cleanup(s.shutdown)
	return s
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request with the given key ("" for none).
func (s *server) do(method, path, key string, body any, headers ...string) *response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: data}
}
