package absorbsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file is the `_filter` language of providers.md §2.5 (the OData subset
// Absorb documents in seed 003): operators eq ne gt ge lt le and or not and
// parentheses; literals 'string' ('' escapes a quote), numbers, true, false,
// null, guid'…' and datetime'…'; the functions substringof, startswith,
// endswith, tolower and toupper; and nested paths a/b. It is a real parser
// (tokenizer + recursive descent) so that a connector's malformed filter
// gets a 400 here instead of silently matching everything.

// kind is the type of a field or expression.
type kind uint8

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindBool
	kindGUID
	kindTime
)

func (k kind) String() string {
	return [...]string{"null", "string", "number", "boolean", "guid", "datetime"}[k]
}

// value is one field value or literal. Times are Unix nanoseconds so that a
// literal with fractions compares correctly with whole-second data.
type value struct {
	k kind
	s string
	n float64
	b bool
	g guid
	t int64
}

func nullValue() value            { return value{} }
func stringValue(s string) value  { return value{k: kindString, s: s} }
func numberValue(n float64) value { return value{k: kindNumber, n: n} }
func boolValue(b bool) value      { return value{k: kindBool, b: b} }
func guidValue(g guid) value {
	if g.isZero() {
		return value{}
	}
	return value{k: kindGUID, g: g}
}

// timeValue turns stored Unix seconds (0 = no date) into a value.
func timeValue(sec int64) value {
	if sec == 0 {
		return value{}
	}
	return value{k: kindTime, t: sec * int64(time.Second)}
}

// compareValues orders two values of the same kind; null sorts first.
func compareValues(a, b value) int {
	if a.k == kindNull || b.k == kindNull {
		switch {
		case a.k == b.k:
			return 0
		case a.k == kindNull:
			return -1
		default:
			return 1
		}
	}
	switch a.k {
	case kindString:
		return strings.Compare(a.s, b.s)
	case kindNumber:
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	case kindBool:
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	case kindGUID:
		return strings.Compare(string(a.g[:]), string(b.g[:]))
	case kindTime:
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
	}
	return 0
}

// field is one filterable and sortable property of a resource.
type field[T any] struct {
	kind kind
	get  func(T) value
}

// schema maps property paths ("status", "customFields/string1") to fields.
// Names are matched exactly (camelCase, as the JSON spells them): a wrong
// case is a 400, which keeps connectors honest about field names.
type schema[T any] map[string]field[T]

func (s schema[T]) names() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	return strings.Join(sortedStrings(keys), ", ")
}

// filterError is a bad `_filter` expression; its message goes to the client.
type filterError struct {
	pos int
	msg string
}

func (e *filterError) Error() string {
	return fmt.Sprintf("invalid _filter at position %d: %s", e.pos+1, e.msg)
}

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokGUID
	tokDatetime
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokenKind
	text string
	pos  int
}

func tokenize(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case c == '\'':
			s, next, err := readQuoted(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, s, i})
			i = next
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			start := i
			i++
			for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '.') {
				i++
			}
			text := src[start:i]
			// OData v2 type suffixes: 50m (decimal), 2L (int64), 1.5d, 1.5f.
			if i < len(src) && strings.IndexByte("mMlLdDfF", src[i]) >= 0 && (i+1 == len(src) || !isIdentPart(src[i+1])) {
				i++
			}
			toks = append(toks, token{tokNumber, text, start})
		case isIdentStart(c):
			start := i
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			word := src[start:i]
			if i < len(src) && src[i] == '\'' && (word == "guid" || word == "datetime" || word == "datetimeoffset") {
				s, next, err := readQuoted(src, i)
				if err != nil {
					return nil, err
				}
				kind := tokGUID
				if word != "guid" {
					kind = tokDatetime
				}
				toks = append(toks, token{kind, s, start})
				i = next
				continue
			}
			toks = append(toks, token{tokIdent, word, start})
		default:
			return nil, &filterError{i, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(toks, token{tokEOF, "", len(src)}), nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '/' || c == '.'
}

// readQuoted reads a quoted literal whose opening quote is at src[start].
func readQuoted(src string, start int) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(src) {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(src[i])
		i++
	}
	return "", 0, &filterError{start, "unterminated quoted literal"}
}

// expr is a compiled, type-checked sub-expression.
type expr[T any] struct {
	kind   kind
	eval   func(T) value
	pos    int
	nested bool   // a field reached through a/b
	lit    *value // set for literals
}

type parser[T any] struct {
	toks   []token
	i      int
	fields schema[T]
}

// compileFilter parses src against fields and returns a predicate.
func compileFilter[T any](src string, fields schema[T]) (func(T) bool, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser[T]{toks: toks, fields: fields}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &filterError{t.pos, fmt.Sprintf("unexpected %q after a complete expression", t.text)}
	}
	if e.kind != kindBool {
		return nil, &filterError{e.pos, "the filter must be a boolean expression, such as status eq 3"}
	}
	eval := e.eval
	return func(v T) bool { r := eval(v); return r.k == kindBool && r.b }, nil
}

