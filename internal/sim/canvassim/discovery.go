package canvassim

import "net/http"

// The discovery routes let a client find the courses, users and sections
// that enrollments point at. They page by number (with prev and last),
// unlike the bookmarked enrollment lists.

func (s *Sim) listAccountCourses(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.accountMatches(c.r.PathValue("account_id")) {
		c.notFound()
		return
	}
	start, end := c.ordinalRange(len(s.st.courses))
	out := make([]courseJSON, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, c.renderCourse(&s.st.courses[i]))
	}
	c.json(http.StatusOK, out)
}

// showCourse serves unpublished and concluded courses too: the token is an
// account admin.
func (s *Sim) showCourse(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	co, ok := s.st.findCourse(c.r.PathValue("id"))
	if !ok {
		c.notFound()
		return
	}
	c.json(http.StatusOK, c.renderCourse(&s.st.courses[co]))
}

// listAccountUsers lists users by sortable name, as Canvas does.
func (s *Sim) listAccountUsers(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.accountMatches(c.r.PathValue("account_id")) {
		c.notFound()
		return
	}
	start, end := c.ordinalRange(len(s.st.byRank))
	out := make([]userJSON, 0, end-start)
	for _, u := range s.st.byRank[start:end] {
		out = append(out, c.renderUser(&s.st.users[u]))
	}
	c.json(http.StatusOK, out)
}

func (s *Sim) listCourseSections(c *call) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	co, ok := s.st.findCourse(c.r.PathValue("course_id"))
	if !ok {
		c.notFound()
		return
	}
	secs := s.st.courses[co].sections
	start, end := c.ordinalRange(len(secs))
	out := make([]sectionJSON, 0, end-start)
	for _, sec := range secs[start:end] {
		out = append(out, c.renderSection(s.st, &s.st.sections[sec]))
	}
	c.json(http.StatusOK, out)
}
