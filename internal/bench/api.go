package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/registrarhq/registrar/internal/app"
)

// apiReads serves a's API on a loopback port and measures three list
// requests with o.Clients concurrent clients each: the first page, a page
// deep in the cursor walk (90% of the way), and a filter by user.
func apiReads(ctx context.Context, a *app.App, o Options) (*APIReads, error) {
	key, _, err := app.APIKeyCreate(ctx, a.Store, "bench", true, time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// Each request of a measured read carries its kind in benchReadHeader;
	// the handler runs under a pprof label read=<kind> (on top of ctx's
	// phase=api), so that a CPU profile can be cut per kind:
	// go tool pprof -tagfocus read=user registrar cpu.prof.
	h := a.API.Handler()
	labelled := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Header.Get(benchReadHeader)
		if kind == "" {
			h.ServeHTTP(w, r)
			return
		}
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("read", kind)))
		defer pprof.SetGoroutineLabels(ctx)
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: labelled, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/v1/course-enrollments"
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * o.Clients, MaxIdleConnsPerHost: 2 * o.Clients}}
	get := func(ctx context.Context, kind, u string, into any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if kind != "" {
			req.Header.Set(benchReadHeader, kind)
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(res.Body)
			return fmt.Errorf("GET %s: %d %s", u, res.StatusCode, b)
		}
		if into == nil {
			_, err = io.Copy(io.Discard, res.Body)
			return err
		}
		return json.NewDecoder(res.Body).Decode(into)
	}

	// Walk the store once to count it, find the deep cursor and collect
	// users to filter by.
	type page struct {
		Data []struct {
			User *struct {
				ID string `json:"id"`
			} `json:"user"`
			ConnectionID string `json:"connection_id"`
		} `json:"data"`
		NextCursor string `json:"next_cursor"`
	}
	var total int
	var cursors []string
	var users []string
	seenUser := map[string]bool{}
	cursor := ""
	for {
		u := base + "?limit=1000&include_deleted=true"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var p page
		if err := get(ctx, "", u, &p); err != nil {
			return nil, err
		}
		total += len(p.Data)
		for i, r := range p.Data {
			if r.User != nil && !seenUser[r.User.ID] && i%50 == 0 && len(users) < 2000 {
				seenUser[r.User.ID] = true
				users = append(users, r.User.ID)
			}
		}
		if p.NextCursor == "" {
			break
		}
		cursors = append(cursors, p.NextCursor)
		cursor = p.NextCursor
	}
	out := &APIReads{Stored: int64(total), Clients: o.Clients}
	first := base + "?include_deleted=true"
	reads := []struct {
		name   string
		kind   string
		url    func(i int) string
		offset int
	}{
		{name: "first page", kind: "first", url: func(int) string { return first }},
	}
	if len(cursors) > 0 {
		deep := cursors[len(cursors)*9/10]
		reads = append(reads, struct {
			name   string
			kind   string
			url    func(i int) string
			offset int
		}{name: "deep page", kind: "deep", offset: (len(cursors)*9/10 + 1) * 1000,
			url: func(int) string { return first + "&cursor=" + url.QueryEscape(deep) }})
	}
	if len(users) > 0 {
		reads = append(reads, struct {
			name   string
			kind   string
			url    func(i int) string
			offset int
		}{name: "user filter", kind: "user", url: func(i int) string {
			return base + "?user_id=" + url.QueryEscape(users[i%len(users)])
		}})
	}
	for _, r := range reads {
		var res APIRead
		pprof.Do(ctx, pprof.Labels("read", r.kind), func(ctx context.Context) {
			res = load(ctx, o.Clients, o.APIDuration, func(ctx context.Context, i int) error { return get(ctx, r.kind, r.url(i), nil) })
		})
		res.Name, res.DeepOffset = r.name, r.offset
		o.logf("  %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors", res.Name, res.PerSecond, res.P50ms, res.P99ms, res.Errors)
		out.Reads = append(out.Reads, res)
	}
	return out, nil
}

// load runs do from clients goroutines for d and summarises the latencies.
func load(ctx context.Context, clients int, d time.Duration, do func(ctx context.Context, i int) error) APIRead {
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	// A short warm-up fills the readers' caches and connection pools.
	warm := time.Now().Add(d / 5)
	began := time.Now().Add(d / 5)
	end := began.Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for i := c; ; i += clients {
				t := time.Now()
				if t.After(end) || ctx.Err() != nil {
					break
				}
				err := do(ctx, i)
				if t.Before(warm) {
					continue
				}
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all, errs = append(all, mine...), errs+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(began)
	slices.Sort(all)
	res := APIRead{Requests: len(all), Errors: errs, PerSecond: float64(len(all)) / took.Seconds()}
	if len(all) > 0 {
		res.P50ms = ms(all[len(all)/2])
		res.P99ms = ms(all[min(len(all)-1, len(all)*99/100)])
	}
	return res
}

// benchReadHeader names the kind of a measured read (first, deep, user).
const benchReadHeader = "X-Bench-Read"

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
