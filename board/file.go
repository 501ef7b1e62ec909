package board

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/hook"
	"github.com/deskphone/phoned/firmware/tomlpos"
	"github.com/deskphone/phoned/keypad"
)

// ErrInvalid is wrapped by every error about a board file's content.
var ErrInvalid = errors.New("invalid board file")

// MaxSize is the largest board file accepted, in bytes.
const MaxSize = 256 << 10

var limits = tomlpos.Limits{Entries: 2000, Depth: 8}

// Error is one problem in a board file, formatted
//
//	board/rpi4.toml:12: keypad.cols[1]: gpiochip0 line 5 already used by keypad.rows[2] (line 9)
//
// It wraps ErrInvalid, and Err when there is one (gpio.ErrNoLine when the
// chip lacks the line at open).
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // syntax errors only
	Field  string
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap gives ErrInvalid and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

func join(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	if len(errs) > 50 {
		errs = errs[:50]
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// Keypad kinds.
const (
	KeypadTerminal = "terminal" // the sim board: keys and hook from the terminal or the API
	KeypadGPIO     = "gpio"     // hook switch, matrix and function keys on GPIO lines
)

// Output roles a board may have.
var Roles = []string{"ringer", "led_line", "led_message", "amp", "handset_path", "speaker_path", "headset_path"}

// Memory is the value of an output that is kept in memory (the sim board).
const Memory = "memory"

// Parse reads a board file. name is used in error messages (and kept in
// Board.File). On error the Board is zero and every problem is listed, one
// per line, each an *Error naming the file, line and field. It never
// panics.
func Parse(name string, data []byte) (b Board, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = Board{}, join([]*Error{{File: name, Line: 1, Msg: fmt.Sprintf("internal error: %v (please report this file)", r)}})
		}
	}()
	if len(data) > MaxSize {
		return Board{}, join([]*Error{{File: name, Line: 1, Msg: fmt.Sprintf("file too large (more than %d bytes)", MaxSize)}})
	}
	name = tomlpos.OneLine(name)
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	lines := tomlpos.LineStarts(data)
	p := &parser{name: name}
	p.Fields = tomlpos.Fields{Fail: p.fail}
	doc, probs := tomlpos.Parse(data, lines, limits)
	if probs != nil {
		for _, pr := range probs {
			p.errs = append(p.errs, p.problem(pr))
		}
		return Board{}, join(p.errs)
	}
	p.pos = doc.Pos
	tree := doc.Tree
	b = p.board(tree)
	if len(p.errs) > 0 {
		return Board{}, join(p.errs)
	}
	b.File = name
	b.pos = p.pos
	return b, nil
}

type parser struct {
	tomlpos.Fields
	name string
	pos  map[string]int
	errs []*Error
	used map[string]string // line key -> field that uses it
}

func (p *parser) problem(pr tomlpos.Problem) *Error {
	return &Error{File: p.name, Line: pr.Line, Column: pr.Column, Field: pr.Field, Msg: pr.Msg}
}

func (p *parser) fail(path []string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.name, Line: tomlpos.Line(p.pos, path), Field: tomlpos.FieldPath(path), Msg: tomlpos.OneLine(fmt.Sprintf(format, args...))})
}

func keyPath(keys ...string) []string { return keys }

