package dialplan

import (
	"errors"
	"strings"
	"testing"
)

var seedPlans = []string{
	"[2-9]xxx|0T|*xx|911|9,1[2-9]xx[2-9]xxxxxx",
	"(011x.T|[2-9]11)", "[0-3,6]x.|#", "x.T", "[", "]", "(", "1..", "0T1", "[9-1]", "",
	"[2-9]11|0T|011xxx.T|0[2-9]xxxxxxxxx|1[2-9]xxxxxxxxx|[2-9]xxxxxxxxx|[2-9]xxxT",
}

// FuzzParse: Parse never panics, errors wrap a sentinel and name a column,
// and a plan that parses re-parses from its canonical patterns.
func FuzzParse(f *testing.F) {
	for _, s := range seedPlans {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*MaxPlanLen {
			return
		}
		p, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLong) {
				t.Fatalf("Parse(%q): %v wraps no sentinel", s, err)
			}
			if !strings.HasPrefix(err.Error(), "dialplan: column ") {
				t.Fatalf("Parse(%q): %v names no column", s, err)
			}
			return
		}
		canon := strings.Join(p.Patterns(), "|")
		q, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, s, err)
		}
		if got := strings.Join(q.Patterns(), "|"); got != canon {
			t.Fatalf("canonical form not stable: %q -> %q", canon, got)
		}
	})
}

// FuzzMatch: Match never panics, is consistent with Lookup, and its results
// are coherent along the digits: once NoMatch, always NoMatch; Complete
// means no longer string matches.
func FuzzMatch(f *testing.F) {
	for _, s := range seedPlans {
		f.Add(s, "912125551234")
		f.Add(s, "011#*")
	}
	f.Fuzz(func(t *testing.T, plan, digits string) {
		p, err := Parse(plan)
		if err != nil {
			return
		}
		r := p.Match(digits)
		if d := p.Lookup(digits); d.Result != r {
			t.Fatalf("Match %v != Lookup %v", r, d.Result)
		}
		if len(digits) >= MaxDigits || strings.Trim(digits, "0123456789*#") != "" {
			return
		}
		for _, k := range "0123456789*#" {
			next := p.Match(digits + string(k))
			if (r == NoMatch || r == Complete) && next != NoMatch {
				t.Fatalf("plan %q: %q is %v but %q is %v", plan, digits, r, digits+string(k), next)
			}
		}
	})
}
