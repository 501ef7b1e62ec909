package tomlpos

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

var testLimits = Limits{Entries: 5000, Depth: 32}

func parse(s string) (*Doc, []Problem) {
	return Parse([]byte(s), LineStarts([]byte(s)), testLimits)
}

// TestParseValid: each document parses to the tree go-toml v2 (the
// parser this one replaced) makes of it, and to the values written here.
func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want map[string]any
	}{
		{"", map[string]any{}},
		{"a = 1\nb = -2\nc = +3\nd = 1_000\n", map[string]any{"a": int64(1), "b": int64(-2), "c": int64(3), "d": int64(1000)}},
		{"h = 0xDEAD_beef\no = 0o755\nb = 0b1101\n", map[string]any{"h": int64(0xdeadbeef), "o": int64(0o755), "b": int64(13)}},
		{"f = 3.14\ng = -1e3\nh = 6.626e-34\ni = 1_0.5_0\nj = 5E+2\n", map[string]any{"f": 3.14, "g": -1e3, "h": 6.626e-34, "i": 10.50, "j": 500.0}},
		{"a = inf\nb = -inf\nt = true\nf = false\n", map[string]any{"a": math.Inf(1), "b": math.Inf(-1), "t": true, "f": false}},
		{`s = "tab\there \"q\" \\ \u00e9 \U0001F600"` + "\n", map[string]any{"s": "tab\there \"q\" \\ é 😀"}},
		{`s = 'C:\path\x'` + "\n", map[string]any{"s": `C:\path\x`}},
		{"s = \"\"\"\nline1\nline2\"\"\"\n", map[string]any{"s": "line1\nline2"}},
		{"s = \"\"\"\\\n    joined \\\n    up\"\"\"\n", map[string]any{"s": "joined up"}},
		{"s = '''\nraw \\n\n'''\n", map[string]any{"s": "raw \\n\n"}},
		{`s = """a""""` + "\n", map[string]any{"s": `a"`}},
		{`s = """a"""""` + "\n", map[string]any{"s": `a""`}},
		{"s = \"x\"\r\nt = 2\r\n", map[string]any{"s": "x", "t": int64(2)}},
		{"a.b.c = 1\na.b.d = 2\n\"q k\" = 3\n'lit' = 4\n\"\" = 5\n", map[string]any{"a": map[string]any{"b": map[string]any{"c": int64(1), "d": int64(2)}}, "q k": int64(3), "lit": int64(4), "": int64(5)}},
		{"a . b = 1\n", map[string]any{"a": map[string]any{"b": int64(1)}}},
		{"[t]\nx = 1 # comment\n[t.u]\ny = 2\n[v . w]\n", map[string]any{"t": map[string]any{"x": int64(1), "u": map[string]any{"y": int64(2)}}, "v": map[string]any{"w": map[string]any{}}}},
		{"[a.b]\nx = 1\n[a]\ny = 2\n", map[string]any{"a": map[string]any{"b": map[string]any{"x": int64(1)}, "y": int64(2)}}},
		{"[[p]]\nn = 1\n[[p]]\nn = 2\n[p.q]\nm = 3\n", map[string]any{"p": []any{map[string]any{"n": int64(1)}, map[string]any{"n": int64(2), "q": map[string]any{"m": int64(3)}}}}},
		{"a = [1, 2,\n  # c\n  3,\n]\nb = []\nc = [[1], ['x', \"y\"], {k = 1}]\n", map[string]any{"a": []any{int64(1), int64(2), int64(3)}, "b": []any{}, "c": []any{[]any{int64(1)}, []any{"x", "y"}, map[string]any{"k": int64(1)}}}},
		{"t = { a = 1, b.c = 'x', d = {} }\n", map[string]any{"t": map[string]any{"a": int64(1), "b": map[string]any{"c": "x"}, "d": map[string]any{}}}},
		{"d = 1979-05-27T07:32:00Z\ne = 1979-05-27 00:32:00.999999-07:00\n", map[string]any{
			"d": time.Date(1979, 5, 27, 7, 32, 0, 0, time.UTC), "e": time.Date(1979, 5, 27, 0, 32, 0, 999999000, time.FixedZone("", -7*3600))}},
		{"ld = 1979-05-27\nlt = 07:32:00.5\nldt = 1979-05-27T07:32:00\n", map[string]any{
			"ld": LocalDate{1979, 5, 27}, "lt": LocalTime{7, 32, 0, 500000000}, "ldt": LocalDateTime{LocalDate{1979, 5, 27}, LocalTime{7, 32, 0, 0}}}},
		{"\uFEFF" + "# only a comment", nil},
	} {
		doc := strings.TrimPrefix(tc.doc, "\uFEFF")
		got, probs := parse(doc)
		if probs != nil {
			t.Errorf("%q: %v", tc.doc, probs)
			continue
		}
		if tc.want == nil {
			tc.want = map[string]any{}
		}
		if !same(got.Tree, tc.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", tc.doc, got.Tree, tc.want)
		}
		var ref map[string]any
		if err := toml.Unmarshal([]byte(doc), &ref); err != nil {
			t.Errorf("%q: go-toml: %v", tc.doc, err)
		} else if !same(got.Tree, normalize(ref)) {
			t.Errorf("%q:\n got %#v\ngo-toml %#v", tc.doc, got.Tree, ref)
		}
	}
}

