package absorbsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/registrarhq/registrar/internal/sim/simkit"
)

// errorBody is Absorb's GenericErrorResponse (seed 003 "Un-enroll users
// from courses" 400/422 sample; providers.md §2.7: VERIFIED for the v1.5
// spec, assumed unchanged in v2 = UNCERTAIN).
type errorBody struct {
	Code        int               `json:"code"`
	Message     string            `json:"message"`
	Term        string            `json:"term"`
	Validations []string          `json:"validations"`
	Meta        map[string]string `json:"_meta"`
}

// writeError answers in the vendor's error body. code mirrors the HTTP
// status: the meaning of Absorb's numeric code is not documented.
func writeError(w http.ResponseWriter, status int, term, message string, validations ...string) {
	if validations == nil {
		validations = []string{}
	}
	simkit.WriteJSON(w, status, errorBody{Code: status, Message: message, Term: term, Validations: validations, Meta: map[string]string{}})
}

func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, "NotFound", what+" was not found.")
}

func badRequest(w http.ResponseWriter, message string, validations ...string) {
	writeError(w, http.StatusBadRequest, "BadRequest", message, validations...)
}

func unprocessable(w http.ResponseWriter, message string, validations ...string) {
	writeError(w, http.StatusUnprocessableEntity, "ValidationFailed", message, validations...)
}

func unauthorized(w http.ResponseWriter, message string) {
	writeError(w, http.StatusUnauthorized, "Unauthorized", message)
}

// throttled is the 429 of providers.md §2.7 (rate limit VERIFIED-2 [A9][A10]).
func (s *Sim) throttled(w http.ResponseWriter, r *http.Request, _ int) {
	if !s.cfg.NoRetryAfter {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, s.cfg.RetryAfter.Round(time.Second)/time.Second))))
	}
	writeError(w, http.StatusTooManyRequests, "TooManyRequests", "Rate limit exceeded. Retry with exponential backoff.")
}

func (s *Sim) failed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusInternalServerError, "InternalServerError", "An unexpected error occurred.")
}

// tokens are the /authenticate tokens. Only one token per user is valid at
// a time: a new one revokes the previous (providers.md §2.2, VERIFIED [A2]).
type tokens struct {
	mu      sync.Mutex
	byToken map[string]issuedToken
	byUser  map[string]string // folded username → its one valid token
}

type issuedToken struct {
	username string // folded
	expires  time.Time
}

func (t *tokens) issue(username string, expires time.Time) string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.byUser[username]; ok {
		delete(t.byToken, old)
	}
	t.byUser[username] = tok
	t.byToken[tok] = issuedToken{username: username, expires: expires}
	return tok
}

// lookup returns the username a token belongs to, or "" with the reason.
func (t *tokens) lookup(tok string, now time.Time) (string, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.byToken[tok]
	switch {
	case !ok:
		return "", "The token is invalid or has been replaced by a newer one."
	case !now.Before(it.expires):
		return "", "The token has expired."
	}
	return it.username, ""
}

// checkKey enforces x-api-key on every call (providers.md §2.1, VERIFIED
// [A2]) and the version header: only "2" is served, and the header may be
// omitted (whether it is mandatory is UNCERTAIN, §2.1 [A9]).
func (s *Sim) checkKey(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("x-api-key")
	if key == "" {
		unauthorized(w, "The x-api-key header is required.")
		return false
	}
	if !strings.EqualFold(key, s.cfg.APIKey) {
		unauthorized(w, "The x-api-key header is invalid.")
		return false
	}
	if v := r.Header.Get("x-api-version"); v != "" && v != "2" {
		badRequest(w, "Unsupported x-api-version "+strconv.Quote(v)+"; this API serves version 2.")
		return false
	}
	return true
}

// caller resolves the token in Authorization, sent as "Bearer <t>" (OAuth
// docs, [A5]) or bare (a v1.5-era client, [A8]); providers.md §2.2.
// A missing, unknown, revoked or expired token is a 401 (the status for the
// token cases is UNCERTAIN, §2.7).
func (s *Sim) caller(w http.ResponseWriter, r *http.Request) (*user, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		h = strings.TrimSpace(rest)
	}
	if h == "" {
		unauthorized(w, "The Authorization header with a token from /authenticate is required.")
		return nil, false
	}
	name, why := s.auth.lookup(h, s.kit.Clock.Now())
	if name == "" {
		unauthorized(w, why)
		return nil, false
	}
	s.mu.RLock()
	u := s.data.usersByName[name]
	s.mu.RUnlock()
	if u == nil {
		unauthorized(w, "The token's user no longer exists.")
		return nil, false
	}
	return u, true
}

// authenticate is POST /authenticate (providers.md §2.2, VERIFIED [A7]).
func (s *Sim) authenticate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username   *string `json:"username"`
		Password   *string `json:"password"`
		PrivateKey *string `json:"privateKey"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		badRequest(w, "The request body must be a JSON object {username, password, privateKey}.", err.Error())
		return
	}
	var missing []string
	for name, v := range map[string]*string{"username": body.Username, "password": body.Password, "privateKey": body.PrivateKey} {
		if v == nil || *v == "" {
			missing = append(missing, "The "+name+" field is required.")
		}
	}
	if len(missing) > 0 {
		badRequest(w, "Missing authentication parameters.", sortedStrings(missing)...)
		return
	}
	if !strings.EqualFold(*body.PrivateKey, s.cfg.APIKey) {
		unauthorized(w, "The private key is invalid.")
		return
	}
	// Any user of the data set may sign in with the one simulator password,
	// so that the my-enrollments operations can act as a learner.
	// A wrong password answers 401: UNCERTAIN, the reference lists only
	// 200/400/403 for /authenticate (providers.md §2.2).
	name := foldUsername(*body.Username)
	s.mu.RLock()
	u := s.data.usersByName[name]
	s.mu.RUnlock()
	if u == nil || *body.Password != s.cfg.Password {
		unauthorized(w, "The username or password is incorrect.")
		return
	}
	tok := s.auth.issue(name, s.kit.Clock.Now().Add(s.cfg.TokenTTL))
	// 200 with the token as a bare JSON string (providers.md §2.2).
	simkit.WriteJSON(w, http.StatusOK, tok)
}
