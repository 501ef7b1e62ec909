package keypad

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	cases := map[byte]Action{'0': Digit, '9': Digit, '*': Digit, '#': Digit, ' ': Hook, 'h': Hook,
		'\r': Hook, 'q': Quit, 0x03: Quit, 0x0c: Redraw, 'x': None, 0: None, 0xff: None,
		'f': Flash, 'o': Function, 't': Function, 'c': Function, 'm': Function, 'r': Function, 's': Function, '?': Help}
	for b, want := range cases {
		if got := Lookup(b); got != want {
			t.Errorf("Lookup(%q) = %d, want %d", b, got, want)
		}
	}
}

func TestTerminalFunctions(t *testing.T) {
	for b, a := range Terminal {
		if (a == Function) != (FunctionOf(b) != "") {
			t.Errorf("key %q: action %d, function %q", b, a, FunctionOf(b))
		}
	}
	for b, f := range TerminalFunctions {
		if !strings.Contains(TerminalHelp, string(b)+" "+strings.ReplaceAll(string(f), "_", " ")) {
			t.Errorf("help %q does not list %q for %s", TerminalHelp, b, f)
		}
	}
}