// TestParseInvalid: each document is refused with its problem on the
// right line and column, and go-toml refuses it too.
func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"a = 1 x\n", "1:7: syntax error: expected the end of the line, found 'x'"},
		{"a =\n", "1:4: syntax error: a value is missing after ="},
		{"a = \"x\n", "1:7: syntax error: a string on one line cannot hold a newline"},
		{"a = 'x", "1:5: syntax error: string not closed"},
		{"a = \"\"\"x", "1:5: syntax error: string not closed"},
		{"a = \"\\q\"\n", "1:6: syntax error: unknown escape \\q"},
		{"a = \"\\uD800\"\n", "1:6: syntax error: escape \\uD800 is not a Unicode scalar value"},
		{"a = \"\\u12\"\n", "1:6: syntax error: escape \\u needs 4 hex digits"},
		{"a = \"\x01\"\n", "1:6: syntax error: control character U+0001 in a string"},
		{"a = 1 # \x01\n", "1:9: syntax error: control character U+0001 in a comment"},
		{"[a\n", "1:3: syntax error: expected ] to end the table header"},
		{"[[a]\n", "1:4: syntax error: expected ]] to end the array of tables header"},
		{"= 1\n", "1:1: syntax error: expected a key, found '='"},
		{"a 1\n", "1:3: syntax error: expected = after the key, found '1'"},
		{"\"\"\"k\"\"\" = 1\n", "1:1: syntax error: a key cannot be a multi-line string"},
		{"a = 01\n", "1:5: syntax error: \"01\" is not a number"},
		{"a = 1__0\n", "1:5: syntax error: \"1__0\" is not a number"},
		{"a = _1\n", "1:5: syntax error: \"_1\" is not a number"},
		{"a = 1.\n", "1:5: syntax error: \"1.\" is not a number"},
		{"a = .5\n", "1:5: syntax error: \".5\" is not a number"},
		{"a = +0x1\n", "1:5: syntax error: \"+0x1\" is not a number"},
		{"a = 0xg\n", "1:5: syntax error: \"0xg\" is not a number"},
		{"a = 99999999999999999999\n", "1:5: syntax error: 99999999999999999999 is out of range for an integer"},
		{"a = yes\n", "1:5: syntax error: \"yes\" is not a number, string, boolean or date"},
		{"a = 1979-02-30\n", "1:5: syntax error: \"1979-02-30\" is not a valid date or time"},
		{"a = 07:32\n", "1:5: syntax error: \"07:32\" is not a valid date or time"},
		{"a = [1 2]\n", "1:8: syntax error: expected , or ] in the array, found '2'"},
		{"a = [1,,]\n", "1:8: syntax error: expected a value, found ','"},
		{"a = {b = 1,}\n", "1:12: syntax error: expected a key, found '}'"},
		{"a = {b = 1\n}\n", "1:11: syntax error: expected , or } in the inline table, found the end of the line"},
		{"a = \"\xff\"\n", "1:6: syntax error: invalid UTF-8"},
		{"a = 1\r\rb = 2\n", "1:6: syntax error: expected the end of the line, found the end of the line"},
		{"a = " + strings.Repeat("[", 40) + "\n", "1:37: syntax error: arrays and tables nested more than 32 deep"},
		{strings.Repeat("a.", 40) + "b = 1\n", "1: syntax error: dotted key with more than 32 parts"},
		// Defined twice: every one is reported.
		{"a = 1\na = 2\nb = 1\nb = 2\n", "2: a: set twice (first on line 1)\n4: b: set twice (first on line 3)"},
		{"[t]\n[t]\n", "2: t: table defined twice (first on line 1)"},
		{"a = 1\n[a]\n", "2: a: table header for a key already set to a value on line 1"},
		{"a = 1\na.b = 2\n", "2: a: already set to a value on line 1, cannot hold keys"},
		{"a = {b = 1}\na.c = 2\n", "2: a: already set to a value on line 1, cannot hold keys"},
		{"a = {b = 1}\n[a.c]\n", "2: a: already set to a value on line 1, cannot hold keys"},
		{"a = [1]\n[[a]]\n", "2: a: array of tables for a key already defined on line 1"},
		{"[[a]]\n[a]\n", "2: a: table defined twice (first on line 1)"},
		{"[a]\nb.c = 1\n[a.b]\n", "3: a.b: table defined twice (first on line 2)"},
		{"a = {b = 1, b = 2}\n", "1: a.b: set twice (first on line 1)"},
	} {
		_, probs := parse(tc.doc)
		var got []string
		for _, p := range probs {
			s := strconv.Itoa(p.Line)
			if p.Column > 0 {
				s += ":" + strconv.Itoa(p.Column)
			}
			if p.Field != "" {
				s += ": " + p.Field
			}
			got = append(got, s+": "+p.Msg)
		}
		if g := strings.Join(got, "\n"); !strings.HasPrefix(g, tc.want) {
			t.Errorf("%q:\n got %s\nwant %s", tc.doc, g, tc.want)
		}
		var ref map[string]any
		if strings.Contains(tc.want, "more than 32") {
			continue // our limits, not TOML's
		}
		if err := toml.Unmarshal([]byte(tc.doc), &ref); err == nil {
			t.Errorf("%q: go-toml accepts it as %v", tc.doc, ref)
		}
	}
}

