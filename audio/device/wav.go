package device

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/deskphone/phoned/audio/wav"
	"github.com/deskphone/phoned/firmware/clock"
)

// WAV is a device whose microphone plays a WAV file in a loop and whose
// speaker records to a WAV file. Both files hold 8000 Hz mono 16-bit PCM.
type WAV struct {
	pace pacer
	mic  []int16 // whole input file; nil = silence
	pos  int

	mu     sync.Mutex // guards out, w and closed against Close from another goroutine
	out    *os.File
	w      *wav.Writer
	closed bool
}

// OpenWAV opens inPath as the microphone and creates (or truncates) outPath
// as the speaker. An empty inPath gives a silent microphone; an empty
// outPath discards what is played. The input is read into memory once.
func OpenWAV(inPath, outPath string, clk clock.Clock) (*WAV, error) {
	d := &WAV{pace: pacer{clk: clk}}
	if inPath != "" {
		s, f, err := wav.ReadFile(inPath)
		if errors.Is(err, wav.ErrUnsupported) || (err == nil && f != wav.Telephone) {
			return nil, fmt.Errorf("%w: %s: %v, want %v", ErrFormat, inPath, f, wav.Telephone)
		}
		if err != nil {
			return nil, fmt.Errorf("device: microphone: %w", err)
		}
		if len(s) == 0 {
			return nil, fmt.Errorf("%w: %s: no samples", ErrFormat, inPath)
		}
		d.mic = s
	}
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			return nil, fmt.Errorf("device: speaker: %w", err)
		}
		w, err := wav.NewWriter(f, wav.Telephone)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("device: speaker: %s: %w", outPath, err)
		}
		d.out, d.w = f, w
	}
	return d, nil
}

// Read waits for the next frame deadline and fills frame with the next
// samples of the input file, wrapping to its start at the end.
func (d *WAV) Read(frame []int16) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	d.pace.wait(len(frame))
	if d.mic == nil {
		clear(frame)
		return nil
	}
	for n := 0; n < len(frame); {
		c := copy(frame[n:], d.mic[d.pos:])
		n += c
		d.pos += c
		if d.pos == len(d.mic) {
			d.pos = 0
		}
	}
	return nil
}

// Write appends frame to the output file, keeping its header current so
// the file is readable even if the process dies.
func (d *WAV) Write(frame []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.w == nil {
		return nil
	}
	return d.w.Write(frame)
}

// Close finishes the output file.
func (d *WAV) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.w == nil {
		return nil
	}
	return errors.Join(d.w.Close(), d.out.Close())
}
