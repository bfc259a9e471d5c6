package app

import "encoding/json"

// OpenAPIJSON renders the API's OpenAPI 3.1 document, indented, as committed
// in docs/openapi.json and served at /openapi.json.
func OpenAPIJSON(a *App) ([]byte, error) {
	b, err := json.MarshalIndent(a.API.OpenAPI(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