// TestParsePositions: the line of every key, header and element.
func TestParsePositions(t *testing.T) {
	doc, probs := parse("a = 1\n[t]\nb.c = [\n  1,\n  {d = 2},\n]\n[[p]]\n[[p]]\ne = 3\n")
	if probs != nil {
		t.Fatal(probs)
	}
	want := map[string]int{"a": 1, "t": 2, "t.b": 3, "t.b.c": 3, "t.b.c[0]": 4, "t.b.c[1]": 5, "t.b.c[1].d": 5,
		"p": 7, "p[0]": 7, "p[1]": 8, "p[1].e": 9}
	if !reflect.DeepEqual(doc.Pos, want) {
		t.Errorf("positions %v\nwant %v", doc.Pos, want)
	}
	if doc.Entries != 9 {
		t.Errorf("entries %d, want 9", doc.Entries)
	}
}

// FuzzParse holds Parse to go-toml v2: never a panic; when both accept a
// document they make the same tree; what Parse refuses has a line within
// the document.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"schema = 1\n[sip]\nlisten = \"0.0.0.0:5060\"\n[account]\nuser = '1001'\n",
		"a = [1, [2, 3], {b = 'c'}]\n[[x.y]]\nz = 1979-05-27T07:32:00Z\n",
		"s = \"\"\"\\\n  a\\tb\"\"\"\nt = '''x\n'''\nf = -1.5e3\nh = 0xff\n",
		"[a.b]\n[a]\nc.d = inf\n\"q\".'r' = nan\n",
		"a = {b = {c = [true, false]}}\nd = 07:32:00.123\ne = 1979-05-27\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := LineStarts(data)
		doc, probs := Parse(data, lines, testLimits)
		for _, p := range probs {
			if p.Line < 1 || p.Line > len(lines) {
				t.Fatalf("problem %+v outside the document's %d lines", p, len(lines))
			}
		}
		var ref map[string]any
		err := toml.Unmarshal(data, &ref)
		if doc != nil && err == nil && !same(doc.Tree, normalize(ref)) {
			t.Fatalf("%q:\n got %#v\ngo-toml %#v", data, doc.Tree, ref)
		}
	})
}

// normalize turns go-toml's local date and time types into ours.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
		return v
	case toml.LocalDate:
		return LocalDate{v.Year, int(v.Month), v.Day}
	case toml.LocalTime:
		return LocalTime{v.Hour, v.Minute, v.Second, v.Nanosecond}
	case toml.LocalDateTime:
		return LocalDateTime{LocalDate{v.Year, int(v.Month), v.Day}, LocalTime{v.Hour, v.Minute, v.Second, v.Nanosecond}}
	}
	return v
}

// same compares trees, NaN equal to NaN and times by instant and offset.
func same(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !same(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !same(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case time.Time:
		b, ok := b.(time.Time)
		_, ao := a.Zone()
		_, bo := b.Zone()
		return ok && a.Equal(b) && ao == bo
	}
	return reflect.DeepEqual(a, b)
}
