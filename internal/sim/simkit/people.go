package simkit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fake people: realistic, deterministic, and deliberately international, so
// that connectors and stores meet non-ASCII names from the first test.
var (
	firstNames = []string{
		"Ada", "Björn", "Chloé", "Dmitri", "Émilie", "Farah", "Günther", "Hana", "Ingrid", "José",
		"Kaito", "Léa", "Mårten", "Nadia", "Oğuz", "Priya", "Quentin", "Renée", "Søren", "Tomás",
		"Ulrike", "Vũ", "Wojciech", "Xiomara", "Yusuf", "Zoë", "Aisha", "Ben", "Carla", "David",
		"Elena", "Frank", "Grace", "Henry", "Isabel", "Jamal", "Karin", "Liam", "Maya", "Noah",
		"Olivia", "Pedro", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wendy", "Yara", "Zane",
	}
	lastNames = []string{
		"Åberg", "Bauer", "Castaño", "Dvořák", "Eriksson", "Fernández", "García", "Håkansson", "Ibáñez", "Jürgens",
		"Kowalczyk", "López", "Müller", "Nguyễn", "O'Brien", "Pérez", "Quiñones", "Rødland", "Schäfer", "Tanaka",
		"Újvári", "Vasquez", "Weiß", "Yılmaz", "Zieliński", "Adams", "Brown", "Clark", "Davis", "Evans",
		"Foster", "Green", "Hughes", "Irwin", "Johnson", "King", "Lewis", "Martin", "Nelson", "Owens",
		"Parker", "Reed", "Smith", "Turner", "Underwood", "Walker", "Young", "Zimmerman", "Singh", "Kim",
	}
	courseTopics = []string{
		"Workplace Safety", "Data Privacy Essentials", "Anti-Harassment Training", "Fire Warden Certification",
		"First Aid Refresher", "Information Security Awareness", "Code of Conduct", "Manual Handling",
		"Anti-Bribery and Corruption", "Diversity and Inclusion", "Leadership Foundations", "Customer Service Excellence",
		"Project Management Basics", "Financial Compliance", "Food Hygiene Level 2", "Forklift Operation",
		"HIPAA for Clinicians", "GDPR for Managers", "Ergonomics at Work", "Cybersecurity Phishing Drill",
	}
)

// Person is a fake learner.
type Person struct {
	First string
	Last  string
	Email string
	Login string
}

// Name is "First Last".
func (p Person) Name() string { return p.First + " " + p.Last }

// SortableName is "Last, First" (Canvas's sortable_name).
func (p Person) SortableName() string { return p.Last + ", " + p.First }

// PersonAt returns the i-th person of a data set made from seed. The same
// (seed, i) always gives the same person; emails are unique per i.
func PersonAt(seed uint64, i int) Person {
	r := rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15+1))
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	login := fmt.Sprintf("%s.%s%d", asciiFold(first), asciiFold(last), i)
	return Person{
		First: first,
		Last:  last,
		Login: login,
		Email: login + "@example.com",
	}
}

// CourseTitleAt returns the i-th course title of a data set.
func CourseTitleAt(seed uint64, i int) string {
	r := rand.New(rand.NewPCG(seed^0xc0ffee, uint64(i)+7))
	topic := courseTopics[r.IntN(len(courseTopics))]
	return fmt.Sprintf("%s %d", topic, 100+i)
}

// asciiFold lowercases and strips accents for logins and emails.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ø' || r == 'Ø':
			b.WriteRune('o')
		case r == 'ß':
			b.WriteString("ss")
		case r == 'ı':
			b.WriteRune('i')
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// RNG returns a deterministic generator for a named stream of a data set, so
// that adding a stream does not shift the values of the others.
func RNG(seed uint64, stream string) *rand.Rand {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(stream); i++ {
		h ^= uint64(stream[i])
		h *= 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}
