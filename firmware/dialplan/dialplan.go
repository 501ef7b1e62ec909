package dialplan

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on a map and on the digits matched against it.
const (
	MaxPlanLen  = 4096 // bytes in a digit map
	MaxPatterns = 256  // alternatives in one map
	MaxElements = 63   // elements in one pattern (its NFA state set is a uint64)
	MaxDigits   = 64   // digits given to Match; more are NoMatch
)

// Errors returned by Parse, wrapped with the column and details.
var (
	ErrSyntax  = errors.New("syntax error")
	ErrTooLong = errors.New("digit map too long")
)

// Result is what the digits collected so far mean for the phone.
type Result int

// Results of Match; see the package documentation for the phone's action.
const (
	NoMatch              Result = iota // no pattern can match: reorder tone
	Partial                            // more digits may complete a pattern: wait (long timer)
	Complete                           // exactly one way on, nothing longer possible: dial now
	CompleteAfterTimeout               // matches, but longer input may too (or a T pattern): dial when the timer expires
)

func (r Result) String() string {
	switch r {
	case NoMatch:
		return "NoMatch"
	case Partial:
		return "Partial"
	case Complete:
		return "Complete"
	case CompleteAfterTimeout:
		return "CompleteAfterTimeout"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Timer is the inter-digit timer a phone should run after a Lookup.
type Timer int

// Timers.
const (
	TimerNone  Timer = iota // dial now (Complete) or give up (NoMatch)
	TimerShort              // short inter-digit timer, then send
	TimerLong               // long inter-digit timer: then send (T pattern) or give up (Partial)
)

func (t Timer) String() string {
	switch t {
	case TimerNone:
		return "none"
	case TimerShort:
		return "short"
	case TimerLong:
		return "long"
	}
	return fmt.Sprintf("Timer(%d)", int(t))
}

// Decision is the result of Lookup.
type Decision struct {
	Result Result
	Timer  Timer
}

// The 12 keys, as bits of a key set: 0-9 are bits 0-9, '*' 10, '#' 11.
const (
	keyStar  = 10
	keyPound = 11
	allDigit = 1<<10 - 1
)

func keyIndex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c == '*':
		return keyStar
	case c == '#':
		return keyPound
	}
	return -1
}

// pattern is one alternative compiled to an NFA over element positions
// 0..n; position n is the accepting state.
type pattern struct {
	src    string
	n      int
	accept [12]uint64 // accept[k]: elements whose key set holds key k
	rep    uint64     // elements followed by "."
	timer  bool       // ends in T
}

// Plan is a parsed digit map.
type Plan struct {
	src      string
	patterns []pattern
}

// String returns the map as given to Parse.
func (p *Plan) String() string { return p.src }

// Patterns returns the alternatives in their canonical written form
// (whitespace removed).
func (p *Plan) Patterns() []string {
	out := make([]string, len(p.patterns))
	for i, pt := range p.patterns {
		out[i] = pt.src
	}
	return out
}

type parseError struct {
	col int
	msg string
	err error
}

func (e *parseError) Error() string { return fmt.Sprintf("dialplan: column %d: %s", e.col, e.msg) }
func (e *parseError) Unwrap() error { return e.err }

