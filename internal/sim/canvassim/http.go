package canvassim

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// call is one authenticated request.
type call struct {
	sim       *Sim
	w         http.ResponseWriter
	r         *http.Request
	params    url.Values // query, form and JSON body, flattened Rails-style
	stringIDs bool
	base      string // scheme://host, for html_url and Link
	// caller is the current user: -1 for the admin who owns the token, or
	// the user index when masquerading with as_user_id.
	caller int32
	rows   int // rows rendered, feeds X-Request-Cost
}

// Handler serves the Canvas API wrapped with faults, statistics and the
// /_sim/ admin API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h func(*call)) { mux.Handle(pattern, s.authenticated(h)) }

	route("GET /api/v1/courses/{course_id}/enrollments", s.listCourseEnrollments)
	route("GET /api/v1/sections/{section_id}/enrollments", s.listSectionEnrollments)
	route("GET /api/v1/users/{user_id}/enrollments", s.listUserEnrollments)
	route("GET /api/v1/accounts/{account_id}/enrollments/{id}", s.showEnrollment)
	route("POST /api/v1/courses/{course_id}/enrollments", s.createCourseEnrollment)
	route("POST /api/v1/sections/{section_id}/enrollments", s.createSectionEnrollment)
	route("DELETE /api/v1/courses/{course_id}/enrollments/{id}", s.destroyEnrollment)
	route("POST /api/v1/courses/{course_id}/enrollments/{id}/accept", s.acceptEnrollment)
	route("POST /api/v1/courses/{course_id}/enrollments/{id}/reject", s.rejectEnrollment)
	route("PUT /api/v1/courses/{course_id}/enrollments/{id}/reactivate", s.reactivateEnrollment)
	route("PUT /api/v1/courses/{course_id}/users/{user_id}/last_attended", s.lastAttended)

	route("GET /api/v1/accounts/{account_id}/courses", s.listAccountCourses)
	route("GET /api/v1/courses/{id}", s.showCourse)
	route("GET /api/v1/accounts/{account_id}/users", s.listAccountUsers)
	route("GET /api/v1/courses/{course_id}/sections", s.listCourseSections)

	// Canvas answers unknown API paths with its usual 404 body.
	route("/api/v1/", func(c *call) { c.notFound() })

	return s.kit.Handler(mux, s, simkit.Vendor{Throttled: s.throttled, Failed: s.failed})
}

// throttled answers as Canvas's request throttle does (providers.md §1.12):
// plain text, no X-Request-Cost, remaining 0.0.
func (s *Sim) throttled(w http.ResponseWriter, _ *http.Request, status int) {
	body := "403 Forbidden (Rate Limit Exceeded)\n"
	if status == http.StatusTooManyRequests {
		body = "429 Too Many Requests (Rate Limit Exceeded)\n"
	} else {
		status = http.StatusForbidden
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Rate-Limit-Remaining", "0.0")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// failed is Canvas's unhandled-error answer (providers.md §1.13).
func (s *Sim) failed(w http.ResponseWriter, _ *http.Request) {
	simkit.WriteJSON(w, http.StatusInternalServerError, map[string]any{
		"errors":          []map[string]string{{"message": "An error occurred.", "error_code": "internal_server_error"}},
		"error_report_id": s.errorReports.Add(1),
	})
}

// rateHighWater is Canvas's bucket high-water mark (providers.md §1.12).
const rateHighWater = 600.0

// rateRemaining scales the kit's token bucket to Canvas's 600 high-water
// mark, so a client sees the same number shape as from Canvas.
func (s *Sim) rateRemaining() float64 {
	left := s.kit.RateRemaining()
	if left < 0 {
		return rateHighWater
	}
	burst := max(float64(int(s.kit.Faults().RateLimit)), 1)
	return min(left/burst, 1) * rateHighWater
}

// authenticated checks the User-Agent and the token, resolves masquerading,
// and sets the throttling headers Canvas puts on every token-authenticated
// answer.
func (s *Sim) authenticated(h func(*call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Rate-Limit-Remaining", rubyFloat(s.rateRemaining()))
		c := &call{sim: s, w: w, r: r, caller: -1,
			stringIDs: strings.Contains(r.Header.Get("Accept"), "application/json+canvas-string-ids"),
			base:      "http://" + r.Host,
		}
		if r.TLS != nil {
			c.base = "https://" + r.Host
		}
		// Instructure refuses requests without a User-Agent (providers.md
		// §1.1). The body is not documented (§5 question 9).
		if r.UserAgent() == "" {
			c.json(http.StatusForbidden, map[string]any{
				"errors": []map[string]string{{"message": "A User-Agent header is required for API requests."}},
			})
			return
		}
		params, err := readParams(r)
		if err != nil {
			c.railsBadRequest()
			return
		}
		c.params = params
		token, found := bearerToken(r)
		if !found {
			token, found = params.Get("access_token"), params.Has("access_token")
		}
		switch {
		case !found || token == "":
			c.unauthenticated(map[string]any{
				"status": "unauthenticated",
				"errors": []map[string]string{{"message": "user authorization required"}},
			})
			return
		case subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) != 1:
			c.unauthenticated(map[string]any{"errors": []map[string]string{{"message": "Invalid access token."}}})
			return
		}
		if as := params.Get("as_user_id"); as != "" {
			s.mu.RLock()
			u, ok := s.st.findUser(as, -1)
			s.mu.RUnlock()
			if !ok || u < 0 {
				// ApplicationController#load_user: 401 with a string
				// errors value and no WWW-Authenticate.
				c.json(http.StatusUnauthorized, map[string]any{"errors": "Invalid as_user_id"})
				return
			}
			c.caller = u
		}
		h(c)
	})
}

