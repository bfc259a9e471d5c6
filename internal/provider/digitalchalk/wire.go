package digitalchalk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// registration is a DigitalChalk Registration (seed 000, §3.3). Absent fields
// stay zero: DigitalChalk omits what has no value.
type registration struct {
	ID             string      `json:"id"`
	UserID         string      `json:"userId"`
	OfferingID     string      `json:"offeringId"`
	Title          string      `json:"title"`
	Status         string      `json:"status"`
	Grade          *flexNumber `json:"grade"`
	GraderID       string      `json:"graderId"`
	GraderComment  string      `json:"graderComment"`
	CreatedDate    string      `json:"createdDate"`
	BeginDate      string      `json:"beginDate"`
	LastActiveDate string      `json:"lastActiveDate"`
	EndDate        string      `json:"endDate"`

	// raw is the record exactly as DigitalChalk sent it, for remote_data.
	raw json.RawMessage
}

func (r *registration) UnmarshalJSON(b []byte) error {
	type plain registration
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = registration(p)
	r.raw = append(json.RawMessage(nil), bytes.TrimSpace(b)...)
	return nil
}

// user is a DigitalChalk user as GET /users lists it
// (developer.digitalchalk.com rest-api-v5/users/get-users: id, firstName,
// lastName, username, email, tags, locale, createdDate, lastLoginDate).
type user struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Username  string `json:"username"`
	Email     string `json:"email"`
}

// offering is a DigitalChalk offering, the enrollable unit (§3.5).
type offering struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// page is the envelope of every v5 collection (§3.2): next is present only
// when more items exist.
type page[T any] struct {
	Results []T    `json:"results"`
	Next    string `json:"next"`
	Prev    string `json:"prev"`
}

// errorBody is the v5 error answer (§3.4): fieldErrors, errors, or both.
type errorBody struct {
	Errors      []string          `json:"errors"`
	FieldErrors map[string]string `json:"fieldErrors"`
}

// flexNumber reads a JSON number, or a number written as a string, since the
// grade format is documented only by example.
type flexNumber float64

func (n *flexNumber) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if unquoted, err := strconv.Unquote(s); err == nil {
		s = unquoted
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("grade %s is not a number", b)
	}
	*n = flexNumber(f)
	return nil
}
