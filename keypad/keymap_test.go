package keypad

import "testing"

func TestLookup(t *testing.T) {
	cases := map[byte]Action{'0': Digit, '9': Digit, '*': Digit, '#': Digit, ' ': Hook, 'h': Hook,
		'\r': Hook, 'q': Quit, 0x03: Quit, 0x0c: Redraw, 'x': None, 0: None, 0xff: None}
	for b, want := range cases {
		if got := Lookup(b); got != want {
			t.Errorf("Lookup(%q) = %d, want %d", b, got, want)
		}
	}
}
