package absorbsim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type row struct {
	name    string
	status  float64
	id      guid
	edited  int64
	active  bool
	custom  string
	missing bool // dateCompleted is null
}

func rowFields() schema[row] {
	return schema[row]{
		"name":     {kindString, func(r row) value { return stringValue(r.name) }},
		"status":   {kindNumber, func(r row) value { return numberValue(r.status) }},
		"id":       {kindGUID, func(r row) value { return guidValue(r.id) }},
		"isActive": {kindBool, func(r row) value { return boolValue(r.active) }},
		"dateEdited": {kindTime, func(r row) value {
			return timeValue(r.edited)
		}},
		"dateCompleted": {kindTime, func(r row) value {
			if r.missing {
				return nullValue()
			}
			return timeValue(r.edited)
		}},
		"customFields/string1": {kindString, func(r row) value { return stringValue(r.custom) }},
	}
}

func TestFilterExpressions(t *testing.T) {
	t.Parallel()
	id, _ := parseGUID("3f2504e0-4f89-41d3-9a0c-0305e82c3301")
	edited := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).Unix()
	r := row{name: "Björn O'Brien", status: 3, id: id, edited: edited, active: true, custom: "EMP-1", missing: true}
	tests := []struct {
		expr string
		want bool
	}{
		// providers.md §2.5: operators eq ne gt ge lt le and or not ( ).
		{"status eq 3", true},
		{"status ne 3", false},
		{"status gt 2 and status lt 4", true},
		{"status ge 3 and status le 3", true},
		{"status eq 1 or status eq 3", true},
		{"not (status eq 3)", false},
		{"not status eq 1", true},
		{"(status eq 1 or status eq 3) and isActive eq true", true},
		{"status eq 1 or status eq 3 and isActive eq false", false}, // and binds tighter than or
		{"status eq -1", false},
		{"status eq 3.0", true},
		{"status eq 3m and status lt 4L", true},
		{"dateEdited eq datetimeoffset'2024-05-01T10:00:00Z'", true},
		{"isActive", true},
		{"isActive and not isActive", false},
		// providers.md §2.5: typed literals guid'…' and datetime'…'.
		{"id eq guid'3f2504e0-4f89-41d3-9a0c-0305e82c3301'", true},
		{"id eq guid'3F2504E0-4F89-41D3-9A0C-0305E82C3301'", true},
		{"id ne guid'00000000-0000-4000-8000-000000000000'", true},
		{"dateEdited ge datetime'2024-05-01T10:00:00'", true},
		{"dateEdited gt datetime'2024-05-01T10:00:00'", false},
		{"dateEdited gt datetime'2024-05-01T09:59:59.5'", true},
		{"dateEdited lt datetime'2024-05-02'", true},
		{"dateEdited ge datetime'2024-05-01T12:00:00+02:00'", true},
		{"dateCompleted eq null", true},
		{"dateCompleted ne null", false},
		{"dateCompleted ge datetime'2000-01-01'", false}, // null has no order
		// Strings, with '' escaping a quote; comparisons are ordinal (UNCERTAIN collation).
		{"name eq 'Björn O''Brien'", true},
		{"name eq 'björn o''brien'", false},
		{"name gt 'A'", true},
		// providers.md §2.5: functions.
		{"startswith(name,'Bj')", true},
		{"endswith(name,'Brien')", true},
		{"substringof('O''B',name)", true},
		{"substringof(name,'O''B')", false},
		{"startswith(tolower(name),'björn')", true},
		{"toupper(name) eq 'BJÖRN O''BRIEN'", true},
		{"startswith(name,'x') eq false", true},
		// providers.md §2.5: nested paths a/b.
		{"customFields/string1 eq 'EMP-1'", true},
		{"startswith(customFields/string1,'EMP')", true},
		{"  status   eq   3  ", true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := compileFilter(tc.expr, rowFields())
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if got := f(r); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want string // part of the message
	}{
		{"status eq", "unexpected end"},
		{"status eq 3 and", "unexpected end"},
		{"(status eq 3", "missing closing parenthesis"},
		{"status eq 3)", "after a complete expression"},
		{"status", "must be a boolean"},
		{"status = 3", "unexpected character"},
		{"name eq 'open", "unterminated"},
		{"nope eq 1", "unknown or unfilterable field \"nope\""},
		{"Status eq 3", "unknown or unfilterable field \"Status\""}, // names are camelCase, case-sensitive
		{"name eq 3", "cannot compare string with number"},
		{"id eq '3f2504e0-4f89-41d3-9a0c-0305e82c3301'", "guid'"},
		{"dateEdited ge '2024-01-01'", "datetime'"},
		{"id gt guid'3f2504e0-4f89-41d3-9a0c-0305e82c3301'", "only be compared with eq or ne"},
		{"id eq guid'not-a-guid'", "bad guid literal"},
		{"dateEdited ge datetime'yesterday'", "bad datetime literal"},
		{"status gt null", "null can only be compared"},
		{"length(name) eq 3", "unsupported function"},
		{"startswith(name)", "takes 2 argument"},
		{"startswith(status,'3')", "needs string arguments"},
		{"tolower(name)", "must be a boolean"},
		{"status eq 3 and name", "boolean operands"},
		{"not name", "boolean operand"},
		{"eq 3", "found operator"},
		// providers.md §2.5 [A9]: no blanks or null in nested-property filters.
		{"customFields/string1 eq ''", "nested-property"},
		{"customFields/string1 eq null", "nested-property"},
		{"", "unexpected end"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := compileFilter(tc.expr, rowFields())
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("want a filterError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
