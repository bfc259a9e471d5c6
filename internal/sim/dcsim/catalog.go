package dcsim

import (
	"net/http"
	"strings"
)

// userJSON carries the user fields the docs show (providers.md §3.5: id,
// firstName, lastName, username...); the full schema was not retrieved, so
// only these and email are served.
type userJSON struct {
	ID          string `json:"id"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	CreatedDate string `json:"createdDate,omitempty"`
}

func (u *user) view() userJSON {
	return userJSON{ID: u.id.String(), FirstName: u.first, LastName: u.last, Username: u.username, Email: u.email,
		CreatedDate: formatDate(u.created)}
}

// offeringJSON is the Offering object of providers.md §3.5. The passing grade
// and the retake rule are not part of it.
type offeringJSON struct {
	ID                    string   `json:"id"`
	Title                 string   `json:"title"`
	CreatedDate           string   `json:"createdDate,omitempty"`
	BeginDate             string   `json:"beginDate,omitempty"`
	EndDate               string   `json:"endDate,omitempty"`
	RegistrationBeginDate string   `json:"registrationBeginDate,omitempty"`
	RegistrationEndDate   string   `json:"registrationEndDate,omitempty"`
	CatalogDescription    string   `json:"catalogDescription,omitempty"`
	DashboardDescription  string   `json:"dashboardDescription,omitempty"`
	DeliveryDescription   string   `json:"deliveryDescription,omitempty"`
	Price                 float64  `json:"price"`
	OfferingCategoryIDs   []string `json:"offeringCategoryIds,omitempty"`
	Tags                  []string `json:"tags,omitempty"`
	OrderIndex            int      `json:"orderIndex"`
}

func (o *offering) view() offeringJSON {
	return offeringJSON{
		ID: o.id.String(), Title: o.title,
		CreatedDate: formatDate(o.created), BeginDate: formatDate(o.begin), EndDate: formatDate(o.end),
		RegistrationBeginDate: formatDate(o.regBegin), RegistrationEndDate: formatDate(o.regEnd),
		CatalogDescription: o.catalog, DashboardDescription: o.dashboard, DeliveryDescription: o.deliver,
		Price: o.price, OfferingCategoryIDs: o.categoryIDs, Tags: o.tags, OrderIndex: o.orderIndex,
	}
}

// listUsers is GET /users, paged like every collection (providers.md §3.2).
func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	pg, bad := parsePage(r.URL.Query())
	if bad != nil {
		writeFieldErrors(w, http.StatusBadRequest, bad)
		return
	}
	s.mu.RLock()
	var results []userJSON
	if pg.offset < len(s.users) {
		for i := pg.offset; i < min(len(s.users), pg.offset+pg.limit); i++ {
			results = append(results, s.users[i].view())
		}
	}
	more := pg.offset+pg.limit < len(s.users)
	s.mu.RUnlock()
	if results == nil {
		results = []userJSON{}
	}
	next, prev := pageLinks(r, pg, more)
	writeJSON(w, http.StatusOK, envelope{Results: results, Next: next, Prev: prev})
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	ui, ok := s.lookupUser(r.PathValue("id"))
	var v userJSON
	if ok {
		v = s.users[ui].view()
	}
	s.mu.RUnlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "No user was found with the given id.")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listOfferings is GET /offerings with the filters of providers.md §3.5:
// title (case-insensitive substring), tag (space- or comma-separated, all
// must match), offeringCategoryId, createdDate, and userId or studentId
// (only offerings open for registration for that user; an unknown user gets
// none).
func (s *Sim) listOfferings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, bad := parsePage(q)
	if bad == nil {
		bad = map[string]string{}
	}
	var preds []func(oi int32) bool
	if v := strings.ToLower(q.Get("title")); v != "" {
		preds = append(preds, func(oi int32) bool { return strings.Contains(strings.ToLower(s.offerings[oi].title), v) })
	}
	if v := q.Get("tag"); v != "" {
		want := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
		preds = append(preds, func(oi int32) bool {
			for _, t := range want {
				if !containsFold(s.offerings[oi].tags, t) {
					return false
				}
			}
			return true
		})
	}
	if v := q.Get("offeringCategoryId"); v != "" {
		preds = append(preds, func(oi int32) bool { return containsFold(s.offerings[oi].categoryIDs, v) })
	}
	if v := q.Get("createdDate"); v != "" {
		f, ok := parseDateFilter(v)
		if !ok {
			bad["createdDate"] = "Use a date such as 2012-03-01T06:03:10Z or 2012-03-01, or a range from,to."
		}
		preds = append(preds, func(oi int32) bool { return f.match(s.offerings[oi].created) })
	}
	if len(bad) > 0 {
		writeFieldErrors(w, http.StatusBadRequest, bad)
		return
	}
	now := s.kit.Clock.Now().Unix()

	s.mu.RLock()
	if v := q.Get("userId"); v != "" || q.Get("studentId") != "" {
		if v == "" {
			v = q.Get("studentId")
		}
		ui, known := s.lookupUser(v)
		preds = append(preds, func(oi int32) bool { return known && s.available(ui, oi, now) })
	}
	all := make([]int32, len(s.offerings))
	for i := range all {
		all[i] = int32(i)
	}
	var keep func(int32) bool
	if len(preds) > 0 {
		keep = func(oi int32) bool {
			for _, p := range preds {
				if !p(oi) {
					return false
				}
			}
			return true
		}
	}
	idx, more := window(all, keep, pg)
	results := make([]offeringJSON, len(idx))
	for i, oi := range idx {
		results[i] = s.offerings[oi].view()
	}
	s.mu.RUnlock()

	next, prev := pageLinks(r, pg, more)
	writeJSON(w, http.StatusOK, envelope{Results: results, Next: next, Prev: prev})
}

func (s *Sim) getOffering(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	oi, ok := s.lookupOffering(r.PathValue("id"))
	var v offeringJSON
	if ok {
		v = s.offerings[oi].view()
	}
	s.mu.RUnlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "No offering was found with the given id.")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
