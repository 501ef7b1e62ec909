package dialplan

import (
	"errors"
	"strings"
	"testing"
)

type step struct {
	digits string
	want   Result
	timer  Timer
}

func TestMatchRealPlans(t *testing.T) {
	const (
		N  = NoMatch
		P  = Partial
		C  = Complete
		CT = CompleteAfterTimeout
		no = TimerNone
		sh = TimerShort
		lg = TimerLong
	)
	tests := []struct {
		plan  string
		steps []step
	}{
		{"[2-9]xxx|0T|*xx|911|9,1[2-9]xx[2-9]xxxxxx", []step{
			{"", P, lg}, {"2", P, lg}, {"20", P, lg}, {"200", P, lg}, {"2001", C, no}, {"20011", N, no},
			{"1", N, no}, {"0", CT, lg}, {"00", N, no},
			{"*", P, lg}, {"*6", P, lg}, {"*69", C, no}, {"*691", N, no},
			// "911" is also a prefix of [2-9]xxx (9110): it waits for the short
			// timer. Plans that want 911 at once use [2-8]xxx.
			{"9", P, lg}, {"91", P, lg}, {"911", CT, sh}, {"9110", C, no},
			// 9,1 NXX NXXXXXX: 9 then 1 then 10 digits.
			{"91212", P, lg}, {"912125551234", C, no}, {"912121551234", N, no}, {"911255", N, no},
			{"#", N, no}, {"2a", N, no},
		}},
		// The brief's plan inside parentheses, with spaces.
		{"( [2-9]xxx | 0T | *xx | 911 )", []step{{"2345", C, no}, {"0", CT, lg}, {"*1", P, lg}}},
		// International: 011 then any number of digits, sent after T.
		{"011x.T|[2-9]xxxxxx", []step{
			{"0", P, lg}, {"01", P, lg}, {"011", CT, lg}, {"0114", CT, lg}, {"011441234567890", CT, lg},
			{"0114#", N, no}, {"5551234", C, no},
		}},
		// Without T, a repeat makes every prefix complete but extensible: short timer.
		{"011x.", []step{{"011", CT, sh}, {"0114", CT, sh}, {"01", P, lg}}},
		// 911 and a longer 911x: 911 must wait for the short timer.
		{"911|911x", []step{{"91", P, lg}, {"911", CT, sh}, {"9115", C, no}}},
		// Cisco SPA default-like plan.
		{"(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxxS0|xxxxxxxxxxxx.)", nil}, // S0 is not ours: error below
		// Polycom default: [2-9]11|0T|+011xxx.T|0[2-9]xxxxxxxxx|+1[2-9]xxxxxxxx|[2-9]xxxxxxxxx|[2-9]xxxT
		{"[2-9]11|0T|011xxx.T|0[2-9]xxxxxxxxx|1[2-9]xxxxxxxxx|[2-9]xxxxxxxxx|[2-9]xxxT", []step{
			{"411", CT, sh}, {"4115", CT, lg}, {"4115551234", C, no}, {"41155", P, lg}, {"2345", CT, lg},
			{"0", CT, lg}, {"02", P, lg}, {"02125551234", C, no}, {"011", P, lg}, {"0114", P, lg}, {"01144", CT, lg},
			{"12125551234", C, no},
		}},
		// Yealink-style extensions with a set and star codes.
		{"[1-8]xx|9xxxxxxx|[*#]x.", []step{
			{"123", C, no}, {"9", P, lg}, {"91234567", C, no}, {"*", CT, sh}, {"*7", CT, sh}, {"#", CT, sh},
			{"0", N, no},
		}},
		// Sets with commas and single keys.
		{"[0-3,6]x|[135]", []step{{"6", P, lg}, {"62", C, no}, {"4", N, no}, {"1", CT, sh}, {"5", C, no}, {"7", N, no}}},
		// Repeat in the middle: 9 then any number of 0s then 1.
		{"90.1", []step{{"9", P, lg}, {"91", C, no}, {"9001", C, no}, {"900", P, lg}, {"92", N, no}}},
		// Only a T pattern, shorter alternatives dead.
		{"xxxT|xx", []step{{"1", P, lg}, {"12", CT, sh}, {"123", CT, lg}, {"1234", N, no}}},
		// Everything: the open plan.
		{"x.T", []step{{"", P, lg}, {"5", CT, lg}, {"*", N, no}}},
		// # as the end of a number.
		{"xxx#|*xx#", []step{{"123", P, lg}, {"123#", C, no}, {"*12#", C, no}}},
	}
	for _, tc := range tests {
		p, err := Parse(tc.plan)
		if tc.steps == nil {
			if err == nil {
				t.Errorf("Parse(%q) accepted", tc.plan)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.plan, err)
		}
		for _, s := range tc.steps {
			d := p.Lookup(s.digits)
			if d.Result != s.want || d.Timer != s.timer {
				t.Errorf("%q: Lookup(%q) = %v/%v, want %v/%v", tc.plan, s.digits, d.Result, d.Timer, s.want, s.timer)
			}
			if got := p.Match(s.digits); got != s.want {
				t.Errorf("%q: Match(%q) = %v, want %v", tc.plan, s.digits, got, s.want)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ plan, want string }{
		{"", `column 1: empty pattern`},
		{"   ", `column 1: empty pattern`},
		{"911|", `column 5: empty pattern`},
		{"|911", `column 1: empty pattern`},
		{"91||1", `column 4: empty pattern`},
		{"2xx|[2-9", `column 5: unclosed "["`},
		{"1xx[2-9|5", `column 4: unclosed "["`},
		{"xxx[2-", `column 4: unclosed "["`},
		{"[2-]", `column 3: range "2-" without an end`},
		{"[9-2]", `column 2: range "9-2" runs backwards`},
		{"[*-9]", `column 2: range "*-9": ranges are of digits`},
		{"[]", `column 1: empty "[]"`},
		{"[2[3]]", `column 3: "[" inside "[...]"`},
		{"[a]", `column 2: unexpected 'a' in "[...]"`},
		{"[-5]", `column 2: "-" without a digit before it`},
		{"911]", `column 4: "]" without "["`},
		{".1", `column 1: "." with nothing before it to repeat`},
		{"1|.", `column 3: "." with nothing before it to repeat`},
		{"1x..", `column 4: ".." : an element repeats once`},
		{"T", `column 1: "T" with no digits before it`},
		{"0T1", `column 3: '1' after "T": T must end the pattern`},
		{"0TT", `column 3: 'T' after "T": T must end the pattern`},
		{"(911", `column 1: unclosed "("`},
		{"()", `column 1: empty pattern`},
		{"911)", `column 4: ')': parentheses may only wrap the whole map`},
		{"9(11)", `column 2: '(': parentheses may only wrap the whole map`},
		{"91a", `column 3: unexpected 'a'`},
		{"1xxx[2-9]xxxxxxS0", `column 16: unexpected 'S'`},
		{"+011x.T", `column 1: unexpected '+'`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.plan)
		if err == nil {
			t.Errorf("Parse(%q) accepted", tc.plan)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v does not wrap ErrSyntax", tc.plan, err)
		}
		if want := "dialplan: " + tc.want; err.Error() != want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.plan, err, want)
		}
	}
}

