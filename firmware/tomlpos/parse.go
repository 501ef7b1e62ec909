package tomlpos

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Local date and time values (TOML 1.0 §Local Date-Time, §Local Date,
// §Local Time): a date or time of day without an offset. No config key takes
// one; they exist so that such a value is read and then refused by its type.
type (
	LocalDate struct{ Year, Month, Day int }
	LocalTime struct{ Hour, Minute, Second, Nanosecond int }
	// LocalDateTime is a local date and time of day.
	LocalDateTime struct {
		LocalDate
		LocalTime
	}
)

// Doc is a parsed TOML document: the tree (tables as map[string]any;
// string, int64, float64, bool, time.Time for an offset date-time, the
// Local* types, []any) and the line of every key path.
type Doc struct {
	Tree    map[string]any
	Pos     map[string]int // key path (see FieldPath) -> line where it is set or its table header
	Entries int            // keys, table headers and array elements
}

// Parse parses a TOML 1.0 document in one pass: the tree, the line of every
// key path, keys and tables defined twice, and the limits of lim (nesting
// of arrays and inline tables, parts of a dotted key, entries). lines are
// data's LineStarts.
//
// A syntax error or a broken limit ends the parse and is the one problem
// returned, with the offset of the start of the expression it is in (see
// Problem.Expr); keys and tables defined twice are all reported. Parse
// never panics, and its recursion is bounded by lim.Depth.
func Parse(data []byte, lines []int, lim Limits) (*Doc, []Problem) {
	p := &parser{b: data, lines: lines, lim: lim, defs: map[string]def{}, arrays: map[string]int{}, expr: -1,
		doc: &Doc{Tree: map[string]any{}, Pos: map[string]int{}}}
	p.cur = p.doc.Tree
	if err := p.document(); err != nil {
		return nil, []Problem{*err}
	}
	if len(p.conflicts) > 0 {
		return nil, p.conflicts
	}
	return p.doc, nil
}

type parser struct {
	b     []byte
	i     int
	lines []int
	lim   Limits
	doc   *Doc
	depth int
	expr  int // offset of the expression being parsed

	defs      map[string]def
	arrays    map[string]int // [[table]] path -> elements seen
	cur       map[string]any // the table keys go into
	curPath   []string
	conflicts []Problem
}

// errAt is a syntax error at offset off.
func (p *parser) errAt(off int, format string, args ...any) *Problem {
	if off > len(p.b) {
		off = len(p.b)
	}
	line := LineOf(p.lines, off)
	return &Problem{Line: line, Column: utf8.RuneCount(p.b[p.lines[line-1]:off]) + 1, Expr: p.expr, Off: off,
		Msg: "syntax error: " + OneLine(fmt.Sprintf(format, args...))}
}

func (p *parser) lineAt(off int) int { return LineOf(p.lines, off) }

func (p *parser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) eof() bool { return p.i >= len(p.b) }

// ws skips spaces and tabs.
func (p *parser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t') {
		p.i++
	}
}

// comment skips a comment up to (not including) the newline; control
// characters other than tab are not allowed in one.
func (p *parser) comment() *Problem {
	if p.peek() != '#' {
		return nil
	}
	for p.i++; p.i < len(p.b) && p.b[p.i] != '\n'; p.i++ {
		if c := p.b[p.i]; c == '\r' && p.i+1 < len(p.b) && p.b[p.i+1] == '\n' {
			return nil
		} else if c < 0x20 && c != '\t' || c == 0x7f {
			return p.errAt(p.i, "control character %U in a comment", c)
		}
	}
	return nil
}

// newline consumes LF or CRLF, reporting whether there was one.
func (p *parser) newline() bool {
	switch {
	case p.peek() == '\n':
		p.i++
		return true
	case p.peek() == '\r' && p.i+1 < len(p.b) && p.b[p.i+1] == '\n':
		p.i += 2
		return true
	}
	return false
}