func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// readParams merges the query string, a form body and a JSON body the way
// Rails does, flattening JSON objects to bracket keys
// ({"enrollment":{"user_id":1}} → enrollment[user_id]=1), so handlers read
// one shape whatever the client sent (providers.md §1.1).
func readParams(r *http.Request) (url.Values, error) {
	params := url.Values{}
	for k, v := range r.URL.Query() {
		params[k] = append(params[k], v...)
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return params, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return params, nil
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid JSON body: %w", err)
		}
		if obj, ok := v.(map[string]any); ok {
			flatten(params, "", obj)
		}
	case "application/x-www-form-urlencoded":
		// Read by hand: net/http parses form bodies of POST, PUT and PATCH
		// only, and Canvas takes DELETE's task from the body too (seed 004).
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("invalid form body: %w", err)
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, fmt.Errorf("invalid form body: %w", err)
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = append(params[k], v...)
		}
	}
	return params, nil
}

func flatten(params url.Values, prefix string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			key := k
			if prefix != "" {
				key = prefix + "[" + k + "]"
			}
			flatten(params, key, sub)
		}
	case []any:
		for _, sub := range v {
			flatten(params, prefix+"[]", sub)
		}
	case nil:
	case string:
		params.Add(prefix, v)
	case json.Number:
		params.Add(prefix, v.String())
	case bool:
		params.Add(prefix, strconv.FormatBool(v))
	}
}

// list returns a repeatable parameter given as name[] or name.
func (c *call) list(name string) []string {
	return append(slices.Clone(c.params[name+"[]"]), c.params[name]...)
}

func (c *call) includes(what string) bool { return slices.Contains(c.list("include"), what) }

func (c *call) json(status int, v any) {
	c.w.Header().Set("X-Request-Cost", rubyFloat(0.01+0.0005*float64(c.rows)))
	simkit.WriteJSON(c.w, status, v)
}

func (c *call) unauthenticated(body any) {
	c.w.Header().Set("WWW-Authenticate", `Bearer realm="canvas-lms"`)
	c.json(http.StatusUnauthorized, body)
}

// unauthorized is "authenticated but not permitted" (providers.md §1.13).
func (c *call) unauthorized() {
	c.json(c.sim.cfg.UnauthorizedStatus, map[string]any{
		"status": "unauthorized",
		"errors": []map[string]string{{"message": "user not authorized to perform that action"}},
	})
}

func (c *call) notFound() {
	c.json(http.StatusNotFound, map[string]any{
		"errors": []map[string]string{{"message": "The specified resource does not exist."}},
	})
}

// badRequest is the {"error":…} shape of accept/reject/reactivate and list
// filters; badMessage the {"message":…} shape of create (providers.md §1.13).
func (c *call) badRequest(msg string) { c.json(http.StatusBadRequest, map[string]string{"error": msg}) }
func (c *call) badMessage(msg string) {
	c.json(http.StatusBadRequest, map[string]string{"message": msg})
}

// railsBadRequest is Canvas's generic answer to ActionController::BadRequest
// (ApplicationController#api_error_json), e.g. an unknown role[] name or a
// body that does not parse.
func (c *call) railsBadRequest() {
	c.json(http.StatusBadRequest, map[string]any{
		"errors":          []map[string]string{{"message": "An error occurred.", "error_code": "bad_request"}},
		"error_report_id": c.sim.errorReports.Add(1),
	})
}

// apiID splits an id from a URL segment or parameter (providers.md §1.2): a
// number, `sis_<field>:<value>`, or `hex:sis_<field>:<hex>`.
func apiID(raw string) (field, value string) {
	if rest, ok := strings.CutPrefix(raw, "hex:"); ok {
		if f, h, ok := strings.Cut(rest, ":"); ok {
			if b, err := hex.DecodeString(h); err == nil {
				return f, string(b)
			}
		}
		return "invalid", raw
	}
	if strings.HasPrefix(raw, "sis_") {
		if f, v, ok := strings.Cut(raw, ":"); ok {
			return f, v
		}
	}
	return "", raw
}