func (p *parser[T]) peek() token { return p.toks[p.i] }
func (p *parser[T]) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser[T]) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tokIdent && t.text == word
}

func (p *parser[T]) parseOr() (expr[T], error) {
	left, err := p.parseAnd()
	if err != nil {
		return left, err
	}
	for p.isKeyword("or") {
		op := p.next()
		right, err := p.parseAnd()
		if err != nil {
			return right, err
		}
		if err := needBool(op, left, right); err != nil {
			return left, err
		}
		l, r := left.eval, right.eval
		left = expr[T]{kind: kindBool, pos: left.pos, eval: func(v T) value {
			return boolValue(l(v).b || r(v).b)
		}}
	}
	return left, nil
}

func (p *parser[T]) parseAnd() (expr[T], error) {
	left, err := p.parseNot()
	if err != nil {
		return left, err
	}
	for p.isKeyword("and") {
		op := p.next()
		right, err := p.parseNot()
		if err != nil {
			return right, err
		}
		if err := needBool(op, left, right); err != nil {
			return left, err
		}
		l, r := left.eval, right.eval
		left = expr[T]{kind: kindBool, pos: left.pos, eval: func(v T) value {
			return boolValue(l(v).b && r(v).b)
		}}
	}
	return left, nil
}

func (p *parser[T]) parseNot() (expr[T], error) {
	if p.isKeyword("not") {
		op := p.next()
		inner, err := p.parseNot()
		if err != nil {
			return inner, err
		}
		if inner.kind != kindBool {
			return inner, &filterError{op.pos, "not needs a boolean operand"}
		}
		f := inner.eval
		return expr[T]{kind: kindBool, pos: op.pos, eval: func(v T) value { return boolValue(!f(v).b) }}, nil
	}
	return p.parseComparison()
}

func needBool[T any](op token, left, right expr[T]) error {
	if left.kind != kindBool || right.kind != kindBool {
		return &filterError{op.pos, op.text + " needs boolean operands on both sides"}
	}
	return nil
}

// comparison returns the test a comparison operator applies to a
// compareValues result.
func comparison(op string) (func(c int) bool, bool) {
	switch op {
	case "eq":
		return func(c int) bool { return c == 0 }, true
	case "ne":
		return func(c int) bool { return c != 0 }, true
	case "gt":
		return func(c int) bool { return c > 0 }, true
	case "ge":
		return func(c int) bool { return c >= 0 }, true
	case "lt":
		return func(c int) bool { return c < 0 }, true
	case "le":
		return func(c int) bool { return c <= 0 }, true
	}
	return nil, false
}

func (p *parser[T]) parseComparison() (expr[T], error) {
	left, err := p.parsePrimary()
	if err != nil {
		return left, err
	}
	t := p.peek()
	test, ok := comparison(t.text)
	if t.kind != tokIdent || !ok {
		return left, nil
	}
	op := p.next()
	right, err := p.parsePrimary()
	if err != nil {
		return right, err
	}
	if err := checkComparable(op, left, right); err != nil {
		return left, err
	}
	l, r := left.eval, right.eval
	ordering := op.text != "eq" && op.text != "ne"
	return expr[T]{kind: kindBool, pos: left.pos, eval: func(v T) value {
		a, b := l(v), r(v)
		if a.k == kindNull || b.k == kindNull {
			// Like SQL: null equals only null and has no order.
			if ordering {
				return boolValue(false)
			}
			return boolValue(test(boolToCmp(a.k != b.k)))
		}
		return boolValue(test(compareValues(a, b)))
	}}, nil
}

func boolToCmp(different bool) int {
	if different {
		return 1
	}
	return 0
}

func checkComparable[T any](op token, left, right expr[T]) error {
	blankAgainstNested := func(f, other expr[T]) bool {
		return f.nested && other.lit != nil && (other.lit.k == kindNull || other.lit.k == kindString && other.lit.s == "")
	}
	if blankAgainstNested(left, right) || blankAgainstNested(right, left) {
		// providers.md §2.5 [A9]: nested-property filters support
		// neither blank strings nor null.
		return &filterError{op.pos, "blank strings and null are not supported in nested-property filters"}
	}
	if left.kind == kindNull || right.kind == kindNull {
		if op.text != "eq" && op.text != "ne" {
			return &filterError{op.pos, "null can only be compared with eq or ne"}
		}
		return nil
	}
	if left.kind != right.kind {
		hint := ""
		switch {
		case left.kind == kindGUID || right.kind == kindGUID:
			hint = " (write GUIDs as guid'…')"
		case left.kind == kindTime || right.kind == kindTime:
			hint = " (write dates as datetime'2024-01-31T00:00:00')"
		}
		return &filterError{op.pos, fmt.Sprintf("cannot compare %s with %s%s", left.kind, right.kind, hint)}
	}
	if (left.kind == kindBool || left.kind == kindGUID) && op.text != "eq" && op.text != "ne" {
		return &filterError{op.pos, fmt.Sprintf("%s values can only be compared with eq or ne", left.kind)}
	}
	return nil
}