func (p *parser) board(tree map[string]any) Board {
	var b Board
	p.Unknown(tree, nil, "name", "description", "keypad", "hook", "keys", "outputs", "audio")
	if !p.str(tree, nil, "name", &b.Name) {
		p.fail(keyPath("name"), "required key missing")
	} else if !validName(b.Name) {
		p.fail(keyPath("name"), "invalid board name %q (want a-z 0-9 - _)", b.Name)
	}
	p.str(tree, nil, "description", &b.Description)

	b.Keypad = KeypadTerminal
	kp, kpPath := p.Table(tree, nil, "keypad")
	if kp != nil {
		p.Unknown(kp, kpPath, "kind", "rows", "cols", "map", "scan_interval", "debounce", "long_press")
		p.str(kp, kpPath, "kind", &b.Keypad)
	}
	switch b.Keypad {
	case KeypadTerminal:
		if kp != nil {
			for _, k := range []string{"rows", "cols", "map", "scan_interval", "debounce", "long_press"} {
				if _, ok := kp[k]; ok {
					p.fail(tomlpos.Child(kpPath, k), "only for a keypad of kind %q", KeypadGPIO)
				}
			}
		}
		if _, ok := tree["hook"]; ok {
			p.fail(keyPath("hook"), "a %q board takes the hook switch from the terminal; use keypad.kind = %q for a GPIO hook switch", KeypadTerminal, KeypadGPIO)
		}
		if _, ok := tree["keys"]; ok {
			p.fail(keyPath("keys"), "only for a keypad of kind %q", KeypadGPIO)
		}
	case KeypadGPIO:
		b.Hook = p.hook(tree)
		b.Matrix = p.matrix(kp, kpPath)
		b.Keys = p.keys(tree)
	default:
		p.fail(tomlpos.Child(kpPath, "kind"), "unknown keypad kind %q (want %s or %s)", b.Keypad, KeypadTerminal, KeypadGPIO)
	}

	if t, tp := p.Table(tree, nil, "outputs"); t != nil {
		b.Lines = map[string]gpio.Spec{}
		for _, role := range tomlpos.SortedKeys(t) {
			rp := tomlpos.Child(tp, role)
			if !slices.Contains(Roles, role) {
				p.fail(rp, "unknown output (want one of %s)", strings.Join(Roles, ", "))
				continue
			}
			if s, ok := t[role].(string); ok {
				if s != Memory {
					p.fail(rp, "want %q or a line table, got %q", Memory, s)
				}
			} else if spec, ok := p.line(t, tp, role); ok {
				if b.Keypad != KeypadGPIO {
					p.fail(rp, "GPIO outputs need keypad.kind = %q", KeypadGPIO)
				}
				b.Lines[role] = spec
			} else {
				continue
			}
			b.Outputs = append(b.Outputs, role)
		}
		if len(b.Lines) == 0 {
			b.Lines = nil
		}
	}

	if t, tp := p.Table(tree, nil, "audio"); t != nil {
		p.Unknown(t, tp, "handset", "speaker", "headset", "ringer")
		p.audioPath(t, tp, "handset", &b.Audio.Handset)
		p.audioPath(t, tp, "speaker", &b.Audio.Speaker)
		p.audioPath(t, tp, "headset", &b.Audio.Headset)
		p.str(t, tp, "ringer", &b.Audio.Ringer)
	}
	return b
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (p *parser) audioPath(t map[string]any, tp []string, key string, dst *Path) {
	if a, ap := p.Table(t, tp, key); a != nil {
		p.Unknown(a, ap, "sink", "source")
		p.str(a, ap, "sink", &dst.Sink)
		p.str(a, ap, "source", &dst.Source)
	}
}

func (p *parser) hook(tree map[string]any) *Hook {
	t, tp := p.Table(tree, nil, "hook")
	if t == nil {
		if _, ok := tree["hook"]; !ok {
			p.fail(keyPath("hook", "line"), "required for keypad.kind = %q: the hook switch line", KeypadGPIO)
		}
		return nil
	}
	h := &Hook{Contact: hook.NormallyOpen, Debounce: hook.DefaultDebounce, FlashMin: hook.DefaultFlashMin, FlashMax: hook.DefaultFlashMax}
	p.Unknown(t, tp, "line", "contact", "debounce", "flash_min", "flash_max")
	if _, ok := t["line"]; !ok {
		p.fail(tomlpos.Child(tp, "line"), "required key missing: the hook switch line")
	} else if spec, ok := p.line(t, tp, "line"); ok {
		h.Line = spec
	}
	var c string
	if p.str(t, tp, "contact", &c) {
		h.Contact = hook.Contact(c)
		if h.Contact != hook.NormallyOpen && h.Contact != hook.NormallyClosed {
			p.fail(tomlpos.Child(tp, "contact"), "unknown contact %q (want %s or %s)", c, hook.NormallyOpen, hook.NormallyClosed)
		}
	}
	p.duration(t, tp, "debounce", &h.Debounce, 0, time.Second)
	p.duration(t, tp, "flash_min", &h.FlashMin, time.Millisecond, 5*time.Second)
	p.duration(t, tp, "flash_max", &h.FlashMax, 0, 5*time.Second)
	if h.FlashMax > 0 && h.FlashMin >= h.FlashMax {
		p.fail(tomlpos.Child(tp, "flash_min"), "%v is not below flash_max %v", h.FlashMin, h.FlashMax)
	}
	if h.FlashMax == 0 {
		h.FlashMax = -1 // hook.Config: no flash
	}
	return h
}

func (p *parser) matrix(kp map[string]any, kpPath []string) *Matrix {
	if kp == nil {
		return nil
	}
	_, hasRows := kp["rows"]
	_, hasCols := kp["cols"]
	_, hasMap := kp["map"]
	if !hasRows && !hasCols && !hasMap {
		return nil // function keys only
	}
	m := &Matrix{Scan: keypad.ScanConfig{Interval: keypad.DefaultScanInterval, Debounce: keypad.DefaultDebounce, LongPress: keypad.DefaultLongPress}}
	for _, k := range []string{"rows", "cols", "map"} {
		if _, ok := kp[k]; !ok {
			p.fail(tomlpos.Child(kpPath, k), "required key missing: a matrix needs rows, cols and map")
		}
	}
	m.Rows = p.lines(kp, kpPath, "rows")
	m.Cols = p.lines(kp, kpPath, "cols")
	p.duration(kp, kpPath, "scan_interval", &m.Scan.Interval, time.Millisecond, time.Second)
	p.duration(kp, kpPath, "debounce", &m.Scan.Debounce, 0, time.Second)
	p.duration(kp, kpPath, "long_press", &m.Scan.LongPress, 0, time.Minute)
	if m.Scan.LongPress == 0 {
		m.Scan.LongPress = -1 // keypad: never
	}
	mp := tomlpos.Child(kpPath, "map")
	v, ok := kp["map"]
	if !ok {
		return m
	}
	rows, ok := v.([]any)
	if !ok {
		p.fail(mp, "want an array of arrays of key names, got %s", tomlpos.TypeName(v))
		return m
	}
	if m.Rows != nil && len(rows) != len(m.Rows) {
		p.fail(mp, "%d rows of keys for %d row lines (keypad.rows)", len(rows), len(m.Rows))
	}
	seen := map[string]string{}
	for i, r := range rows {
		rp := tomlpos.Child(mp, tomlpos.Elem(i))
		keys, ok := r.([]any)
		if !ok {
			p.fail(rp, "want an array of key names, got %s", tomlpos.TypeName(r))
			continue
		}
		if m.Cols != nil && len(keys) != len(m.Cols) {
			p.fail(rp, "%d keys for %d column lines (keypad.cols)", len(keys), len(m.Cols))
		}
		row := make([]string, len(keys))
		for j, k := range keys {
			kp := tomlpos.Child(rp, tomlpos.Elem(j))
			s, ok := k.(string)
			if !ok {
				p.fail(kp, "want a key name, got %s", tomlpos.TypeName(k))
				continue
			}
			if s != "" {
				p.keyName(kp, s, seen)
			}
			row[j] = s
		}
		m.Map = append(m.Map, row)
	}
	return m
}

// keyName checks a key name and that it is mapped once.
func (p *parser) keyName(at []string, s string, seen map[string]string) {
	if !keypad.IsKey(s) {
		p.fail(at, "unknown key %q (want 0-9, *, # or one of %s)", s, strings.Join(phoneFunctions(), ", "))
		return
	}
	here := tomlpos.FieldPath(at)
	if prev, ok := seen[s]; ok {
		p.fail(at, "key %q already mapped at %s", s, prev)
		return
	}
	seen[s] = here
}

func (p *parser) keys(tree map[string]any) []Key {
	v, ok := tree["keys"]
	if !ok {
		return nil
	}
	kp := keyPath("keys")
	arr, ok := v.([]any)
	if !ok {
		p.fail(kp, "want an array of tables ([[keys]]), got %s", tomlpos.TypeName(v))
		return nil
	}
	seen := map[string]string{}
	// Keys of the matrix are checked there; a function key on its own line
	// and in the matrix is one key twice.
	if m, ok := tree["keypad"].(map[string]any); ok {
		if rows, ok := m["map"].([]any); ok {
			for i, r := range rows {
				if ks, ok := r.([]any); ok {
					for j, k := range ks {
						if s, ok := k.(string); ok && s != "" {
							seen[s] = tomlpos.FieldPath(keyPath("keypad", "map", tomlpos.Elem(i), tomlpos.Elem(j)))
						}
					}
				}
			}
		}
	}
	var out []Key
	for i, e := range arr {
		ep := tomlpos.Child(kp, tomlpos.Elem(i))
		t, ok := e.(map[string]any)
		if !ok {
			p.fail(ep, "want a table, got %s", tomlpos.TypeName(e))
			continue
		}
		p.Unknown(t, ep, "key", "line")
		var k Key
		if !p.str(t, ep, "key", &k.Key) {
			p.fail(tomlpos.Child(ep, "key"), "required key missing")
		} else {
			p.keyName(tomlpos.Child(ep, "key"), k.Key, seen)
		}
		if _, ok := t["line"]; !ok {
			p.fail(tomlpos.Child(ep, "line"), "required key missing")
			continue
		}
		if spec, ok := p.line(t, ep, "line"); ok {
			k.Line = spec
			out = append(out, k)
		}
	}
	return out
}

// lines decodes an array of line tables.
func (p *parser) lines(t map[string]any, tp []string, key string) []gpio.Spec {
	v, ok := t[key]
	if !ok {
		return nil
	}
	lp := tomlpos.Child(tp, key)
	arr, ok := v.([]any)
	if !ok {
		p.fail(lp, "want an array of line tables, got %s", tomlpos.TypeName(v))
		return nil
	}
	if len(arr) == 0 || len(arr) > 16 {
		p.fail(lp, "%d lines (want 1 to 16)", len(arr))
	}
	out := make([]gpio.Spec, 0, len(arr))
	for i, e := range arr {
		s, _ := p.lineValue(tomlpos.Child(lp, tomlpos.Elem(i)), e)
		out = append(out, s)
	}
	return out
}

func (p *parser) line(t map[string]any, tp []string, key string) (gpio.Spec, bool) {
	return p.lineValue(tomlpos.Child(tp, key), t[key])
}

// lineValue decodes one line table: { chip = "gpiochip0", offset = 17 }
// or { name = "GPIO17" }, with active_low and pull, and records it so that
// a line used twice is found.
func (p *parser) lineValue(at []string, v any) (gpio.Spec, bool) {
	t, ok := v.(map[string]any)
	if !ok {
		p.fail(at, "want a line table such as { chip = \"gpiochip0\", offset = 17 } or { name = \"GPIO17\" }, got %s", tomlpos.TypeName(v))
		return gpio.Spec{}, false
	}
	n := len(p.errs)
	p.Unknown(t, at, "chip", "offset", "name", "active_low", "pull")
	var s gpio.Spec
	hasChip := p.str(t, at, "chip", &s.Chip)
	_, hasOffset := t["offset"]
	hasName := p.str(t, at, "name", &s.Name)
	if hasOffset {
		p.int(t, at, "offset", &s.Offset)
	}
	switch {
	case hasName && hasOffset:
		p.fail(tomlpos.Child(at, "offset"), "give name or offset, not both")
	case hasName:
		if s.Name == "" {
			p.fail(tomlpos.Child(at, "name"), "must not be empty")
		}
	case hasChip && hasOffset:
		if s.Chip == "" {
			p.fail(tomlpos.Child(at, "chip"), "must not be empty")
		}
		if s.Offset < 0 || s.Offset > 1023 {
			p.fail(tomlpos.Child(at, "offset"), "%d out of range (want 0..1023)", s.Offset)
		}
	case hasChip:
		p.fail(tomlpos.Child(at, "offset"), "required key missing: the line's offset on chip %q", s.Chip)
	case hasOffset:
		p.fail(tomlpos.Child(at, "chip"), "required key missing: the chip of offset %d", s.Offset)
	default:
		p.fail(at, "no line: give chip and offset, or name")
	}
	p.Bool(t, at, "active_low", &s.ActiveLow)
	var pull string
	if p.str(t, at, "pull", &pull) {
		s.Pull = gpio.Pull(pull)
		switch s.Pull {
		case gpio.PullUp, gpio.PullDown, gpio.PullOff, gpio.PullNone:
		default:
			p.fail(tomlpos.Child(at, "pull"), "unknown pull %q (want up, down or off)", pull)
		}
	}
	if len(p.errs) > n {
		return s, false
	}
	if p.used == nil {
		p.used = map[string]string{}
	}
	field := tomlpos.FieldPath(at)
	if prev, ok := p.used[s.Key()]; ok {
		p.fail(at, "%s already used by %s (line %d)", s, prev, p.pos[prev])
		return s, false
	}
	p.used[s.Key()] = field
	return s, true
}

// Generic tree helpers: unknown keys and type errors are reported with the
// key's line.

func (p *parser) str(m map[string]any, at []string, key string, dst *string) bool {
	var v string
	if !p.Str(m, at, key, &v) {
		return false
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(v) > 256 {
		p.fail(tomlpos.Child(at, key), "control characters or more than 256 bytes")
		return false
	}
	*dst = v
	return true
}

// int reads a required integer: a missing one is "got nothing".
func (p *parser) int(m map[string]any, at []string, key string, dst *int) {
	if n, ok := p.Integer(tomlpos.Child(at, key), m[key]); ok {
		*dst = n
	}
}

func (p *parser) duration(m map[string]any, at []string, key string, dst *time.Duration, lo, hi time.Duration) {
	var s string
	if !p.str(m, at, key, &s) {
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(tomlpos.Child(at, key), "invalid duration %q (want e.g. \"20ms\")", s)
		return
	}
	if d < lo || d > hi {
		p.fail(tomlpos.Child(at, key), "%v out of range (want %v..%v)", d, lo, hi)
		return
	}
	*dst = d
}
