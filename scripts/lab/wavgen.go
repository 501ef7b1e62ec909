package lab

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/wav"
)

// ToneWAV writes dur of a sine at freq Hz (0: silence) as an 8 kHz mono
// 16-bit WAV into t.TempDir() and returns its path. Amplitude is -10 dBFS.
func ToneWAV(t testing.TB, freq float64, dur time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%gHz-%s.wav", freq, dur))
	if err := writeTone(path, freq, dur); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeTone(path string, freq float64, dur time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := wav.NewWriter(f, wav.Telephone)
	if err != nil {
		f.Close()
		return err
	}
	const rate = 8000
	n := int(dur.Seconds() * rate)
	frame := make([]int16, rate) // one second per Write
	amp := 32767 * math.Pow(10, -10.0/20)
	for i := 0; i < n; i += len(frame) {
		frame = frame[:min(len(frame), n-i)]
		for j := range frame {
			frame[j] = int16(amp * math.Sin(2*math.Pi*freq*float64(i+j)/rate))
		}
		if err := w.Write(frame); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
