// Package tomlpos finds where things are in a TOML file: the line of every
// key path, keys and tables defined twice (which go-toml reports without a
// position), and input that is too deep or too large for the parser. It
// walks go-toml v2's unstable parser, separately from decoding, so that a
// loader can report problems as file:line: field: message.
//
// It is shared by the config loader (firmware/config) and the board-file
// loader (board); neither owns it. Key paths are slices of key segments;
// an array element is the segment Elem(i). FieldPath formats a path the way
// error messages show it: audio.codecs[1], directory."*21".
package tomlpos

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Problem is one positioned problem; the loader adds its file name.
type Problem struct {
	Line   int // 1-based
	Column int // 1-based; only for syntax errors
	Field  string
	Msg    string
}

// Limits bound what Index and CheckDepth accept.
type Limits struct {
	Entries int // keys, table headers and array elements
	Depth   int // nesting of arrays and inline tables, and parts of a dotted key
}

// LineStarts returns the offset of the start of each line of data.
func LineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// LineOf returns the 1-based line holding byte offset off, given the line
// starts of LineStarts.
func LineOf(lines []int, off int) int {
	lo, hi := 0, len(lines)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if lines[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// Line is the line of a key path in pos, or of the nearest table above it
// that appears in the file, or 1.
func Line(pos map[string]int, path []string) int {
	for i := len(path); i > 0; i-- {
		if l, ok := pos[FieldPath(path[:i])]; ok {
			return l
		}
	}
	return 1
}

// CheckDepth refuses nesting deeper than lim.Depth before the recursive
// parser sees the file (a file of a million '[' would otherwise exhaust the
// stack). It follows TOML's strings and comments closely enough to agree
// with the parser on every valid prefix of a document.
func CheckDepth(data []byte, lines []int, lim Limits) *Problem {
	b := data
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
			if depth > lim.Depth {
				line := LineOf(lines, i)
				return &Problem{Line: line, Column: i - lines[line-1] + 1,
					Msg: fmt.Sprintf("syntax error: arrays and tables nested more than %d deep", lim.Depth)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// Index is what a walk of a document found.
type Index struct {
	Pos       map[string]int // key path (see FieldPath) -> line where it is set or its table header
	Conflicts []Problem      // keys or tables defined twice
	Entries   int            // keys, table headers and array elements seen
	Limit     *Problem       // a limit the file breaks (entries, dotted key length)
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

// Build walks the document's expressions and records the line of every key
// path. It also finds keys and tables defined twice. The walk stops quietly
// at a syntax error (the decoder reports it), and at the first limit broken.
func Build(data []byte, lines []int, lim Limits) *Index {
	ix := &Index{Pos: map[string]int{}}
	defs := map[string]def{}
	arrays := map[string]int{} // [[table]] path -> elements seen
	var table []string
	var p unstable.Parser
	p.Reset(data)

	conflict := func(line int, path []string, format string, args ...any) {
		ix.Conflicts = append(ix.Conflicts, Problem{Line: line, Field: FieldPath(path), Msg: OneLine(fmt.Sprintf(format, args...))})
	}
	// count stops the walk on files past the limits, before go-toml's
	// duplicate tracking (quadratic) sees them.
	count := func(line int, key []string) {
		ix.Entries++
		switch {
		case ix.Limit != nil:
		case ix.Entries > lim.Entries:
			ix.Limit = &Problem{Line: line, Msg: fmt.Sprintf("syntax error: too many keys, tables and array elements (more than %d)", lim.Entries)}
		case len(key) > lim.Depth:
			ix.Limit = &Problem{Line: line, Msg: fmt.Sprintf("syntax error: dotted key with more than %d parts", lim.Depth)}
		}
	}
	record := func(path []string, kind defKind, line int) {
		k := FieldPath(path)
		defs[k] = def{kind, line}
		if _, ok := ix.Pos[k]; !ok || kind == defTable {
			ix.Pos[k] = line
		}
	}
	// prefixes enters the tables above a key, creating them as kind.
	prefixes := func(path []string, from, n int, kind defKind, line int) bool {
		for i := from; i <= n; i++ {
			prev, ok := defs[FieldPath(path[:i])]
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
					elLine = LineOf(lines, int(el.Raw.Offset))
				}
				elPath := append(clone(path), Elem(i))
				ix.Pos[FieldPath(elPath)] = elLine
				count(elLine, nil)
				if el.Kind == unstable.InlineTable || el.Kind == unstable.Array {
					value(elPath, el, elLine)
				}
			}
		}
	}
	keyval = func(base []string, kv *unstable.Node) {
		key, line := keyOf(lines, kv)
		if count(line, key); ix.Limit != nil {
			return
		}
		path := append(clone(base), key...)
		if !prefixes(path, len(base)+1, len(path)-1, defDottedTable, line) {
			return
		}
		if prev, ok := defs[FieldPath(path)]; ok {
			conflict(line, path, "set twice (first on line %d)", prev.line)
			return
		}
		record(path, defValue, line)
		value(path, kv.Value(), line)
	}

	for ix.Limit == nil && p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			key, line := keyOf(lines, e)
			if count(line, key); ix.Limit != nil {
				return ix
			}
			table = key
			if !prefixes(key, 1, len(key)-1, defImplicitTable, line) {
				continue
			}
			prev, ok := defs[FieldPath(key)]
			switch {
			case !ok || prev.kind == defImplicitTable:
				record(key, defTable, line)
			case prev.kind == defValue:
				conflict(line, key, "table header for a key already set to a value on line %d", prev.line)
			default:
				conflict(line, key, "table defined twice (first on line %d)", prev.line)
			}
		case unstable.ArrayTable:
			key, line := keyOf(lines, e)
			if count(line, key); ix.Limit != nil {
				return ix
			}
			if !prefixes(key, 1, len(key)-1, defImplicitTable, line) {
				table = key
				continue
			}
			k := FieldPath(key)
			if prev, ok := defs[k]; ok && prev.kind != defArrayTable {
				conflict(line, key, "array of tables for a key already defined on line %d", prev.line)
			} else if !ok {
				record(key, defArrayTable, line)
			}
			n := arrays[k]
			arrays[k] = n + 1
			table = append(clone(key), Elem(n))
			ix.Pos[FieldPath(table)] = line
		case unstable.KeyValue:
			keyval(table, e)
		}
	}
	return ix
}

// keyOf returns the segments of a KeyValue's or table header's key and the
// line of its first segment.
func keyOf(lines []int, n *unstable.Node) ([]string, int) {
	var key []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = LineOf(lines, int(k.Raw.Offset))
		}
		key = append(key, string(k.Data))
	}
	return key, line
}

