package dcsim

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// registrationJSON is the vendor's Registration object (seed 000,
// providers.md §3.3): unset fields are omitted, never null.
type registrationJSON struct {
	ID             string   `json:"id"`
	UserID         string   `json:"userId"`
	OfferingID     string   `json:"offeringId"`
	Title          string   `json:"title,omitempty"`
	Status         string   `json:"status"`
	Grade          *float64 `json:"grade,omitempty"`
	GraderID       string   `json:"graderId,omitempty"`
	GraderComment  string   `json:"graderComment,omitempty"`
	CreatedDate    string   `json:"createdDate,omitempty"`
	BeginDate      string   `json:"beginDate,omitempty"`
	LastActiveDate string   `json:"lastActiveDate,omitempty"`
	EndDate        string   `json:"endDate,omitempty"`
}

// registrationView renders a registration. Caller holds s.mu.
func (s *Sim) registrationView(reg *registration) registrationJSON {
	v := registrationJSON{
		ID:             reg.id.String(),
		UserID:         s.users[reg.user].id.String(),
		OfferingID:     s.offerings[reg.offering].id.String(),
		Title:          s.offerings[reg.offering].title,
		Status:         reg.status.String(),
		GraderComment:  reg.comment,
		CreatedDate:    formatDate(reg.created),
		BeginDate:      formatDate(reg.begin),
		LastActiveDate: formatDate(reg.lastActive),
		EndDate:        formatDate(reg.end),
	}
	if reg.hasGrade {
		g := reg.grade
		v.Grade = &g
	}
	if reg.grader >= 0 {
		v.GraderID = s.users[reg.grader].id.String()
	}
	return v
}

// listRegistrations is GET /registrations with the filters of providers.md
// §3.3, all ANDed. The userId and offeringId filters walk their own index,
// so they stay fast at any offset. An unknown or malformed id filter matches
// nothing (UNCERTAIN: the docs do not say it is an error).
func (s *Sim) listRegistrations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, bad := parsePage(q)
	if bad == nil {
		bad = map[string]string{}
	}
	var preds []func(*registration) bool
	wantStatus := -1
	if v := q.Get("status"); v != "" {
		st, ok := parseStatus(v)
		if !ok {
			bad["status"] = "status must be one of active, passed, failed, ejected."
		}
		wantStatus = int(st)
		preds = append(preds, func(reg *registration) bool { return int(reg.status) == wantStatus })
	}
	for _, df := range []struct {
		name string
		get  func(*registration) int64
	}{
		{"createdDate", func(reg *registration) int64 { return reg.created }},
		{"beginDate", func(reg *registration) int64 { return reg.begin }},
		{"lastActiveDate", func(reg *registration) int64 { return reg.lastActive }},
		{"endDate", func(reg *registration) int64 { return reg.end }},
	} {
		v := q.Get(df.name)
		if v == "" {
			continue
		}
		f, ok := parseDateFilter(v)
		if !ok {
			bad[df.name] = "Use a date such as 2012-03-01T06:03:10Z or 2012-03-01, or a range from,to."
			continue
		}
		get := df.get
		preds = append(preds, func(reg *registration) bool { return f.match(get(reg)) })
	}
	if len(bad) > 0 {
		writeFieldErrors(w, http.StatusBadRequest, bad)
		return
	}

	s.mu.RLock()
	src := s.live
	empty := false
	if v := q.Get("userId"); v != "" {
		ui, ok := s.lookupUser(v)
		if ok {
			src = s.byUser[ui]
		} else {
			empty = true
		}
	}
	if v := q.Get("offeringId"); v != "" {
		oi, ok := s.lookupOffering(v)
		switch {
		case !ok:
			empty = true
		case q.Get("userId") == "":
			src = s.byOffering[oi]
		default:
			preds = append(preds, func(reg *registration) bool { return reg.offering == oi })
		}
	}
	if empty {
		src = nil
	}
	var keep func(int32) bool
	if len(preds) > 0 {
		keep = func(i int32) bool {
			reg := &s.regs[i]
			for _, p := range preds {
				if !p(reg) {
					return false
				}
			}
			return true
		}
	}
	idx, more := window(src, keep, pg)
	results := make([]registrationJSON, len(idx))
	for i, ri := range idx {
		results[i] = s.registrationView(&s.regs[ri])
	}
	s.mu.RUnlock()

	next, prev := pageLinks(r, pg, more)
	writeJSON(w, http.StatusOK, envelope{Results: results, Next: next, Prev: prev})
}