func (p *parser[T]) parsePrimary() (expr[T], error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		inner, err := p.parseOr()
		if err != nil {
			return inner, err
		}
		if c := p.next(); c.kind != tokRParen {
			return inner, &filterError{c.pos, "missing closing parenthesis"}
		}
		inner.lit, inner.nested = nil, false
		return inner, nil
	case tokString:
		return literal[T](t.pos, stringValue(t.text)), nil
	case tokNumber:
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return expr[T]{}, &filterError{t.pos, fmt.Sprintf("bad number %q", t.text)}
		}
		return literal[T](t.pos, numberValue(n)), nil
	case tokGUID:
		g, ok := parseGUID(t.text)
		if !ok {
			return expr[T]{}, &filterError{t.pos, fmt.Sprintf("bad guid literal %q", t.text)}
		}
		return literal[T](t.pos, value{k: kindGUID, g: g}), nil
	case tokDatetime:
		tm, err := parseAbsorbTime(t.text)
		if err != nil {
			return expr[T]{}, &filterError{t.pos, fmt.Sprintf("bad datetime literal %q: use yyyy-MM-ddTHH:mm:ss", t.text)}
		}
		return literal[T](t.pos, value{k: kindTime, t: tm.UnixNano()}), nil
	case tokIdent:
		switch t.text {
		case "true", "false":
			return literal[T](t.pos, boolValue(t.text == "true")), nil
		case "null":
			return literal[T](t.pos, nullValue()), nil
		}
		if p.peek().kind == tokLParen {
			return p.parseCall(t)
		}
		f, ok := p.fields[t.text]
		if !ok {
			if _, isOp := comparison(t.text); isOp || t.text == "and" || t.text == "or" || t.text == "not" {
				return expr[T]{}, &filterError{t.pos, fmt.Sprintf("expected a field or value, found operator %q", t.text)}
			}
			return expr[T]{}, &filterError{t.pos, fmt.Sprintf("unknown or unfilterable field %q; filterable fields: %s", t.text, p.fields.names())}
		}
		return expr[T]{kind: f.kind, eval: f.get, pos: t.pos, nested: strings.Contains(t.text, "/")}, nil
	case tokEOF:
		return expr[T]{}, &filterError{t.pos, "unexpected end of expression"}
	default:
		return expr[T]{}, &filterError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	}
}

func literal[T any](pos int, v value) expr[T] {
	return expr[T]{kind: v.k, pos: pos, lit: &v, eval: func(T) value { return v }}
}

// parseCall parses one of the five documented functions.
func (p *parser[T]) parseCall(name token) (expr[T], error) {
	p.next() // (
	var args []expr[T]
	for {
		if len(args) == 0 && p.peek().kind == tokRParen {
			break
		}
		a, err := p.parseOr()
		if err != nil {
			return a, err
		}
		args = append(args, a)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	if c := p.next(); c.kind != tokRParen {
		return expr[T]{}, &filterError{c.pos, fmt.Sprintf("missing ) after the arguments of %s", name.text)}
	}
	wantStrings := func(n int) error {
		if len(args) != n {
			return &filterError{name.pos, fmt.Sprintf("%s takes %d argument(s), got %d", name.text, n, len(args))}
		}
		for _, a := range args {
			if a.kind != kindString {
				return &filterError{a.pos, fmt.Sprintf("%s needs string arguments, got %s", name.text, a.kind)}
			}
		}
		return nil
	}
	switch name.text {
	case "tolower", "toupper":
		if err := wantStrings(1); err != nil {
			return expr[T]{}, err
		}
		f, conv := args[0].eval, strings.ToLower
		if name.text == "toupper" {
			conv = strings.ToUpper
		}
		return expr[T]{kind: kindString, pos: name.pos, nested: args[0].nested, eval: func(v T) value {
			x := f(v)
			if x.k != kindString {
				return x
			}
			return stringValue(conv(x.s))
		}}, nil
	case "substringof", "startswith", "endswith":
		if err := wantStrings(2); err != nil {
			return expr[T]{}, err
		}
		a, b := args[0].eval, args[1].eval
		var test func(x, y string) bool
		switch name.text {
		case "substringof": // substringof('v', field): field contains v
			test = func(x, y string) bool { return strings.Contains(y, x) }
		case "startswith":
			test = strings.HasPrefix
		default:
			test = strings.HasSuffix
		}
		return expr[T]{kind: kindBool, pos: name.pos, eval: func(v T) value {
			x, y := a(v), b(v)
			if x.k != kindString || y.k != kindString {
				return boolValue(false)
			}
			return boolValue(test(x.s, y.s))
		}}, nil
	}
	return expr[T]{}, &filterError{name.pos, fmt.Sprintf("unsupported function %q; supported: substringof, startswith, endswith, tolower, toupper", name.text)}
}

// parseAbsorbTime reads the date forms Absorb accepts (providers.md §2.6:
// yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss.fff), with an optional zone. A time
// without a zone is taken as UTC, which is what the simulator emits.
func parseAbsorbTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}
