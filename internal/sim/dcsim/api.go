package dcsim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

const dateLayout = "2006-01-02T15:04:05Z" // providers.md §3.3: 2012-03-01T06:03:10Z

func formatDate(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format(dateLayout)
}

// writeJSON answers with v as JSON. Unlike simkit.WriteJSON it does not
// escape "&" as \u0026, so next/prev links read as the vendor's plain URLs.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		failed(w, nil)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Error bodies per providers.md §3.4: "errors" (messages) and/or
// "fieldErrors" (field → message).
type errorBody struct {
	Errors      []string          `json:"errors,omitempty"`
	FieldErrors map[string]string `json:"fieldErrors,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, errorBody{Errors: msgs})
}

func writeFieldErrors(w http.ResponseWriter, status int, fields map[string]string) {
	writeJSON(w, status, errorBody{FieldErrors: fields})
}

// throttled answers a rate-limited request. DigitalChalk documents no rate
// limit (providers.md §3.4, UNCERTAIN): 429 with an errors body and no
// Retry-After, so connectors must back off on their own.
func throttled(w http.ResponseWriter, _ *http.Request, status int) {
	if status == 0 {
		status = http.StatusTooManyRequests
	}
	writeErrors(w, status, "Too many requests")
}

func failed(w http.ResponseWriter, _ *http.Request) {
	writeErrors(w, http.StatusInternalServerError, "An unexpected error occurred. Please try again later.")
}

func (s *Sim) vendorMux() *http.ServeMux {
	p := s.cfg.PathPrefix
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.authed(h)) }
	for _, c := range []struct {
		name       string
		list, item http.HandlerFunc
	}{
		{"registrations", s.listRegistrations, s.getRegistration},
		{"users", s.listUsers, s.getUser},
		{"offerings", s.listOfferings, s.getOffering},
	} {
		route("GET "+p+"/"+c.name, c.list)
		route("GET "+p+"/"+c.name+"/{$}", c.list) // the docs' curl example ends in "/users/"
		route("GET "+p+"/"+c.name+"/{id}", c.item)
	}
	route("POST "+p+"/registrations", s.createRegistration)
	route("POST "+p+"/registrations/{$}", s.createRegistration)
	route("PUT "+p+"/registrations/{id}", s.updateRegistration)
	route("/", s.notFound)
	return mux
}

// authed checks the bearer token (providers.md §3.1) and applies offering
// ends the clock has passed before any handler reads data. The 401 body is
// not documented (providers.md §3.4, UNCERTAIN); the vendor's errors shape is
// the natural guess.
func (s *Sim) authed(h http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + s.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if len(got) > 7 && strings.EqualFold(got[:7], "bearer ") {
			got = "Bearer " + got[7:]
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="DigitalChalk API"`)
			writeErrors(w, http.StatusUnauthorized, "You must provide a valid OAuth2 access token.")
			return
		}
		s.settleNow()
		h(w, r)
	}
}

// notFound answers paths outside the documented API. Known paths with a
// method the API lacks (there is no DELETE of registrations, providers.md
// §3.3) get 405 so a connector does not mistake them for a missing record.
func (s *Sim) notFound(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.cfg.PathPrefix+"/")
	if ok {
		parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
		switch {
		case len(parts) <= 2 && parts[0] == "registrations":
			allow := "GET, POST"
			if len(parts) == 2 {
				allow = "GET, PUT"
			}
			w.Header().Set("Allow", allow)
			writeErrors(w, http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed for this resource.")
			return
		case len(parts) <= 2 && (parts[0] == "users" || parts[0] == "offerings"):
			w.Header().Set("Allow", "GET")
			writeErrors(w, http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed for this resource.")
			return
		}
	}
	writeErrors(w, http.StatusNotFound, "The requested resource could not be found.")
}

// readJSON decodes a JSON object body into a map of raw fields, so handlers
// can tell "absent" from "null" and ignore unknown properties as the vendor
// does (providers.md §3.3 POST: other properties are ignored).
func readJSON(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "The request body could not be read.")
		return nil, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		writeErrors(w, http.StatusBadRequest, "The request body must be a JSON object.")
		return nil, false
	}
	return fields, true
}

// stringField reads a string property; absent or null is "".
func stringField(fields map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := fields[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", true
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}