func TestLimits(t *testing.T) {
	if _, err := Parse(strings.Repeat("1", MaxPlanLen+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("long map: %v", err)
	}
	if _, err := Parse(strings.Repeat("1", MaxElements)); err != nil {
		t.Errorf("%d elements: %v", MaxElements, err)
	}
	if _, err := Parse(strings.Repeat("1", MaxElements+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("%d elements: %v", MaxElements+1, err)
	}
	if _, err := Parse(strings.Repeat("1|", MaxPatterns-1) + "1"); err != nil {
		t.Errorf("%d patterns: %v", MaxPatterns, err)
	}
	if _, err := Parse(strings.Repeat("1|", MaxPatterns) + "1"); !errors.Is(err, ErrTooLong) {
		t.Errorf("%d patterns: %v", MaxPatterns+1, err)
	}
	p, err := Parse("x.T")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Match(strings.Repeat("1", MaxDigits)); got != CompleteAfterTimeout {
		t.Errorf("MaxDigits digits: %v", got)
	}
	if got := p.Match(strings.Repeat("1", MaxDigits+1)); got != NoMatch {
		t.Errorf("MaxDigits+1 digits: %v", got)
	}
	// The longest pattern reaches its accepting state (bit 63).
	p, err = Parse(strings.Repeat("x", MaxElements))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Match(strings.Repeat("5", MaxElements)); got != Complete {
		t.Errorf("63-element pattern: %v", got)
	}
}

func TestPatterns(t *testing.T) {
	p, err := Parse(" ( [2-9]xxx | 0 T | 9,1x.T ) ")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.Patterns(), "|")
	if got != "[2-9]xxx|0T|9,1x.T" {
		t.Errorf("Patterns = %q", got)
	}
	if Complete.String() != "Complete" || TimerShort.String() != "short" {
		t.Error("String")
	}
}

func TestMatchAllocs(t *testing.T) {
	p, err := Parse("[2-9]xxx|0T|*xx|911|9,1[2-9]xx[2-9]xxxxxx|011x.T")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { p.Match("912125551234") }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}