func (s *Sim) lookupUser(v string) (int32, bool) {
	id, ok := parseVendorID(v)
	if !ok {
		return 0, false
	}
	i, ok := s.userIndex[id]
	return i, ok
}

func (s *Sim) lookupOffering(v string) (int32, bool) {
	id, ok := parseVendorID(v)
	if !ok {
		return 0, false
	}
	i, ok := s.offeringIndex[id]
	return i, ok
}

// lookupRegistration finds a live registration. Caller holds s.mu.
func (s *Sim) lookupRegistration(v string) (*registration, bool) {
	id, ok := parseVendorID(v)
	if !ok {
		return nil, false
	}
	i, ok := s.regIndex[id]
	if !ok || s.regs[i].deleted {
		return nil, false
	}
	return &s.regs[i], true
}

const msgNoRegistration = "No registration was found with the given id."

// getRegistration is GET /registrations/{id}: 404 for an unknown or
// malformed id (providers.md §3.3).
func (s *Sim) getRegistration(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	reg, ok := s.lookupRegistration(r.PathValue("id"))
	var v registrationJSON
	if ok {
		v = s.registrationView(reg)
	}
	s.mu.RUnlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, msgNoRegistration)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

const msgNotAvailable = "This offering is not available for registration for the given user."

// createRegistration is POST /registrations (providers.md §3.3): 201, an
// empty body and a Location header; 400 when an id is missing or unknown,
// then 400 when the offering is not available to the user.
func (s *Sim) createRegistration(w http.ResponseWriter, r *http.Request) {
	fields, ok := readJSON(w, r)
	if !ok {
		return
	}
	userID, okU := stringField(fields, "userId")
	offeringID, okO := stringField(fields, "offeringId")
	missing := map[string]string{}
	if !okU || userID == "" {
		missing["userId"] = "This field is required."
	}
	if !okO || offeringID == "" {
		missing["offeringId"] = "This field is required."
	}
	if len(missing) > 0 {
		writeFieldErrors(w, http.StatusBadRequest, missing)
		return
	}

	s.mu.Lock()
	id, err := s.register(userID, offeringID, s.kit.Clock.Now().Unix())
	s.mu.Unlock()
	if err != "" {
		writeErrors(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Location", s.cfg.PathPrefix+"/registrations/"+id.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// register applies the availability rules and creates the registration;
// it returns the vendor's error message on refusal. Caller holds s.mu.
func (s *Sim) register(userID, offeringID string, now int64) (vendorID, string) {
	ui, okU := s.lookupUser(userID)
	oi, okO := s.lookupOffering(offeringID)
	switch {
	case !okU && !okO:
		return vendorID{}, "No user was found with the given userId. No offering was found with the given offeringId."
	case !okU:
		return vendorID{}, "No user was found with the given userId."
	case !okO:
		return vendorID{}, "No offering was found with the given offeringId."
	}
	if !s.available(ui, oi, now) {
		return vendorID{}, msgNotAvailable
	}
	return s.insert(ui, oi, now), ""
}

// available reports whether a user may register for an offering now
// (providers.md §3.3): registration must be open, the user must not hold an
// active registration there, and without retakes must not have completed it
// (passed or failed). An earlier ejection does not block a new registration:
// the docs list only "completed" (UNCERTAIN). Caller holds s.mu.
func (s *Sim) available(ui, oi int32, now int64) bool {
	o := &s.offerings[oi]
	if !o.registrationOpen(now) {
		return false
	}
	for _, ri := range s.byUser[ui] {
		reg := &s.regs[ri]
		if reg.offering != oi || reg.deleted {
			continue
		}
		if reg.status == statusActive {
			return false
		}
		if !o.allowRetake && (reg.status == statusPassed || reg.status == statusFailed) {
			return false
		}
	}
	return true
}

// insert appends a new active registration; the listing stays in creation
// order because the clock never runs backwards. Caller holds s.mu.
func (s *Sim) insert(ui, oi int32, now int64) vendorID {
	id := newVendorID(s.newIDs)
	for {
		if _, taken := s.regIndex[id]; !taken {
			break
		}
		id = newVendorID(s.newIDs)
	}
	i := int32(len(s.regs))
	s.regs = append(s.regs, registration{id: id, user: ui, offering: oi, grader: -1, created: now, status: statusActive})
	s.regIndex[id] = i
	s.live = append(s.live, i)
	s.byUser[ui] = append(s.byUser[ui], i)
	s.byOffering[oi] = append(s.byOffering[oi], i)
	return id
}

// updateRegistration is PUT /registrations/{id}: assign a grade
// (providers.md §3.3 "assign grade") or eject ("eject"), 204 on success.
func (s *Sim) updateRegistration(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	_, found := s.lookupRegistration(r.PathValue("id"))
	s.mu.RUnlock()
	if !found {
		writeErrors(w, http.StatusNotFound, msgNoRegistration)
		return
	}
	fields, ok := readJSON(w, r)
	if !ok {
		return
	}
	upd, bad, msg := parseUpdate(fields)
	if bad != nil {
		writeFieldErrors(w, http.StatusBadRequest, bad)
		return
	}
	if msg != "" {
		writeErrors(w, http.StatusBadRequest, msg)
		return
	}

	s.mu.Lock()
	reg, found := s.lookupRegistration(r.PathValue("id"))
	var refused string
	if found {
		refused = s.apply(reg, upd, s.kit.Clock.Now().Unix())
	}
	s.mu.Unlock()
	switch {
	case !found: // deleted between the two looks
		writeErrors(w, http.StatusNotFound, msgNoRegistration)
	case refused != "":
		writeFieldErrors(w, http.StatusBadRequest, map[string]string{"status": refused})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

type update struct {
	grade   *float64 // assign a grade
	comment string
	eject   bool
}

// parseUpdate validates a PUT body. The grade may be called "grade" (the
// documented example) or "gradePercentage" (the prose); both are accepted
// (providers.md §3.3). A status with a grade is refused, as the docs say not
// to send both.
func parseUpdate(fields map[string]json.RawMessage) (update, map[string]string, string) {
	var u update
	bad := map[string]string{}
	for _, name := range []string{"grade", "gradePercentage"} {
		raw, present := fields[name]
		if !present {
			continue
		}
		var g float64
		if err := json.Unmarshal(raw, &g); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || g < 0 || g > 100 {
			bad[name] = "The grade must be a number from 0 to 100."
			continue
		}
		if u.grade != nil && *u.grade != g {
			bad[name] = "grade and gradePercentage disagree; send one of them."
			continue
		}
		u.grade = &g
	}
	comment, ok := stringField(fields, "graderComment")
	if !ok {
		bad["graderComment"] = "graderComment must be a string."
	}
	u.comment = comment
	statusValue, hasStatus := fields["status"]
	if hasStatus {
		var st string
		switch err := json.Unmarshal(statusValue, &st); {
		case u.grade != nil || bad["grade"] != "" || bad["gradePercentage"] != "":
			bad["status"] = "The status cannot be set together with a grade; the grade decides passed or failed."
		case err != nil || st != statusEjected.String():
			bad["status"] = "The only status that can be set is ejected."
		default:
			u.eject = true
		}
	}
	if len(bad) > 0 {
		return u, bad, ""
	}
	if u.grade == nil && !u.eject {
		return u, nil, "Nothing to update: send a grade or {\"status\":\"ejected\"}."
	}
	return u, nil, ""
}

// apply performs a validated update; it returns the fieldErrors.status
// message when the state machine refuses. Caller holds s.mu.
func (s *Sim) apply(reg *registration, u update, now int64) string {
	if u.eject {
		if reg.status != statusActive {
			return "A user cannot be ejected from an offering that is no longer active; ejection is not available after completion."
		}
		reg.status = statusEjected
		reg.end = now
		return ""
	}
	// Grading halts an active registration, re-grades a completed one and
	// clears an ejection alike (providers.md §3.3); the grader is the token's
	// user (seed 000).
	s.assignGrade(reg, *u.grade, now, 0, u.comment)
	return ""
}