func clone(s []string) []string { return append([]string(nil), s...) }

// elemMark starts a path segment that is an array index. It cannot start a
// TOML key: keys are valid UTF-8 and 0xff never is.
const elemMark = "\xff"

// Elem is the path segment of array element i.
func Elem(i int) string { return elemMark + strconv.Itoa(i) }

// Child returns parent with key appended, not sharing parent's array.
func Child(parent []string, key string) []string { return append(clone(parent), key) }

// FieldPath formats a key path the way error messages show it: keys joined
// with dots, quoted when they are not TOML bare keys, array elements as [i]:
// audio.codecs[1], directory."*21", keypad.map[3][0].
func FieldPath(path []string) string {
	var b strings.Builder
	for i, s := range path {
		if rest, ok := strings.CutPrefix(s, elemMark); ok {
			b.WriteString("[" + rest + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if IsBareKey(s) {
			b.WriteString(s)
		} else {
			b.WriteString(OneLine(strconv.Quote(s)))
		}
	}
	return b.String()
}

// IsBareKey: A-Z a-z 0-9 - _ (TOML 1.0 unquoted-key), non-empty.
func IsBareKey(s string) bool {
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

// OneLine keeps a message on one line whatever it holds (control
// characters escaped as in a Go string).
func OneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
	}) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
