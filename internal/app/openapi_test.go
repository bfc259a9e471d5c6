package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/registrarhq/registrar/internal/app"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenOpenAPI is the committed OpenAPI document, for readers of the
// repository and for client generators.
const goldenOpenAPI = "../../docs/openapi.json"

func openAPIDocument(t *testing.T) []byte {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	doc, err := app.OpenAPIJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIGolden keeps docs/openapi.json equal to what the handlers
// generate. After changing the API, run:
//
//	go test ./internal/app -run TestOpenAPIGolden -update
func TestOpenAPIGolden(t *testing.T) {
	doc := openAPIDocument(t)
	if *update {
		if err := os.WriteFile(goldenOpenAPI, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenOpenAPI)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/app -run TestOpenAPIGolden -update)", err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatal("docs/openapi.json is stale: the API changed. Review and regenerate with: go test ./internal/app -run TestOpenAPIGolden -update")
	}
}

func TestOpenAPIIsValid31(t *testing.T) {
	doc := openAPIDocument(t)
	parsed, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	if v := parsed.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("OpenAPI version %s, want 3.1.x", v)
	}
	v, errs := validator.NewValidator(parsed)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	ok, verrs := v.ValidateDocument()
	if !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s (%s)", e.Message, e.Reason, e.HowToFix)
		}
	}
}

// TestEveryErrorIsDocumented: each /v1 operation documents its error
// answers as problem+json, including the ones every authenticated route can
// give (400, 401, 500) and the ones every write can give (403, 413).
func TestEveryErrorIsDocumented(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument(t), &doc); err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method, o := range ops {
			want := []string{"400", "401", "500"}
			if method != "get" {
				want = append(want, "403", "413")
			}
			for _, code := range want {
				r, ok := o.Responses[code]
				if !ok {
					t.Errorf("%s %s does not document %s", strings.ToUpper(method), path, code)
					continue
				}
				if _, ok := r.Content["application/problem+json"]; !ok {
					t.Errorf("%s %s %s is not application/problem+json", strings.ToUpper(method), path, code)
				}
			}
		}
	}
}
