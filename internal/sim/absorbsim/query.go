package absorbsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paging limits, providers.md §2.5 (VERIFIED [A3]).
const (
	defaultLimit = 20
	maxLimit     = 1000
	maxOffset    = 65535
)

// listParams are the collection query parameters of a paged operation.
type listParams struct {
	offset, limit int    // offset is a page index, not an item offset
	filter, sort  string // `_filter` and `_sort`
	status        int    // deprecated `status`; -1 = none
	modifiedSince int64  // deprecated `modifiedSince` in Unix ns; 0 = none
}

// parseListParams reads `_offset`/`_limit` (and the deprecated `offset`/
// `limit`, which the underscore forms override), `_filter`, `_sort`,
// `status` and `modifiedSince`. A `_limit` over 1000 is a 400 rather than
// clamped: the vendor's choice is not documented, and a loud answer shows a
// connector's wrong page size at once.
func parseListParams(q url.Values) (listParams, error) {
	p := listParams{limit: defaultLimit, status: -1, filter: q.Get("_filter"), sort: q.Get("_sort")}
	var problems []string
	readInt := func(names []string, lo, hi int, dst *int) {
		for _, name := range names {
			raw, ok := q[name]
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(raw[0]))
			if err != nil || n < lo || n > hi {
				problems = append(problems, fmt.Sprintf("%s must be an integer between %d and %d.", name, lo, hi))
				return
			}
			*dst = n
			return
		}
	}
	readInt([]string{"_offset", "offset"}, 0, maxOffset, &p.offset)
	readInt([]string{"_limit", "limit"}, 1, maxLimit, &p.limit)
	if err := readQueryFilters(q, &p.status, &p.modifiedSince); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return p, &paramError{problems}
	}
	return p, nil
}

// readQueryFilters reads the deprecated `status` and `modifiedSince`, which
// the get-style operations take too (seed 003).
func readQueryFilters(q url.Values, status *int, since *int64) error {
	*status = -1
	if raw := q.Get("status"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > maxStatus {
			return fmt.Errorf("status must be an integer from 0 to %d.", maxStatus)
		}
		*status = n
	}
	if raw := q.Get("modifiedSince"); raw != "" {
		t, err := parseAbsorbTime(raw)
		if err != nil {
			return errors.New("modifiedSince must be a date-time such as 2024-01-31T00:00:00.")
		}
		*since = t.UnixNano()
	}
	return nil
}

// matchesQueryFilters applies `status` and `modifiedSince`: "edited after
// this date" (seed 003) is read strictly, dateEdited > modifiedSince.
func matchesQueryFilters(status int, since int64, rowStatus int8, edited int64) bool {
	if status >= 0 && int(rowStatus) != status {
		return false
	}
	return since == 0 || edited*1e9 > since
}

// paramError is a 400 with one validation message per bad parameter.
type paramError struct{ problems []string }

func (e *paramError) Error() string { return strings.Join(e.problems, " ") }

// page is one answered page of a collection.
type page[T any] struct {
	total int
	items []T
}

// sortKey is one `_sort` term.
type sortKey[T any] struct {
	get  func(T) value
	desc bool
}

// paginate filters, sorts and cuts rows, which are in the default order.
// Without `_filter` or `_sort` it only slices, so any page index of a
// million-row list is answered in O(limit).
func paginate[T any](rows []T, p listParams, fields schema[T], status func(T) int8, edited func(T) int64) (page[T], error) {
	var keep []func(T) bool
	if strings.TrimSpace(p.filter) != "" {
		f, err := compileFilter(p.filter, fields)
		if err != nil {
			return page[T]{}, err
		}
		keep = append(keep, f)
	}
	if p.status >= 0 || p.modifiedSince != 0 {
		keep = append(keep, func(v T) bool { return matchesQueryFilters(p.status, p.modifiedSince, status(v), edited(v)) })
	}
	keys, err := parseSort(p.sort, fields)
	if err != nil {
		return page[T]{}, err
	}
	if len(keep) > 0 {
		filtered := make([]T, 0, len(rows)/4)
	next:
		for _, v := range rows {
			for _, f := range keep {
				if !f(v) {
					continue next
				}
			}
			filtered = append(filtered, v)
		}
		rows = filtered
	}
	if len(keys) > 0 {
		if len(keep) == 0 {
			rows = slices.Clone(rows)
		}
		// Stable, so rows equal on every key keep the default order and
		// paging stays deterministic.
		slices.SortStableFunc(rows, func(a, b T) int {
			for _, k := range keys {
				c := compareValues(k.get(a), k.get(b))
				if k.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	start := min(p.offset*p.limit, len(rows))
	end := min(start+p.limit, len(rows))
	return page[T]{total: len(rows), items: rows[start:end]}, nil
}

func parseSort[T any](src string, fields schema[T]) ([]sortKey[T], error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	var keys []sortKey[T]
	for _, term := range strings.Split(src, ",") {
		term = strings.TrimSpace(term)
		desc := strings.HasPrefix(term, "-")
		name := strings.TrimPrefix(term, "-")
		f, ok := fields[name]
		if !ok {
			return nil, &paramError{[]string{fmt.Sprintf("_sort: unknown or unsortable field %q; sortable fields: %s", name, fields.names())}}
		}
		keys = append(keys, sortKey[T]{get: f.get, desc: desc})
	}
	return keys, nil
}

// envelope is the paged answer {totalItems, returnedItems, limit, offset,
// <collection>} of providers.md §2.5 (VERIFIED [A1]), in that key order.
func envelope[T, J any](p listParams, pg page[T], collection string, toJSON func(T) J) json.RawMessage {
	items := make([]J, len(pg.items))
	for i, v := range pg.items {
		items[i] = toJSON(v)
	}
	body, err := json.Marshal(items)
	if err != nil {
		panic(fmt.Sprintf("absorbsim: marshal %s: %v", collection, err)) // plain structs always marshal
	}
	return json.RawMessage(fmt.Sprintf(`{"totalItems":%d,"returnedItems":%d,"limit":%d,"offset":%d,%q:%s}`,
		pg.total, len(items), p.limit, p.offset, collection, body))
}

// listError answers a bad paging, sorting or filtering parameter with
// Config.QueryErrorStatus and the reasons.
func (s *Sim) listError(w http.ResponseWriter, err error) {
	status, term := http.StatusBadRequest, "BadRequest"
	if s.cfg.QueryErrorStatus == http.StatusUnprocessableEntity {
		status, term = http.StatusUnprocessableEntity, "ValidationFailed"
	}
	var fe *filterError
	var pe *paramError
	switch {
	case errors.As(err, &fe):
		writeError(w, status, term, "The _filter expression is invalid.", fe.Error())
	case errors.As(err, &pe):
		writeError(w, status, term, "The query parameters are invalid.", pe.problems...)
	default:
		writeError(w, status, term, err.Error())
	}
}
