// Package keypad turns key presses into phone events.
//
// It holds the key map of the simulated board's terminal keypad (Lookup:
// a terminal byte maps to one Action) and the GPIO keypad Scanner: a
// matrix (rows driven one at a time, columns read) plus keys that are one
// GPIO line each, scanned at a fixed rate on an injected clock, debounced,
// with ghost-key rejection and long-press detection. The scanner's key map
// comes from the board file: a key name per matrix position. Key names are
// "0"-"9", "*", "#" and the function keys of phone.Functions.
//
// Contract: presses and releases of dial-pad keys reach the phone as
// phone.Key and phone.KeyRelease, in the order they happened, so a digit
// held while talking can give the RFC 4733 event its duration (RFC 4733
// §2.5.1.3) once the media path sends DTMF.
package keypad

import "github.com/deskphone/phoned/firmware/phone"

// Action is what a key does.
type Action int

const (
	None     Action = iota
	Digit           // a dial-pad key: 0-9, * or #
	Hook            // lift or replace the handset (toggle)
	Quit            // leave the simulator
	Redraw          // redraw the display
	Flash           // a hook flash (answer a waiting call, swap, second call)
	Function        // a function key: FunctionOf names it
	Help            // show the key help
)

// Terminal is the simulated board's key map.
//
//	0-9 * #            dial pad
//	space, h, Enter    hook switch (lift / hang up)
//	f                  hook flash
//	o t c m r s        hold, transfer, conference, mute, redial, speaker
//	?                  help
//	q, Ctrl-C, Ctrl-D  quit
//	Ctrl-L             redraw
var Terminal = map[byte]Action{
	' ': Hook, 'h': Hook, 'H': Hook, '\r': Hook, '\n': Hook,
	'f': Flash, 'F': Flash,
	'o': Function, 't': Function, 'c': Function, 'm': Function, 'r': Function, 's': Function,
	'?': Help,
	'q': Quit, 'Q': Quit, 0x03: Quit, 0x04: Quit,
	0x0c: Redraw,
}

// TerminalFunctions are the function keys of the terminal keypad.
var TerminalFunctions = map[byte]phone.Function{
	'o': phone.FnHold, 't': phone.FnTransfer, 'c': phone.FnConference,
	'm': phone.FnMute, 'r': phone.FnRedial, 's': phone.FnSpeaker,
}

// TerminalHelp is the help line of the terminal keypad.
const TerminalHelp = "keys: 0-9 * # dial | space/h/Enter lift or hang up | f flash | o hold | t transfer | c conference | m mute | r redial | s speaker | ? help | q quit"

// Lookup returns the action of terminal byte b; digits, * and # are Digit.
func Lookup(b byte) Action {
	if b >= '0' && b <= '9' || b == '*' || b == '#' {
		return Digit
	}
	return Terminal[b]
}

// FunctionOf returns the function key of terminal byte b ("" if none).
func FunctionOf(b byte) phone.Function { return TerminalFunctions[b] }
