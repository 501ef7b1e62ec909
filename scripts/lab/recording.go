package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/deskphone/phoned/audio/detect"
)

// Recording follows 16-bit mono WAV files that a peer is still writing
// (baresip's sndfile recordings, phoned's WAV speaker), so a test can ask
// what a party heard between two moments of a call: Mark, act, then
// Since. The header's sizes are ignored (libsndfile patches them only on
// close): the samples are everything after the data chunk's header. A
// Recording of a set of files (FollowAll) takes in files that appear
// later too: baresip starts a new file when a re-INVITE restarts its
// audio.
type Recording struct {
	files func() []string
	marks map[string]int
}

// Follow returns a Recording of path, marked at its start.
func Follow(path string) *Recording {
	return FollowAll(func() []string { return []string{path} })
}

// FollowAll returns a Recording of the files files lists (in the order of
// their recording), each marked at its start.
func FollowAll(files func() []string) *Recording {
	return &Recording{files: files, marks: map[string]int{}}
}

// Mark remembers the recordings' current ends; Since reads from there.
func (r *Recording) Mark() error {
	for _, f := range r.files() {
		s, err := readGrowingWAV(f)
		if err != nil {
			return err
		}
		r.marks[f] = len(s)
	}
	return nil
}

// Since returns the samples recorded after the last Mark, file after file.
func (r *Recording) Since() ([]int16, error) {
	var all []int16
	for _, f := range r.files() {
		s, err := readGrowingWAV(f)
		if err != nil {
			return nil, err
		}
		m := r.marks[f]
		if m > len(s) {
			return nil, fmt.Errorf("lab: %s shrank from %d to %d samples", f, m, len(s))
		}
		all = append(all, s[m:]...)
	}
	return all, nil
}

// readGrowingWAV reads the samples of a RIFF/WAVE file's data chunk up to
// the end of the file, whatever its header says.
func readGrowingWAV(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		if len(b) == 0 {
			return nil, nil // created, nothing written yet
		}
		return nil, fmt.Errorf("lab: %s is not a WAV file", path)
	}
	i := bytes.Index(b[12:], []byte("data"))
	if i < 0 {
		return nil, nil // header not complete yet
	}
	data := b[12+i+8:]
	data = data[:len(data)&^1]
	s := make([]int16, len(data)/2)
	for k := range s {
		s[k] = int16(binary.LittleEndian.Uint16(data[2*k:]))
	}
	return s, nil
}

// Heard returns how many seconds of s (8 kHz) carry freq: 20 ms blocks in
// which freq holds at least a fifth of the energy, so a tone counts in a
// mix of three (a conference) as well as alone.
func Heard(s []int16, freq float64) float64 { return HeardShare(s, freq, 0.2) }

// HeardShare is Heard with the share of the energy that counts: a quiet
// tone over a loud one (a call-waiting beep over the talk) holds a few
// percent.
func HeardShare(s []int16, freq, share float64) float64 {
	n := 0
	for i := 0; i+160 <= len(s); i += 160 {
		if detect.Fraction(s[i:i+160], freq, 8000) >= share {
			n++
		}
	}
	return float64(n) * 0.02
}