func errAt(col int, format string, args ...any) error {
	return &parseError{col: col, msg: fmt.Sprintf(format, args...), err: ErrSyntax}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Parse parses a digit map (see the package documentation for the syntax).
func Parse(s string) (*Plan, error) {
	if len(s) > MaxPlanLen {
		return nil, &parseError{col: MaxPlanLen + 1, msg: fmt.Sprintf("map is %d bytes, at most %d", len(s), MaxPlanLen), err: ErrTooLong}
	}
	// Optional parentheses around the whole map.
	lo, hi := 0, len(s)
	for lo < hi && isSpace(s[lo]) {
		lo++
	}
	for hi > lo && isSpace(s[hi-1]) {
		hi--
	}
	if lo < hi && s[lo] == '(' {
		if s[hi-1] != ')' || hi-1 == lo {
			return nil, errAt(lo+1, `unclosed "("`)
		}
		lo, hi = lo+1, hi-1
	}
	if lo == hi {
		return nil, errAt(1, "empty pattern")
	}
	plan := &Plan{src: s}
	start := lo
	for i := lo; i <= hi; i++ {
		if i < hi && s[i] != '|' {
			if s[i] == '[' { // skip the set; parsePattern reports what is wrong inside
				open := i
				for i < hi && s[i] != ']' && s[i] != '|' {
					i++
				}
				if i >= hi || s[i] == '|' {
					return nil, errAt(open+1, `unclosed "["`)
				}
			}
			continue
		}
		if len(plan.patterns) == MaxPatterns {
			return nil, &parseError{col: start + 1, msg: fmt.Sprintf("more than %d patterns", MaxPatterns), err: ErrTooLong}
		}
		pt, err := parsePattern(s, start, i)
		if err != nil {
			return nil, err
		}
		plan.patterns = append(plan.patterns, pt)
		start = i + 1
	}
	return plan, nil
}

// parsePattern compiles s[lo:hi]; columns in errors are 1-based in s.
func parsePattern(s string, lo, hi int) (pattern, error) {
	var pt pattern
	var src strings.Builder
	last := -1 // index of the last element, for "."
	lastRep := false
	for i := lo; i < hi; i++ {
		c := s[i]
		col := i + 1
		if isSpace(c) {
			continue
		}
		if pt.timer {
			return pt, errAt(col, `%q after "T": T must end the pattern`, c)
		}
		var set uint16
		switch {
		case keyIndex(c) >= 0:
			set = 1 << keyIndex(c)
		case c == 'x' || c == 'X':
			set = allDigit
		case c == '[':
			end := strings.IndexByte(s[i:hi], ']')
			if end < 0 {
				return pt, errAt(col, `unclosed "["`)
			}
			var err error
			if set, err = parseSet(s, i+1, i+end); err != nil {
				return pt, err
			}
			src.WriteString(s[i : i+end+1])
			i += end
		case c == '.':
			if last < 0 {
				return pt, errAt(col, `"." with nothing before it to repeat`)
			}
			if lastRep {
				return pt, errAt(col, `".." : an element repeats once`)
			}
			pt.rep |= 1 << last
			lastRep = true
			src.WriteByte('.')
			continue
		case c == 'T' || c == 't':
			if last < 0 {
				return pt, errAt(col, `"T" with no digits before it`)
			}
			pt.timer = true
			src.WriteByte('T')
			continue
		case c == ',':
			src.WriteByte(',')
			continue
		case c == ']':
			return pt, errAt(col, `"]" without "["`)
		case c == '(' || c == ')':
			return pt, errAt(col, `%q: parentheses may only wrap the whole map`, c)
		default:
			return pt, errAt(col, "unexpected %q", c)
		}
		if c != '[' {
			src.WriteByte(c)
		}
		if pt.n == MaxElements {
			return pt, &parseError{col: col, msg: fmt.Sprintf("pattern has more than %d elements", MaxElements), err: ErrTooLong}
		}
		for k := range 12 {
			if set&(1<<k) != 0 {
				pt.accept[k] |= 1 << pt.n
			}
		}
		last, lastRep = pt.n, false
		pt.n++
	}
	if pt.n == 0 {
		return pt, errAt(lo+1, "empty pattern")
	}
	pt.src = src.String()
	return pt, nil
}

// parseSet parses the inside of "[...]", s[lo:hi].
func parseSet(s string, lo, hi int) (uint16, error) {
	var set uint16
	for i := lo; i < hi; i++ {
		c := s[i]
		switch k := keyIndex(c); {
		case isSpace(c) || c == ',':
		case c == '[':
			return 0, errAt(i+1, `"[" inside "[...]"`)
		case k >= 0:
			// A range "a-b" of digits.
			if i+1 < hi && s[i+1] == '-' {
				if i+2 >= hi {
					return 0, errAt(i+2, `range "%c-" without an end`, c)
				}
				e := s[i+2]
				if k > 9 || e < '0' || e > '9' {
					return 0, errAt(i+1, "range %q: ranges are of digits", s[i:i+3])
				}
				if e < c {
					return 0, errAt(i+1, "range %q runs backwards", s[i:i+3])
				}
				for d := c; d <= e; d++ {
					set |= 1 << (d - '0')
				}
				i += 2
				continue
			}
			set |= 1 << k
		case c == 'x' || c == 'X':
			set |= allDigit
		case c == '-':
			return 0, errAt(i+1, `"-" without a digit before it`)
		default:
			return 0, errAt(i+1, "unexpected %q in \"[...]\"", c)
		}
	}
	if set == 0 {
		return 0, errAt(lo, `empty "[]"`)
	}
	return set, nil
}

// closure adds the states reachable by skipping repeated elements, which
// may match zero times.
func (pt *pattern) closure(s uint64) uint64 {
	for {
		next := s | (s&pt.rep)<<1
		if next == s {
			return s
		}
		s = next
	}
}

// run returns the pattern's state set after digits (0 if dead).
func (pt *pattern) run(digits string) uint64 {
	s := pt.closure(1)
	for i := 0; i < len(digits) && s != 0; i++ {
		k := keyIndex(digits[i])
		m := s & pt.accept[k]
		s = pt.closure((m&^pt.rep)<<1 | m&pt.rep)
	}
	return s
}

// Match returns what digits (the keys pressed so far, "0"-"9", "*", "#")
// mean for the phone under this plan.
func (p *Plan) Match(digits string) Result { return p.Lookup(digits).Result }

// Lookup is Match plus the inter-digit timer to run.
func (p *Plan) Lookup(digits string) Decision {
	if len(digits) > MaxDigits {
		return Decision{NoMatch, TimerNone}
	}
	for i := 0; i < len(digits); i++ {
		if keyIndex(digits[i]) < 0 {
			return Decision{NoMatch, TimerNone}
		}
	}
	var alive, complete, completeT, longer bool
	for i := range p.patterns {
		pt := &p.patterns[i]
		s := pt.run(digits)
		if s == 0 {
			continue
		}
		alive = true
		end := uint64(1) << pt.n
		if s&end != 0 {
			if pt.timer {
				completeT = true
			} else {
				complete = true
			}
		}
		if s&^end != 0 { // a state before the end: more digits may match
			longer = true
		}
	}
	switch {
	case !alive:
		return Decision{NoMatch, TimerNone}
	case digits == "":
		return Decision{Partial, TimerLong}
	case complete && !longer:
		return Decision{Complete, TimerNone}
	case complete:
		return Decision{CompleteAfterTimeout, TimerShort}
	case completeT:
		return Decision{CompleteAfterTimeout, TimerLong}
	}
	return Decision{Partial, TimerLong}
}
