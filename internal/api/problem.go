package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/registrarhq/registrar/internal/provider"
	"github.com/registrarhq/registrar/internal/store"
)

// ProblemTypeBase prefixes every problem type URI; the docs list them.
const ProblemTypeBase = "https://registrar.dev/problems/"

// Problem is an RFC 9457 problem details object, the body of every error
// the API returns, with Registrar's extension members.
type Problem struct {
	Type     string              `json:"type" doc:"A URI identifying the problem type; its documentation explains it."`
	Title    string              `json:"title" doc:"A short summary of the problem type."`
	Status   int                 `json:"status" doc:"The HTTP status code."`
	Detail   string              `json:"detail,omitempty" doc:"What went wrong this time, for a human."`
	Instance string              `json:"instance,omitempty" doc:"The request path."`
	Errors   []*huma.ErrorDetail `json:"errors,omitempty" doc:"Validation failures: where (location) and what (message)."`
	// Capability names the write capability a connector lacks (422 capability_missing).
	Capability string `json:"capability,omitempty" doc:"The capability the connector lacks."`
	// Provider and VendorStatus/VendorBody describe an LMS refusal or outage.
	Provider     string          `json:"provider,omitempty" doc:"The LMS that answered."`
	VendorStatus int             `json:"vendor_status,omitempty" doc:"The HTTP status the LMS answered."`
	VendorBody   json.RawMessage `json:"vendor_body,omitempty" doc:"The LMS's raw answer (JSON, or a JSON string for text)."`

	headers http.Header
}

func (p *Problem) Error() string { return p.Detail }

// GetStatus lets huma write the problem with its status.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes every problem application/problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// GetHeaders lets huma add headers (WWW-Authenticate, Retry-After).
func (p *Problem) GetHeaders() http.Header {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	return p.headers
}

// problem types by status, for errors raised by huma itself (validation,
// body too large) or by handlers without a more precise type.
var defaultProblemTypes = map[int]string{
	http.StatusBadRequest:            "bad-request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "body-too-large",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusUnprocessableEntity:   "validation",
	http.StatusTooManyRequests:       "throttled",
	http.StatusInternalServerError:   "internal",
	http.StatusBadGateway:            "lms-error",
	http.StatusServiceUnavailable:    "lms-unavailable",
	http.StatusGatewayTimeout:        "lms-timeout",
}

func newProblem(status int, typ, detail string) *Problem {
	if typ == "" {
		typ = defaultProblemTypes[status]
		if typ == "" {
			typ = "http-" + strconv.Itoa(status)
		}
	}
	return &Problem{Type: ProblemTypeBase + typ, Title: http.StatusText(status), Status: status, Detail: detail}
}

var installErrorsOnce sync.Once

// installProblemErrors makes huma's own errors (validation, 413, 415...)
// problems of our shape. huma exposes this hook only as a package variable;
// it is set once, to a pure function, and is the same for every API.
func installProblemErrors() {
	installErrorsOnce.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			// huma answers invalid input with 422; RFC 9110 and our clients
			// expect 400 for a request that cannot be parsed or validated.
			if status == http.StatusUnprocessableEntity {
				status = http.StatusBadRequest
			}
			p := newProblem(status, "", msg)
			if status == http.StatusBadRequest && len(errs) > 0 {
				p.Type = ProblemTypeBase + "validation"
			}
			for _, e := range errs {
				if e == nil {
					continue
				}
				var d huma.ErrorDetailer
				if errors.As(e, &d) {
					detail := *d.ErrorDetail()
					// A body may carry credentials: never echo body values.
					if strings.HasPrefix(detail.Location, "body") {
						detail.Value = nil
					}
					p.Errors = append(p.Errors, &detail)
				} else {
					p.Errors = append(p.Errors, &huma.ErrorDetail{Message: e.Error()})
				}
			}
			return p
		}
	})
}

// validationProblem reports invalid input fields.
func validationProblem(detail string, fields ...*huma.ErrorDetail) *Problem {
	p := newProblem(http.StatusBadRequest, "validation", detail)
	p.Errors = fields
	return p
}

// storeProblem maps store errors.
func storeProblem(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", what+" not found")
	case errors.Is(err, store.ErrConflict):
		return newProblem(http.StatusConflict, "conflict", err.Error())
	}
	return err
}

// providerProblem maps an LMS failure to the API's answer: a refusal is
// 422 with the vendor's words, an outage 502/503 with Retry-After.
func providerProblem(err error) error {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return err
	}
	var p *Problem
	switch pe.Kind {
	case provider.KindInvalidRequest:
		p = newProblem(http.StatusUnprocessableEntity, "lms-refused", pe.Message)
	case provider.KindNotFound:
		p = newProblem(http.StatusNotFound, "lms-not-found", pe.Message)
	case provider.KindAuthentication:
		p = newProblem(http.StatusBadGateway, "lms-authentication", "the LMS refused the connection's credentials: "+pe.Message)
	case provider.KindPermission:
		p = newProblem(http.StatusBadGateway, "lms-permission", "the connection's credentials lack permission: "+pe.Message)
	case provider.KindThrottled:
		p = newProblem(http.StatusServiceUnavailable, "lms-throttled", "the LMS is throttling requests; retry later")
	case provider.KindUnavailable:
		p = newProblem(http.StatusServiceUnavailable, "lms-unavailable", "the LMS is unavailable: "+pe.Error())
	default:
		p = newProblem(http.StatusBadGateway, "lms-error", pe.Error())
	}
	if p.Detail == "" {
		p.Detail = pe.Error()
	}
	p.Provider = pe.Provider
	p.VendorStatus = pe.Status
	if len(pe.Body) > 0 {
		if json.Valid(pe.Body) {
			p.VendorBody = json.RawMessage(pe.Body)
		} else {
			b, _ := json.Marshal(string(pe.Body))
			p.VendorBody = b
		}
	}
	if p.Status == http.StatusServiceUnavailable || p.Status == http.StatusBadGateway {
		retry := 30
		if pe.RetryAfter > 0 {
			retry = int(pe.RetryAfter.Seconds()) + 1
		}
		p.GetHeaders().Set("Retry-After", fmt.Sprint(retry))
	}
	return p
}
