// Package board describes the hardware models phoned runs on, as data:
// where the hook switch and keypad come from, the outputs, the sound
// device. Today there is one board, "sim", which runs on any Linux machine:
// its keypad and hook switch are the terminal (board/sim) or the local API,
// its ringer and LEDs are in memory and shown on the terminal display.
package board

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrUnknown is returned for a board name with no description.
var ErrUnknown = errors.New("unknown board")

// Board is one hardware model.
type Board struct {
	Name        string
	Description string
	// Keypad says where keys and the hook switch come from:
	// "terminal" for the simulator.
	Keypad string
	// Outputs lists the board's on/off outputs by role.
	Outputs []string
	// Audio names the sound device's paths; "" is the server's default.
	Audio Audio
}

// Audio is the board's sound paths: PulseAudio sink and source names.
type Audio struct {
	Handset Path // the handset earpiece and microphone
	Speaker Path // hands-free
	Headset Path
	Ringer  string // sink the ring is played on ("" = the speaker's sink)
}

// Path is one playback sink and capture source pair.
type Path struct {
	Sink   string
	Source string
}

var boards = map[string]Board{
	"sim": {
		Name:        "sim",
		Description: "simulated board: terminal keypad and display, in-memory ringer and LEDs",
		Keypad:      "terminal",
		Outputs:     []string{"ringer", "led_line", "led_message"},
	},
}

// Lookup returns the board called name.
func Lookup(name string) (Board, error) {
	b, ok := boards[name]
	if !ok {
		return Board{}, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Names lists the known boards, sorted.
func Names() []string {
	var n []string
	for k := range boards {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
