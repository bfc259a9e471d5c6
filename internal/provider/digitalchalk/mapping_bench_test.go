package digitalchalk

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/registrarhq/registrar/internal/lms"
)

// BenchmarkMapEnrollment decodes one vendor registration (the fully
// populated fixture) and maps it to the unified record with its user, as
// every page of a sync does per record.
func BenchmarkMapEnrollment(b *testing.B) {
	raw, err := os.ReadFile("testdata/fully_populated.json")
	if err != nil {
		b.Fatal(err)
	}
	var users page[user]
	usersRaw, err := os.ReadFile("testdata/users.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(usersRaw, &users); err != nil {
		b.Fatal(err)
	}
	people := map[string]lms.User{}
	for _, u := range users.Results {
		people[u.ID] = toUser(u)
	}
	b.ReportAllocs()
	for b.Loop() {
		var r registration
		if err := json.Unmarshal(raw, &r); err != nil {
			b.Fatal(err)
		}
		_ = toEnrollment(r, userOf(people, r.UserID), nil)
	}
}
