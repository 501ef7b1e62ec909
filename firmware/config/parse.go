package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// MaxSize is the largest config file accepted, in bytes.
const MaxSize = 1 << 20

// maxEntries bounds the keys, table headers and array elements of a file.
// go-toml checks for duplicate keys in time quadratic in the keys of a
// table; a real phone's file has well under a thousand.
const maxEntries = 5000

// maxDepth bounds the nesting of arrays and inline tables. The schema needs
// 2; the limit is there because the TOML parser recurses per level and a
// pushed file of a million '[' would otherwise exhaust the stack.
const maxDepth = 32

// Load reads the file at path and parses it with Parse, using path as the
// name in error messages. Relative audio.wav paths are then made absolute
// against the directory holding the file.
//
// I/O errors are returned wrapped with the path; they do not wrap ErrInvalid.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		dir = filepath.Dir(path)
	}
	for _, p := range []*string{&c.Audio.WAV.Input, &c.Audio.WAV.Output} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return c, nil
}

// Parse parses and validates a config file's content. name is only used in
// error messages. On error the Config is nil and the error lists every
// problem found, one per line, each wrapping ErrInvalid. Parse never panics.
func Parse(name string, data []byte) (cfg *Config, err error) {
	name = oneLine(name)
	defer func() {
		if r := recover(); r != nil {
			// Not expected (the fuzz test looks for it); a pushed file must
			// never take the phone down, so it is refused instead.
			cfg, err = nil, joinErrors([]*Error{{File: name, Line: 1, Msg: oneLine(fmt.Sprintf("internal error: %v (please report this file)", r))}})
		}
	}()
	if len(data) > MaxSize {
		return nil, joinErrors([]*Error{{File: name, Line: 1, Msg: fmt.Sprintf("file too large (more than %d bytes)", MaxSize)}})
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // editors on other systems add a BOM
	doc := &document{name: name, data: data, lines: lineStarts(data)}
	if e := doc.checkDepth(); e != nil {
		return nil, joinErrors([]*Error{e})
	}
	doc.index()
	if doc.limit != nil {
		return nil, joinErrors([]*Error{doc.limit})
	}
	var tree map[string]any
	if err := toml.Unmarshal(data, &tree); err != nil {
		return nil, joinErrors(doc.syntaxErrors(err))
	}
	d := &decoder{doc: doc}
	c := d.decode(tree)
	if d.unsupported != nil {
		// Another schema's keys would only bury the one message that matters.
		return nil, joinErrors([]*Error{d.unsupported})
	}
	// Validate even after type errors, so that one pass reports everything;
	// fields that failed to decode hold defaults and are not checked again.
	skip := map[string]bool{}
	for _, e := range d.errs {
		skip[e.Field] = true
	}
	if errs := append(d.errs, c.validate(doc, skip)...); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return c, nil
}

// document is the file being parsed, with the positions of its keys.
type document struct {
	name  string
	data  []byte
	lines []int // offset of the start of each line

	pos       map[string]int // key path (see fieldPath) -> line where it is set or its table header
	conflicts []*Error       // keys or tables defined twice, found by index
	entries   int            // keys, table headers and array elements seen by index
	limit     *Error         // a size limit the file breaks (entries, key length)
}

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the 1-based line holding byte offset off.
func (d *document) lineOf(off int) int {
	lo, hi := 0, len(d.lines)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if d.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

func (d *document) errorf(line int, field string, format string, args ...any) *Error {
	return &Error{File: d.name, Line: line, Field: field, Msg: oneLine(fmt.Sprintf(format, args...))}
}

// line is the line of a key path, or of the nearest table above it that
// appears in the file, or 1.
func (d *document) line(path []string) int {
	if d == nil {
		return 0
	}
	for i := len(path); i > 0; i-- {
		if l, ok := d.pos[fieldPath(path[:i])]; ok {
			return l
		}
	}
	return 1
}

// checkDepth refuses nesting deeper than maxDepth before the recursive
// parser sees the file. It follows TOML's strings and comments closely
// enough to agree with the parser on every valid prefix of a document.
func (d *document) checkDepth() *Error {
	b := d.data
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case '"', '\'':
			multi := i+2 < len(b) && b[i+1] == c && b[i+2] == c
			if multi {
				i += 3
				for i < len(b) && !(i+2 < len(b) && b[i] == c && b[i+1] == c && b[i+2] == c) {
					if c == '"' && b[i] == '\\' {
						i++
					}
					i++
				}
				i += 2
				for i+1 < len(b) && b[i+1] == c { // up to two quotes may end the content
					i++
				}
				continue
			}
			for i++; i < len(b) && b[i] != c && b[i] != '\n'; i++ {
				if c == '"' && b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
			if depth > maxDepth {
				line := d.lineOf(i)
				return &Error{File: d.name, Line: line, Column: i - d.lines[line-1] + 1,
					Msg: fmt.Sprintf("syntax error: arrays and tables nested more than %d deep", maxDepth)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '\n':
			// Brackets never span lines outside arrays; table headers
			// that fail to close are the parser's to report.
		}
	}
	return nil
}

// syntaxErrors turns a go-toml error into positioned errors.
func (d *document) syntaxErrors(err error) []*Error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if row >= 1 && row <= len(d.lines) && d.nearSecret(d.lines[row-1]+col-1) {
			msg = "the value of account.password (or a key near it) is not valid TOML; details withheld so the password is not logged"
		}
		return []*Error{{File: d.name, Line: row, Column: col, Msg: "syntax error: " + oneLine(msg)}}
	}
	// Keys or tables defined twice: go-toml gives no position, the index does.
	d.index()
	if len(d.conflicts) > 0 {
		return d.conflicts
	}
	return []*Error{{File: d.name, Line: 1, Msg: "syntax error: " + oneLine(strings.TrimPrefix(err.Error(), "toml: "))}}
}

// nearSecret reports whether a syntax error at offset off may be inside a
// password value: whether "password" appears between the start of the line
// of the last expression starting at or before off and off itself. It errs
// on the side of withholding.
func (d *document) nearSecret(off int) bool {
	if off < 0 || off >= len(d.data) {
		off = len(d.data) - 1
	}
	if off < 0 {
		return false
	}
	start := 0
	var p unstable.Parser
	p.Reset(d.data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.KeyValue && e.Kind != unstable.Table && e.Kind != unstable.ArrayTable {
			continue
		}
		k := e.Key()
		if !k.Next() {
			continue
		}
		ko := int(k.Node().Raw.Offset)
		if ko > off {
			break
		}
		start = d.lines[d.lineOf(ko)-1]
	}
	return bytes.Contains(bytes.ToLower(d.data[start:off+1]), []byte("password"))
}

// Kinds of key paths, for finding keys and tables defined twice.
type defKind int

const (
	defValue         defKind = iota + 1 // key = value, or inside an inline table
	defTable                            // [table] header
	defImplicitTable                    // prefix of a [a.b] header
	defDottedTable                      // prefix of a dotted key a.b = 1
	defArrayTable                       // [[table]]
)

type def struct {
	kind defKind
	line int
}

// index walks the document's expressions and records the line of every key
// path in d.pos. It also finds keys and tables defined twice, which go-toml
// reports without a position. The walk stops quietly at a syntax error.
func (d *document) index() {
	if d.pos != nil {
		return
	}
	d.pos = map[string]int{}
	defs := map[string]def{}
	arrays := map[string]int{} // [[table]] path -> elements seen
	var table []string
	var p unstable.Parser
	p.Reset(d.data)

	conflict := func(line int, path []string, format string, args ...any) {
		d.conflicts = append(d.conflicts, d.errorf(line, fieldPath(path), format, args...))
	}
	// count stops the walk on files past the limits, before go-toml's
	// duplicate tracking (quadratic) sees them.
	count := func(line int, key []string) {
		d.entries++
		switch {
		case d.limit != nil:
		case d.entries > maxEntries:
			d.limit = &Error{File: d.name, Line: line, Msg: fmt.Sprintf("syntax error: too many keys, tables and array elements (more than %d)", maxEntries)}
		case len(key) > maxDepth:
			d.limit = &Error{File: d.name, Line: line, Msg: fmt.Sprintf("syntax error: dotted key with more than %d parts", maxDepth)}
		}
	}
	record := func(path []string, kind defKind, line int) {
		k := fieldPath(path)
		defs[k] = def{kind, line}
		if _, ok := d.pos[k]; !ok || kind == defTable {
			d.pos[k] = line
		}
	}
	// prefixes enters the tables above a key, creating them as kind.
	prefixes := func(path []string, from, n int, kind defKind, line int) bool {
		for i := from; i <= n; i++ {
			prev, ok := defs[fieldPath(path[:i])]
			switch {
			case !ok:
				record(path[:i], kind, line)
			case prev.kind == defValue:
				conflict(line, path[:i], "already set to a value on line %d, cannot hold keys", prev.line)
				return false
			}
		}
		return true
	}
	var keyval func(base []string, kv *unstable.Node)
	var value func(path []string, v *unstable.Node, line int)
	value = func(path []string, v *unstable.Node, line int) {
		switch v.Kind {
		case unstable.InlineTable:
			it := v.Children()
			for it.Next() {
				kv := it.Node()
				if kv.Kind != unstable.KeyValue {
					continue
				}
				keyval(path, kv)
			}
		case unstable.Array:
			it := v.Children()
			for i := 0; it.Next(); i++ {
				el := it.Node()
				elLine := line
				if el.Raw.Length > 0 {
					elLine = d.lineOf(int(el.Raw.Offset))
				}
				elPath := append(slicesClone(path), elem(i))
				d.pos[fieldPath(elPath)] = elLine
				count(elLine, nil)
				if el.Kind == unstable.InlineTable {
					value(elPath, el, elLine)
				}
			}
		}
	}
	keyval = func(base []string, kv *unstable.Node) {
		key, line := d.key(kv)
		if count(line, key); d.limit != nil {
			return
		}
		path := append(slicesClone(base), key...)
		if !prefixes(path, len(base)+1, len(path)-1, defDottedTable, line) {
			return
		}
		if prev, ok := defs[fieldPath(path)]; ok {
			conflict(line, path, "set twice (first on line %d)", prev.line)
			return
		}
		record(path, defValue, line)
		value(path, kv.Value(), line)
	}

	for d.limit == nil && p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			key, line := d.key(e)
			if count(line, key); d.limit != nil {
				return
			}
			table = key
			if !prefixes(key, 1, len(key)-1, defImplicitTable, line) {
				continue
			}
			prev, ok := defs[fieldPath(key)]
			switch {
			case !ok || prev.kind == defImplicitTable:
				record(key, defTable, line)
			case prev.kind == defValue:
				conflict(line, key, "table header for a key already set to a value on line %d", prev.line)
			default:
				conflict(line, key, "table defined twice (first on line %d)", prev.line)
			}
		case unstable.ArrayTable:
			key, line := d.key(e)
			if count(line, key); d.limit != nil {
				return
			}
			if !prefixes(key, 1, len(key)-1, defImplicitTable, line) {
				table = key
				continue
			}
			k := fieldPath(key)
			if prev, ok := defs[k]; ok && prev.kind != defArrayTable {
				conflict(line, key, "array of tables for a key already defined on line %d", prev.line)
			} else if !ok {
				record(key, defArrayTable, line)
			}
			n := arrays[k]
			arrays[k] = n + 1
			table = append(slicesClone(key), elem(n))
			d.pos[fieldPath(table)] = line
		case unstable.KeyValue:
			keyval(table, e)
		}
	}
}

// key returns the segments of a KeyValue's or table header's key and the
// line of its first segment.
func (d *document) key(n *unstable.Node) ([]string, int) {
	var key []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = d.lineOf(int(k.Raw.Offset))
		}
		key = append(key, string(k.Data))
	}
	return key, line
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// elemMark starts a path segment that is an array index. It cannot start a
// TOML key: keys are valid UTF-8 and 0xff never is.
const elemMark = "\xff"

// elem is the path segment of array element i.
func elem(i int) string { return elemMark + strconv.Itoa(i) }

// fieldPath formats a key path the way error messages show it: keys joined
// with dots, quoted when they are not TOML bare keys, array elements as [i]:
// audio.codecs[1], directory."*21".
func fieldPath(path []string) string {
	var b strings.Builder
	for i, s := range path {
		if rest, ok := strings.CutPrefix(s, elemMark); ok {
			b.WriteString("[" + rest + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if isBareKey(s) {
			b.WriteString(s)
		} else {
			b.WriteString(oneLine(strconv.Quote(s)))
		}
	}
	return b.String()
}

// isBareKey: A-Z a-z 0-9 - _ (TOML 1.0 unquoted-key), non-empty.
func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