// endOfLine expects optional whitespace and a comment, then a newline or
// the end of the file.
func (p *parser) endOfLine() *Problem {
	p.ws()
	if err := p.comment(); err != nil {
		return err
	}
	if p.eof() || p.newline() {
		return nil
	}
	return p.errAt(p.i, "expected the end of the line, found %s", p.what())
}

// what describes the input at p.i for a message.
func (p *parser) what() string {
	if p.eof() {
		return "the end of the file"
	}
	r, _ := utf8.DecodeRune(p.b[p.i:])
	if r == '\n' || r == '\r' {
		return "the end of the line"
	}
	if r == utf8.RuneError {
		return "invalid UTF-8"
	}
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("%U", r)
	}
	return fmt.Sprintf("%q", r)
}

func (p *parser) document() *Problem {
	if !utf8.Valid(p.b) {
		off := 0
		for off < len(p.b) {
			r, n := utf8.DecodeRune(p.b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return p.errAt(off, "invalid UTF-8")
	}
	for {
		p.ws()
		if err := p.comment(); err != nil {
			return err
		}
		if p.eof() {
			return nil
		}
		if p.newline() {
			continue
		}
		p.expr = p.i
		var err *Problem
		if p.peek() == '[' {
			err = p.header()
		} else {
			err = p.keyval(p.cur, p.curPath)
		}
		if err == nil {
			err = p.endOfLine()
		}
		if err != nil {
			return err
		}
	}
}

// count counts an entry and checks the limits on entries and key parts.
func (p *parser) count(line int, key []string) *Problem {
	p.doc.Entries++
	switch {
	case p.doc.Entries > p.lim.Entries:
		return &Problem{Line: line, Expr: p.expr, Msg: fmt.Sprintf("syntax error: too many keys, tables and array elements (more than %d)", p.lim.Entries)}
	case len(key) > p.lim.Depth:
		return &Problem{Line: line, Expr: p.expr, Msg: fmt.Sprintf("syntax error: dotted key with more than %d parts", p.lim.Depth)}
	}
	return nil
}

func (p *parser) conflict(line int, path []string, format string, args ...any) {
	p.conflicts = append(p.conflicts, Problem{Line: line, Field: FieldPath(path), Msg: OneLine(fmt.Sprintf(format, args...))})
}

func (p *parser) record(path []string, kind defKind, line int) {
	k := FieldPath(path)
	p.defs[k] = def{kind, line}
	if _, ok := p.doc.Pos[k]; !ok || kind == defTable {
		p.doc.Pos[k] = line
	}
}

// descend walks (creating as kind) the tables of key below m at path,
// following an array of tables into its last element. It returns the last
// table and its path, or nil after a conflict.
func (p *parser) descend(m map[string]any, path, key []string, kind defKind, line int) (map[string]any, []string) {
	path = clone(path)
	for _, k := range key {
		path = append(path, k)
		switch v := m[k].(type) {
		case nil:
			n := map[string]any{}
			m[k] = n
			p.record(path, kind, line)
			m = n
		case map[string]any:
			if d := p.defs[FieldPath(path)]; d.kind == defValue {
				p.conflict(line, path, "already set to a value on line %d, cannot hold keys", d.line)
				return nil, nil
			}
			m = v
		case []any:
			d := p.defs[FieldPath(path)]
			if d.kind != defArrayTable || len(v) == 0 {
				p.conflict(line, path, "already set to a value on line %d, cannot hold keys", d.line)
				return nil, nil
			}
			path = append(path, Elem(len(v)-1))
			m = v[len(v)-1].(map[string]any)
		default:
			p.conflict(line, path, "already set to a value on line %d, cannot hold keys", p.defs[FieldPath(path)].line)
			return nil, nil
		}
	}
	return m, path
}

// header parses [table] or [[table]] (TOML 1.0 §Table, §Array of Tables).
func (p *parser) header() *Problem {
	start := p.i
	array := p.i+1 < len(p.b) && p.b[p.i+1] == '['
	p.i++
	if array {
		p.i++
	}
	p.ws()
	key, err := p.key()
	if err != nil {
		return err
	}
	p.ws()
	if p.peek() != ']' || array && (p.i+1 >= len(p.b) || p.b[p.i+1] != ']') {
		if array {
			return p.errAt(p.i, "expected ]] to end the array of tables header, found %s", p.what())
		}
		return p.errAt(p.i, "expected ] to end the table header, found %s", p.what())
	}
	p.i++
	if array {
		p.i++
	}
	line := p.lineAt(start)
	if err := p.count(line, key); err != nil {
		return err
	}
	parent, ppath := p.descend(p.doc.Tree, nil, key[:len(key)-1], defImplicitTable, line)
	// After a conflict, keys below go to a table of their own: they are
	// still parsed and checked, and the file is refused anyway.
	p.cur, p.curPath = map[string]any{}, key
	if parent == nil {
		return nil
	}
	last := key[len(key)-1]
	path := append(ppath, last)
	k := FieldPath(path)
	prev, ok := p.defs[k]
	if array {
		if ok && prev.kind != defArrayTable {
			p.conflict(line, path, "array of tables for a key already defined on line %d", prev.line)
			return nil
		}
		if !ok {
			p.record(path, defArrayTable, line)
			parent[last] = []any{}
		}
		n := p.arrays[k]
		p.arrays[k] = n + 1
		t := map[string]any{}
		parent[last] = append(parent[last].([]any), t)
		p.cur, p.curPath = t, append(path, Elem(n))
		p.doc.Pos[FieldPath(p.curPath)] = line
		return nil
	}
	switch {
	case !ok:
		t := map[string]any{}
		parent[last] = t
		p.record(path, defTable, line)
		p.cur, p.curPath = t, path
	case prev.kind == defImplicitTable:
		p.record(path, defTable, line)
		p.cur, p.curPath = parent[last].(map[string]any), path
	case prev.kind == defValue:
		p.conflict(line, path, "table header for a key already set to a value on line %d", prev.line)
	default:
		p.conflict(line, path, "table defined twice (first on line %d)", prev.line)
	}
	return nil
}

// keyval parses key = value into table m at path.
func (p *parser) keyval(m map[string]any, path []string) *Problem {
	keyOff := p.i
	key, err := p.key()
	if err != nil {
		return err
	}
	line := p.lineAt(keyOff)
	if err := p.count(line, key); err != nil {
		return err
	}
	p.ws()
	if p.peek() != '=' {
		return p.errAt(p.i, "expected = after the key, found %s", p.what())
	}
	p.i++
	p.ws()
	t, tpath := p.descend(m, path, key[:len(key)-1], defDottedTable, line)
	full := append(clone(path), key...)
	if t != nil {
		full = append(tpath, key[len(key)-1])
	}
	v, err := p.value(full, line)
	if err != nil || t == nil {
		return err
	}
	if prev, ok := p.defs[FieldPath(full)]; ok {
		p.conflict(line, full, "set twice (first on line %d)", prev.line)
		return nil
	}
	p.record(full, defValue, line)
	t[key[len(key)-1]] = v
	return nil
}

// key parses a simple or dotted key (TOML 1.0 §Keys).
func (p *parser) key() ([]string, *Problem) {
	var key []string
	for {
		var k string
		switch c := p.peek(); {
		case c == '"' || c == '\'':
			if p.i+2 < len(p.b) && p.b[p.i+1] == c && p.b[p.i+2] == c {
				return nil, p.errAt(p.i, "a key cannot be a multi-line string")
			}
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			k = s
		case isBare(c):
			s := p.i
			for p.i < len(p.b) && isBare(p.b[p.i]) {
				p.i++
			}
			k = string(p.b[s:p.i])
		default:
			return nil, p.errAt(p.i, "expected a key, found %s", p.what())
		}
		if len(key) >= p.lim.Depth {
			return nil, &Problem{Line: p.lineAt(p.i), Expr: p.expr, Msg: fmt.Sprintf("syntax error: dotted key with more than %d parts", p.lim.Depth)}
		}
		key = append(key, k)
		p.ws()
		if p.peek() != '.' {
			return key, nil
		}
		p.i++
		p.ws()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// value parses a value of the key at path (set on line).
func (p *parser) value(path []string, line int) (any, *Problem) {
	switch c := p.peek(); c {
	case '"', '\'':
		return p.str()
	case '[':
		return p.array(path, line)
	case '{':
		return p.inline(path, line)
	case 0, '\n', '\r', '#':
		if p.eof() || c != 0 {
			return nil, p.errAt(p.i, "a value is missing after =")
		}
	}
	return p.scalar()
}

// nest enters an array or inline table, bounded by lim.Depth.
func (p *parser) nest() *Problem {
	if p.depth++; p.depth > p.lim.Depth {
		return p.errAt(p.i, "arrays and tables nested more than %d deep", p.lim.Depth)
	}
	return nil
}

// array parses [ v, v, ] across lines (TOML 1.0 §Array).
func (p *parser) array(path []string, line int) (any, *Problem) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++
	a := []any{}
	for {
		if err := p.blank(); err != nil {
			return nil, err
		}
		if p.peek() == ']' {
			p.i++
			return a, nil
		}
		elLine := p.lineAt(p.i)
		elPath := append(clone(path), Elem(len(a)))
		p.doc.Pos[FieldPath(elPath)] = elLine
		if err := p.count(elLine, nil); err != nil {
			return nil, err
		}
		v, err := p.value(elPath, elLine)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if err := p.blank(); err != nil {
			return nil, err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, nil
		default:
			return nil, p.errAt(p.i, "expected , or ] in the array, found %s", p.what())
		}
	}
}

// blank skips whitespace, comments and newlines inside an array.
func (p *parser) blank() *Problem {
	for {
		p.ws()
		if err := p.comment(); err != nil {
			return err
		}
		if !p.newline() {
			return nil
		}
	}
}

// inline parses { k = v, ... } on one line (TOML 1.0 §Inline Table): its
// keys are checked like any others, and it cannot be extended later.
func (p *parser) inline(path []string, line int) (any, *Problem) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++
	m := map[string]any{}
	p.ws()
	if p.peek() == '}' {
		p.i++
		return m, nil
	}
	for {
		p.ws()
		if err := p.keyval(m, path); err != nil {
			return nil, err
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return m, nil
		default:
			return nil, p.errAt(p.i, "expected , or } in the inline table, found %s", p.what())
		}
	}
}

// str parses any of the four kinds of string (TOML 1.0 §String).
func (p *parser) str() (string, *Problem) {
	q := p.b[p.i]
	multi := p.i+2 < len(p.b) && p.b[p.i+1] == q && p.b[p.i+2] == q
	start := p.i
	if multi {
		p.i += 3
		p.newline() // a newline right after the opening delimiter is trimmed
	} else {
		p.i++
	}
	var sb strings.Builder
	for {
		if p.eof() {
			return "", p.errAt(start, "string not closed")
		}
		c := p.b[p.i]
		switch {
		case c == q && !multi:
			p.i++
			return sb.String(), nil
		case c == q && p.i+2 < len(p.b) && p.b[p.i+1] == q && p.b[p.i+2] == q:
			// Up to two more quotes belong to the content (""""" ends
			// with "" inside).
			n := 3
			for n < 5 && p.i+n < len(p.b) && p.b[p.i+n] == q {
				n++
			}
			sb.WriteString(strings.Repeat(string(q), n-3))
			p.i += n
			return sb.String(), nil
		case c == '\\' && q == '"':
			if err := p.escape(&sb, multi); err != nil {
				return "", err
			}
		case c == '\n' || c == '\r' && p.i+1 < len(p.b) && p.b[p.i+1] == '\n':
			if !multi {
				return "", p.errAt(p.i, "a string on one line cannot hold a newline (use \"\"\" for several lines)")
			}
			p.newline()
			sb.WriteByte('\n')
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", p.errAt(p.i, "control character %U in a string (write it as an escape)", c)
		default:
			sb.WriteByte(c)
			p.i++
		}
	}
}

// escape reads one escape sequence of a basic string.
func (p *parser) escape(sb *strings.Builder, multi bool) *Problem {
	at := p.i
	p.i++
	if p.eof() {
		return p.errAt(at, "string not closed")
	}
	c := p.b[p.i]
	p.i++
	switch c {
	case 'b':
		sb.WriteByte('\b')
	case 't':
		sb.WriteByte('\t')
	case 'n':
		sb.WriteByte('\n')
	case 'f':
		sb.WriteByte('\f')
	case 'r':
		sb.WriteByte('\r')
	case '"':
		sb.WriteByte('"')
	case '\\':
		sb.WriteByte('\\')
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.i+n > len(p.b) {
			return p.errAt(at, "escape \\%c needs %d hex digits", c, n)
		}
		v, err := strconv.ParseUint(string(p.b[p.i:p.i+n]), 16, 32)
		if err != nil || strings.ContainsAny(string(p.b[p.i:p.i+n]), "+-_") {
			return p.errAt(at, "escape \\%c needs %d hex digits", c, n)
		}
		if r := rune(v); !utf8.ValidRune(r) {
			return p.errAt(at, "escape \\%c%s is not a Unicode scalar value", c, p.b[p.i:p.i+n])
		} else {
			sb.WriteRune(r)
		}
		p.i += n
	case ' ', '\t', '\n', '\r':
		// A line-ending backslash trims the newline and the whitespace
		// that follows (multi-line basic strings only).
		if !multi {
			return p.errAt(at, "unknown escape \\%c", c)
		}
		p.i--
		p.ws()
		if !p.newline() {
			return p.errAt(at, "a line-ending backslash must be last on its line")
		}
		for {
			p.ws()
			if !p.newline() {
				break
			}
		}
	default:
		r, _ := utf8.DecodeRune(p.b[p.i-1:])
		return p.errAt(at, "unknown escape \\%c", r)
	}
	return nil
}

// scalar parses a boolean, number or date-time.
func (p *parser) scalar() (any, *Problem) {
	start := p.i
	for p.i < len(p.b) && !strings.ContainsRune(" \t\r\n,]}#", rune(p.b[p.i])) {
		p.i++
	}
	// A date and a time may be separated by one space (RFC 3339 as TOML
	// allows it): 1979-05-27 07:32:00Z.
	if p.i-start == 10 && p.i+3 < len(p.b) && p.b[p.i] == ' ' && isDigit(p.b[p.i+1]) && isDigit(p.b[p.i+2]) && p.b[p.i+3] == ':' && p.b[start+4] == '-' {
		for p.i++; p.i < len(p.b) && !strings.ContainsRune(" \t\r\n,]}#", rune(p.b[p.i])); p.i++ {
		}
	}
	tok := string(p.b[start:p.i])
	switch tok {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "nan", "+nan", "-nan":
		return math.NaN(), nil
	case "":
		return nil, p.errAt(start, "expected a value, found %s", p.what())
	}
	if len(tok) >= 5 && (tok[2] == ':' || tok[4] == '-') && isDigit(tok[0]) {
		v, ok := dateTime(tok)
		if !ok {
			return nil, p.errAt(start, "%q is not a valid date or time (RFC 3339: 1979-05-27T07:32:00Z)", tok)
		}
		return v, nil
	}
	v, msg := number(tok)
	if msg != "" {
		return nil, p.errAt(start, "%s", msg)
	}
	return v, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits checks TOML's digit grammar: at least one digit of the base,
// underscores only between digits.
func digits(s string, base int) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			if s[i-1] == '_' {
				return false
			}
		case base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || isDigit(c)):
		case base <= 10 && c >= '0' && c < '0'+byte(base):
		default:
			return false
		}
	}
	return true
}

