package app_test

import (
	"encoding/json"
	"testing"
)

// TestWriteProblemsAreDocumented: every answer a write route can give is in
// the OpenAPI document as problem+json, and the Idempotency-Key header and
// the Idempotent-Replayed answer header are described.
func TestWriteProblemsAreDocumented(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			Responses  map[string]struct {
				Headers map[string]any `json:"headers"`
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument(t), &doc); err != nil {
		t.Fatal(err)
	}
	writes := []struct{ method, path, success string }{
		{"post", "/v1/connections/{cid}/course-enrollments", "201"},
		{"patch", "/v1/connections/{cid}/course-enrollments/{id}", "200"},
		{"delete", "/v1/connections/{cid}/course-enrollments/{id}", "200"},
		{"post", "/v1/connections/{cid}/course-enrollments/{id}/accept", "200"},
		{"post", "/v1/connections/{cid}/course-enrollments/{id}/reject", "200"},
		{"post", "/v1/connections/{cid}/course-enrollments/{id}/lesson-attempts", "201"},
		{"put", "/v1/connections/{cid}/course-enrollments/{id}/lesson-attempts/{attempt_id}", "200"},
	}
	for _, w := range writes {
		o, ok := doc.Paths[w.path][w.method]
		if !ok {
			t.Errorf("%s %s is not in the document", w.method, w.path)
			continue
		}
		for _, code := range []string{"400", "401", "403", "404", "409", "413", "422", "500", "502", "503"} {
			if _, ok := o.Responses[code].Content["application/problem+json"]; !ok {
				t.Errorf("%s %s does not document %s as a problem", w.method, w.path, code)
			}
		}
		if _, ok := o.Responses[w.success].Headers["Idempotent-Replayed"]; !ok {
			t.Errorf("%s %s: %s lacks the Idempotent-Replayed header", w.method, w.path, w.success)
		}
		found := false
		for _, p := range o.Parameters {
			found = found || (p.In == "header" && p.Name == "Idempotency-Key")
		}
		if !found {
			t.Errorf("%s %s does not take Idempotency-Key", w.method, w.path)
		}
	}
	for _, p := range []string{"/v1/connections/{cid}/users", "/v1/connections/{cid}/courses"} {
		if _, ok := doc.Paths[p]["get"].Responses["404"].Content["application/problem+json"]; !ok {
			t.Errorf("GET %s does not document 404", p)
		}
	}
}
