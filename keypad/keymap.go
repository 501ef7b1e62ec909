// Package keypad turns key presses into phone actions.
//
// Today it holds the key map of the simulated board's terminal keypad; the
// GPIO matrix scanner (debounce, ghost-key rejection, long press) joins it
// when hardware boards arrive. A key map is data: a position (here, a
// terminal byte) maps to one Action.
package keypad

// Action is what a key does.
type Action int

const (
	None   Action = iota
	Digit         // a dial-pad key: 0-9, * or #
	Hook          // lift or replace the handset (toggle)
	Quit          // leave the simulator
	Redraw        // redraw the display
)

// Terminal is the simulated board's key map.
//
//	0-9 * #            dial pad
//	space, h, Enter    hook switch (lift / hang up)
//	q, Ctrl-C, Ctrl-D  quit
//	Ctrl-L             redraw
var Terminal = map[byte]Action{
	' ': Hook, 'h': Hook, 'H': Hook, '\r': Hook, '\n': Hook,
	'q': Quit, 'Q': Quit, 0x03: Quit, 0x04: Quit,
	0x0c: Redraw,
}

// Lookup returns the action of terminal byte b; digits, * and # are Digit.
func Lookup(b byte) Action {
	if b >= '0' && b <= '9' || b == '*' || b == '#' {
		return Digit
	}
	return Terminal[b]
}