// number parses an integer or float (TOML 1.0 §Integer, §Float); the
// message is "" when tok is one.
func number(tok string) (any, string) {
	bad := fmt.Sprintf("%q is not a number, string, boolean or date (quote a string: \"...\")", tok)
	if len(tok) > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'o' || tok[1] == 'b') {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[tok[1]]
		if !digits(tok[2:], base) {
			return nil, bad
		}
		v, err := strconv.ParseInt(strings.ReplaceAll(tok[2:], "_", ""), base, 64)
		if err != nil {
			return nil, fmt.Sprintf("%s is out of range for an integer", tok)
		}
		return v, ""
	}
	body := strings.TrimLeft(tok, "+-")
	if len(tok)-len(body) > 1 {
		return nil, bad
	}
	mant, exp, hasExp := strings.Cut(body, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(body, "E")
	}
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if !digits(intPart, 10) || len(intPart) > 1 && intPart[0] == '0' {
		return nil, bad
	}
	if hasFrac && !digits(frac, 10) {
		return nil, bad
	}
	if hasExp && !digits(strings.TrimLeft(exp, "+-"), 10) || len(exp)-len(strings.TrimLeft(exp, "+-")) > 1 {
		return nil, bad
	}
	clean := strings.ReplaceAll(tok, "_", "")
	if !hasFrac && !hasExp {
		v, err := strconv.ParseInt(clean, 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("%s is out of range for an integer", tok)
		}
		return v, ""
	}
	v, err := strconv.ParseFloat(clean, 64)
	if err != nil {
		return nil, fmt.Sprintf("%s is out of range for a float", tok)
	}
	return v, ""
}