// shardID is the simulated Canvas's one shard; ids may be given in the
// shard-qualified form "1~123" (providers.md §1.2, Api::ID).
const shardID = "1"

// localID strips this shard's prefix; an id of another shard becomes
// unparseable, so it is not found.
func localID(value string) string {
	if shard, local, ok := strings.Cut(value, "~"); ok {
		if shard != shardID {
			return ""
		}
		return local
	}
	return value
}

func numericIndex(value string, base int64, n int) (int32, bool) {
	id, err := strconv.ParseInt(localID(value), 10, 64)
	if err != nil || id < base || id-base >= int64(n) {
		return -1, false
	}
	return int32(id - base), true
}

// findUser resolves a user reference; self is the caller (-1 = the admin,
// who exists but has no enrollments).
func (st *store) findUser(raw string, caller int32) (int32, bool) {
	if raw == "self" {
		return caller, true
	}
	field, value := apiID(raw)
	switch field {
	case "":
		if id, err := strconv.ParseInt(value, 10, 64); err == nil && id == adminUserID {
			return -1, true
		}
		return numericIndex(value, userIDBase, len(st.users))
	case "sis_user_id":
		i, ok := st.userBySIS[value]
		return i, ok
	case "sis_login_id":
		i, ok := st.userByLogin[value]
		return i, ok
	}
	return -1, false
}

func (st *store) findCourse(raw string) (int32, bool) {
	field, value := apiID(raw)
	switch field {
	case "":
		return numericIndex(value, courseIDBase, len(st.courses))
	case "sis_course_id":
		i, ok := st.courseBySIS[value]
		return i, ok
	}
	return -1, false
}

func (st *store) findSection(raw string) (int32, bool) {
	field, value := apiID(raw)
	switch field {
	case "":
		return numericIndex(value, sectionIDBase, len(st.sections))
	case "sis_section_id":
		i, ok := st.sectionBySIS[value]
		return i, ok
	}
	return -1, false
}

func (s *Sim) accountMatches(raw string) bool {
	return raw == "self" || raw == s.cfg.AccountID
}

// perPage applies Api.per_page_for (providers.md §1.11): default 10, and a
// given value read as Ruby's to_i (leading digits, else 0) clamped to
// 1..100, so "abc" is 1, not the default.
func (c *call) perPage() int {
	if !c.params.Has("per_page") {
		return 10
	}
	v := strings.TrimSpace(c.params.Get("per_page"))
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimLeft(v, "+-")
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' || n > 1000 {
			break
		}
		n = n*10 + int(r-'0')
	}
	if neg {
		n = -n
	}
	return min(max(n, 1), 100)
}

// pageURL is the request's URL with page and per_page replaced, built as
// Api.build_links_hash does: the other query parameters sorted and encoded
// (access_token and api_key left out, providers.md §1.1), then page and
// per_page, the page value as is.
func (c *call) pageURL(page string, perPage int) string {
	q := url.Values{}
	for k, v := range c.r.URL.Query() {
		switch k {
		case "page", "per_page", "access_token", "api_key":
		default:
			q[k] = v
		}
	}
	enc := q.Encode()
	if enc != "" {
		enc += "&"
	}
	return c.base + c.r.URL.Path + "?" + enc + "page=" + page + "&per_page=" + strconv.Itoa(perPage)
}

type link struct{ rel, page string }

func (c *call) setLinks(perPage int, links ...link) {
	parts := make([]string, 0, len(links))
	for _, l := range links {
		if l.page != "" {
			parts = append(parts, "<"+c.pageURL(l.page, perPage)+`>; rel="`+l.rel+`"`)
		}
	}
	c.w.Header().Set("Link", strings.Join(parts, ","))
}

// ordinalRange pages a short list with numbered pages (the discovery
// routes), which, unlike bookmarked lists, have prev and last links. It
// returns the slice bounds of the requested page; past the end it is empty.
func (c *call) ordinalRange(n int) (start, end int) {
	per := c.perPage()
	last := max((n+per-1)/per, 1)
	page, err := strconv.Atoi(c.params.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	links := []link{{"current", strconv.Itoa(page)}}
	if page < last {
		links = append(links, link{"next", strconv.Itoa(page + 1)})
	}
	if page > 1 {
		links = append(links, link{"prev", strconv.Itoa(min(page-1, last))})
	}
	links = append(links, link{"first", "1"}, link{"last", strconv.Itoa(last)})
	c.setLinks(per, links...)
	if page > last {
		return n, n
	}
	start = (page - 1) * per
	end = min(start+per, n)
	c.rows = end - start
	return start, end
}
