package dcsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Paging per providers.md §3.2: limit (default 15, max 100) and an item
// offset; the answer is {results, next, prev} with no total count.
const (
	defaultLimit = 15
	maxLimit     = 100
)

type page struct{ limit, offset int }

// parsePage reads limit and offset. A limit above 100 is clamped to 100:
// the docs give the maximum but not what happens beyond it (UNCERTAIN);
// clamping is the forgiving choice and the one a client can detect (fewer
// rows than asked, next still present). Non-numbers, limit < 1 and
// offset < 0 are 400 fieldErrors (providers.md §3.4 shape).
func parsePage(q url.Values) (page, map[string]string) {
	p := page{limit: defaultLimit}
	bad := map[string]string{}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 1:
			bad["limit"] = "limit must be a whole number of at least 1."
		case n > maxLimit:
			p.limit = maxLimit
		default:
			p.limit = n
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad["offset"] = "offset must be a whole number of at least 0."
		} else {
			p.offset = n
		}
	}
	if len(bad) > 0 {
		return p, bad
	}
	return p, nil
}

type envelope struct {
	Results any    `json:"results"`
	Next    string `json:"next,omitempty"`
	Prev    string `json:"prev,omitempty"`
}

// pageLinks builds next and prev: the request URL with only the offset
// changed (providers.md §3.2). They are absolute, like the vendor's.
func pageLinks(r *http.Request, p page, more bool) (next, prev string) {
	link := func(offset int) string {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(offset))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if fwd := r.Header.Get("X-Forwarded-Proto"); fwd == "https" || fwd == "http" {
			scheme = fwd
		}
		u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		return u.String()
	}
	if more {
		next = link(p.offset + p.limit)
	}
	if p.offset > 0 {
		prev = link(max(0, p.offset-p.limit))
	}
	return next, prev
}

// window applies a page to a source of candidate indexes with an optional
// predicate. It returns the matching indexes of the page and whether more
// matches follow. Without a predicate it slices directly, so deep offsets
// into a million rows cost nothing.
func window(src []int32, keep func(int32) bool, p page) ([]int32, bool) {
	if keep == nil {
		if p.offset >= len(src) {
			return nil, false
		}
		end := min(len(src), p.offset+p.limit)
		return src[p.offset:end], end < len(src)
	}
	out := make([]int32, 0, p.limit)
	skipped := 0
	for _, i := range src {
		if !keep(i) {
			continue
		}
		if skipped < p.offset {
			skipped++
			continue
		}
		if len(out) == p.limit {
			return out, true
		}
		out = append(out, i)
	}
	return out, false
}

// dateFilter is one of the date filters of providers.md §3.3: a precise
// timestamp matches that second, an imprecise date (2012, 2012-03,
// 2012-03-01, 2012-03-01T06, 2012-03-01T06:03) matches the whole period it
// names, and "from,to" matches from the start of from's period to the end of
// to's, either side optional ("2012-03-01,", ",2012-03"). The vendor's
// "Date Filtering" page with the real range syntax was not retrieved: the
// comma form is UNCERTAIN.
type dateFilter struct{ from, to int64 } // inclusive Unix seconds

var dateLayouts = []struct {
	layout string
	span   func(time.Time) time.Time // start of the next period
}{
	{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	{"2006-01-02T15", func(t time.Time) time.Time { return t.Add(time.Hour) }},
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
	{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
}

// period returns the inclusive range of seconds a date names.
func period(v string) (from, to int64, ok bool) {
	for _, l := range dateLayouts {
		t, err := time.Parse(l.layout, v)
		if err != nil {
			continue
		}
		t = t.UTC()
		return t.Unix(), l.span(t).Unix() - 1, true
	}
	return 0, 0, false
}

func parseDateFilter(v string) (dateFilter, bool) {
	v = strings.TrimSpace(v)
	if lo, hi, isRange := strings.Cut(v, ","); isRange {
		lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
		f := dateFilter{from: minInt64, to: maxInt64}
		if lo == "" && hi == "" {
			return f, false
		}
		if lo != "" {
			from, _, ok := period(lo)
			if !ok {
				return f, false
			}
			f.from = from
		}
		if hi != "" {
			_, to, ok := period(hi)
			if !ok {
				return f, false
			}
			f.to = to
		}
		return f, f.from <= f.to
	}
	from, to, ok := period(v)
	return dateFilter{from: from, to: to}, ok
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)

// match reports whether a date (0 = unset) falls in the filter; an unset
// date never matches.
func (f dateFilter) match(unix int64) bool { return unix != 0 && unix >= f.from && unix <= f.to }