// dateTime parses the RFC 3339 forms TOML 1.0 allows: offset date-time,
// local date-time, local date, local time (seconds required).
func dateTime(s string) (any, bool) {
	var d LocalDate
	hasDate := len(s) >= 10 && s[4] == '-'
	if hasDate {
		if len(s) > 10 && s[10] != 'T' && s[10] != 't' && s[10] != ' ' {
			return nil, false
		}
		y, ok1 := atoi(s[0:4])
		m, ok2 := atoi(s[5:7])
		dd, ok3 := atoi(s[8:10])
		if !ok1 || !ok2 || !ok3 || s[7] != '-' || m < 1 || m > 12 || dd < 1 || dd > daysIn(y, m) {
			return nil, false
		}
		d = LocalDate{y, m, dd}
		if len(s) == 10 {
			return d, true
		}
		s = s[11:]
	}
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return nil, false
	}
	h, ok1 := atoi(s[0:2])
	mi, ok2 := atoi(s[3:5])
	se, ok3 := atoi(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || se > 60 {
		return nil, false
	}
	t := LocalTime{Hour: h, Minute: mi, Second: se}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		n := 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == 1 {
			return nil, false
		}
		frac := s[1:n]
		if len(frac) > 9 {
			frac = frac[:9] // finer than a nanosecond is truncated
		}
		ns, _ := atoi(frac)
		for i := len(frac); i < 9; i++ {
			ns *= 10
		}
		t.Nanosecond = ns
		s = s[n:]
	}
	if s == "" {
		if hasDate {
			return LocalDateTime{d, t}, true
		}
		return t, true
	}
	if !hasDate {
		return nil, false // a time of day takes no offset
	}
	loc := time.UTC
	switch {
	case s == "Z" || s == "z":
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		oh, ok1 := atoi(s[1:3])
		om, ok2 := atoi(s[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return nil, false
		}
		off := (oh*60 + om) * 60
		if s[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return nil, false
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, t.Hour, t.Minute, t.Second, t.Nanosecond, loc), true
}

func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
