package tone

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Name identifies a call-progress tone within a Plan.
type Name string

// Tone names every built-in Plan defines.
const (
	Dial           Name = "dial"
	Ringback       Name = "ringback"
	Busy           Name = "busy"
	Congestion     Name = "congestion" // reorder, fast busy
	CallWaiting    Name = "call-waiting"
	StutterDial    Name = "stutter-dial" // message waiting
	OffHookWarning Name = "offhook-warning"
	Confirm        Name = "confirm"
	// Ring is the ringer's default cadence; distinctive cadences are
	// DistinctiveRing(2) to DistinctiveRing(5).
	Ring Name = "ring"
)

// Names lists the tones every built-in plan defines, in a fixed order.
var Names = []Name{Dial, Ringback, Busy, Congestion, CallWaiting, StutterDial, OffHookWarning, Confirm,
	Ring, DistinctiveRing(2), DistinctiveRing(3), DistinctiveRing(4), DistinctiveRing(5)}

// DistinctiveRing names Bellcore distinctive ring pattern n (2 to 5;
// pattern 1 is Ring), as Alert-Info "Bellcore-drN" selects it.
func DistinctiveRing(n int) Name {
	if n <= 1 {
		return Ring
	}
	return Name(fmt.Sprintf("ring-dr%d", n))
}

// Sentinel errors of the plan functions.
var (
	ErrUnknownCountry = errors.New("tone: unknown country")
	ErrBadName        = errors.New("tone: bad tone name")
)

// Plan maps tone names to tones for one country or site. Treat the
// package-level plans as read-only; copy with maps.Clone to customise.
type Plan map[Name]Tone

//go:embed plans.txt
var plansText string

// Plans holds the built-in plans (from plans.txt) by lower-case ISO 3166
// country code.
var Plans = mustLoadPlans(plansText)

// US is the North American plan (precise tone plan, ANSI T1.401; cadences
// per Telcordia GR-506).
var US = Plans["us"]

// Countries lists the codes of the built-in plans, sorted.
func Countries() []string { return slices.Sorted(maps.Keys(Plans)) }

// Country returns a copy of the built-in plan for code (case-insensitive).
func Country(code string) (Plan, error) {
	p, ok := Plans[strings.ToLower(code)]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownCountry, code, strings.Join(Countries(), ", "))
	}
	return maps.Clone(p), nil
}

// ValidName reports whether s can name a tone: 1 to 32 of a-z, 0-9 and
// "-", starting with a letter.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// With returns a copy of p with the tones in custom (name -> tone in the
// grammar) added or replacing p's. The error names the first bad entry in
// name order, wrapping ErrBadName, ErrSyntax or ErrRange.
func (p Plan) With(custom map[string]string) (Plan, error) {
	out := maps.Clone(p)
	if out == nil {
		out = Plan{}
	}
	for _, name := range slices.Sorted(maps.Keys(custom)) {
		if !ValidName(name) {
			return nil, fmt.Errorf("%w %q: want 1 to 32 of a-z, 0-9 and -, starting with a letter", ErrBadName, name)
		}
		t, err := Parse(custom[name])
		if err != nil {
			return nil, fmt.Errorf("tone %q: %w", name, err)
		}
		out[Name(name)] = t
	}
	return out, nil
}

// parsePlans reads the plans.txt format: "COUNTRY NAME TONE [# comment]"
// a line; country "*" gives defaults to every plan.
func parsePlans(text string) (map[string]Plan, error) {
	plans := map[string]Plan{}
	defaults := Plan{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("plans.txt:%d: want COUNTRY NAME TONE, got %d fields", n, len(f))
		}
		if !ValidName(f[1]) {
			return nil, fmt.Errorf("plans.txt:%d: %w %q", n, ErrBadName, f[1])
		}
		t, err := Parse(f[2])
		if err != nil {
			return nil, fmt.Errorf("plans.txt:%d: %s %s: %w", n, f[0], f[1], err)
		}
		p := defaults
		if f[0] != "*" {
			if p = plans[f[0]]; p == nil {
				p = Plan{}
				plans[f[0]] = p
			}
		}
		if _, dup := p[Name(f[1])]; dup {
			return nil, fmt.Errorf("plans.txt:%d: %s %s defined twice", n, f[0], f[1])
		}
		p[Name(f[1])] = t
	}
	for _, p := range plans {
		for k, t := range defaults {
			if _, ok := p[k]; !ok {
				p[k] = t
			}
		}
	}
	return plans, nil
}

func mustLoadPlans(text string) map[string]Plan {
	p, err := parsePlans(text)
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return p
}
