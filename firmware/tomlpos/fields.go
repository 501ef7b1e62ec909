package tomlpos

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Fields reads typed values out of a decoded TOML tree (Parse's
// map[string]any) and reports every problem through Fail with the key's
// path, so a loader can turn it into file:line: field: message. The config
// loader and the board-file loader share it.
type Fields struct {
	Fail func(path []string, format string, args ...any)
}

// Unknown reports every key of m that is not in known, in sorted order.
func (f Fields) Unknown(m map[string]any, path []string, known ...string) {
	for _, k := range SortedKeys(m) {
		if !slices.Contains(known, k) {
			if s := Suggest(k, known); s != "" {
				f.Fail(Child(path, k), "unknown key (did you mean %q?)", s)
				continue
			}
			f.Fail(Child(path, k), "unknown key")
		}
	}
}

// Suggest returns the known key closest to k, when one is close enough to
// be a typo: the same but for case or '-' for '_', or within an edit
// distance of 2 (1 for keys of up to 4 letters). "" when none is.
func Suggest(k string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestD := "", 3
	if len(k) <= 4 {
		bestD = 2
	}
	for _, c := range known {
		if norm(c) == norm(k) {
			return c
		}
		if d := editDistance(norm(k), norm(c), bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or max when it is
// max or more (keys are short; the bound keeps a long junk key cheap).
func editDistance(a, b string, max int) int {
	if len(a) > 64 || len(b) > 64 {
		return max
	}
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}

// Table returns the sub-table key of m and its path (nil when absent or
// not a table).
func (f Fields) Table(m map[string]any, path []string, key string) (map[string]any, []string) {
	p := Child(path, key)
	v, ok := m[key]
	if !ok {
		return nil, p
	}
	t, ok := v.(map[string]any)
	if !ok {
		f.Fail(p, "want a table, got %s", TypeName(v))
		return nil, p
	}
	return t, p
}

// Str sets *dst to m[key] when it is present and a string; it reports
// whether it did.
func (f Fields) Str(m map[string]any, path []string, key string, dst *string) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		f.Fail(Child(path, key), "want a string, got %s", TypeName(v))
		return false
	}
	*dst = s
	return true
}

// Integer checks that v is an integer that fits an int on every target
// (int is 32 bits on armv7).
func (f Fields) Integer(path []string, v any) (int, bool) {
	n, ok := v.(int64)
	if !ok {
		f.Fail(path, "want an integer, got %s", TypeName(v))
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		f.Fail(path, "integer %d out of range", n)
		return 0, false
	}
	return int(n), true
}

// Int sets *dst to m[key] when it is present and an integer.
func (f Fields) Int(m map[string]any, path []string, key string, dst *int) {
	if v, ok := m[key]; ok {
		if n, ok := f.Integer(Child(path, key), v); ok {
			*dst = n
		}
	}
}

// Bool sets *dst to m[key] when it is present and a boolean.
func (f Fields) Bool(m map[string]any, path []string, key string, dst *bool) {
	v, ok := m[key]
	if !ok {
		return
	}
	b, ok := v.(bool)
	if !ok {
		f.Fail(Child(path, key), "want a boolean, got %s", TypeName(v))
		return
	}
	*dst = b
}

// Strings sets *dst to the array m[key] when present. Elements of the
// wrong type are reported and left "" so later checks can skip them.
func (f Fields) Strings(m map[string]any, path []string, key string, dst *[]string) {
	v, ok := m[key]
	if !ok {
		return
	}
	p := Child(path, key)
	a, ok := v.([]any)
	if !ok {
		f.Fail(p, "want an array of strings, got %s", TypeName(v))
		return
	}
	out := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			f.Fail(Child(p, Elem(i)), "want a string, got %s", TypeName(e))
			continue
		}
		out[i] = s
	}
	*dst = out
}

// SortedKeys are m's keys in order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TypeName names a decoded TOML value's type as the TOML spec does.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "offset date-time"
	case LocalDateTime:
		return "local date-time"
	case LocalDate:
		return "local date"
	case LocalTime:
		return "local time"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	return "unsupported value"
}
