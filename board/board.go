// Package board describes the hardware models phoned runs on, as data: one
// TOML file per model (board/*.toml, built in with go:embed, or a file an
// admin points board.file at). A board file says where the hook switch and
// the keypad come from, the outputs (ringer, LEDs, amplifier and path
// enables), the sound device paths, and the timing defaults of debounce,
// hook flash and keypad scanning. template.toml documents every key.
//
// Contract:
//   - Parse checks a file against what it declares: unknown keys, wrong
//     types, a line used twice, a missing required input (the hook switch
//     of a GPIO board), rows/cols/map shape mismatches and unknown key
//     names are each an *Error naming the board file, line and field, all
//     at once, wrapping ErrInvalid. Parse never panics (FuzzParse).
//   - Open checks it against the real chips: a line the chip does not have
//     is an *Error naming the file, line and field, wrapping
//     gpio.ErrNoLine; a machine with no GPIO chip at all is
//     gpio.ErrNoGPIO.
//   - "sim" runs on any Linux machine: its keypad and hook switch are the
//     terminal (board/sim) or the local API, its outputs are in memory.
package board

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	pathpkg "path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/hook"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/keypad"
)

// ErrUnknown is returned for a board name with no description.
var ErrUnknown = errors.New("unknown board")

// Board is one hardware model.
type Board struct {
	Name        string
	Description string
	// File is where the description came from: "board/sim.toml" for a
	// built-in board, else the path given to Load.
	File string
	// Keypad says where keys and the hook switch come from: KeypadTerminal
	// (the simulator) or KeypadGPIO.
	Keypad string
	// Outputs lists the board's on/off outputs by role, sorted.
	Outputs []string
	// Audio names the sound device's paths; "" is the server's default.
	Audio Audio

	// GPIO boards only.
	Hook   *Hook                // the hook switch; required
	Matrix *Matrix              // the matrix keypad; nil when there is none
	Keys   []Key                // keys on a GPIO line each
	Lines  map[string]gpio.Spec // output role -> line; roles not here are in memory

	pos map[string]int // field -> line in File
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

// Hook is the hook switch of a GPIO board.
type Hook struct {
	Line     gpio.Spec
	Contact  hook.Contact
	Debounce time.Duration
	FlashMin time.Duration
	FlashMax time.Duration // < 0: no hook flash
}

// Matrix is a matrix keypad: rows driven, columns read.
type Matrix struct {
	Rows, Cols []gpio.Spec
	Map        [][]string // [row][col] key name; "" = no key
	Scan       keypad.ScanConfig
}

// Key is a key on a GPIO line of its own.
type Key struct {
	Key  string
	Line gpio.Spec
}

// Line returns the line in File of a field such as "hook.line" (0 when
// unknown).
func (b Board) Line(field string) int { return b.pos[field] }

//go:embed *.toml
var files embed.FS

// builtin are the boards of board/*.toml but the template.
var builtin = sync.OnceValues(func() (map[string]Board, error) {
	m := map[string]Board{}
	ents, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range ents {
		if e.Name() == "template.toml" {
			continue
		}
		data, err := files.ReadFile(e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b, err := Parse(pathpkg.Join("board", e.Name()), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m[b.Name] = b
	}
	return m, errors.Join(errs...)
})

// Lookup returns the built-in board called name.
func Lookup(name string) (Board, error) {
	m, err := builtin()
	if err != nil {
		return Board{}, fmt.Errorf("built-in boards: %w", err)
	}
	b, ok := m[name]
	if !ok {
		return Board{}, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Names lists the built-in boards, sorted.
func Names() []string {
	m, _ := builtin()
	var n []string
	for k := range m {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Load reads and parses the board file at path.
func Load(path string) (Board, error) {
	f, err := os.Open(path)
	if err != nil {
		return Board{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return Board{}, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

func phoneFunctions() []string {
	out := make([]string, len(phone.Functions))
	for i, f := range phone.Functions {
		out[i] = string(f)
	}
	return out
}
