// Package tomlpos reads TOML 1.0 (https://toml.io/en/v1.0.0) and knows
// where everything is in it: Parse returns the tree with the line of every
// key path, finds keys and tables defined twice, and refuses input too deep
// or too large, so that a loader can report every problem as
// file:line: field: message. (It replaced go-toml v2, which gave no
// position for duplicates and cost the phone's binary about 90 KiB; a
// differential fuzz test holds the two to the same trees.)
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
)

// Problem is one positioned problem; the loader adds its file name.
type Problem struct {
	Line   int // 1-based
	Column int // 1-based; only for syntax errors
	Field  string
	Msg    string
	// Expr is the byte offset of the start of the expression (key/value
	// or table header) a syntax error is in, and Off the error's own;
	// -1 and 0 when there is none.
	Expr, Off int
}

// Limits bound what Parse accepts.
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
