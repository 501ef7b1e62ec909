package lab

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/deskphone/phoned/audio/wav"
)

func tone(freqs []float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		var v float64
		for _, f := range freqs {
			v += 3000 * math.Sin(2*math.Pi*f*float64(i)/8000)
		}
		s[i] = int16(v)
	}
	return s
}

// A recording read while it grows, with a header that still says 0 bytes
// (as libsndfile leaves it until close).
func TestRecordingFollowsAGrowingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wav.NewWriter(f, wav.Telephone)
	if err != nil {
		t.Fatal(err)
	}
	r := Follow(path)
	if s, err := r.Since(); err != nil || len(s) != 0 {
		t.Fatalf("empty recording: %d samples, %v", len(s), err)
	}
	w.Write(tone([]float64{700}, 8000))
	// Undo the size patch: what a reader sees from libsndfile mid-call.
	if _, err := f.WriteAt([]byte{0, 0, 0, 0}, 40); err != nil {
		t.Fatal(err)
	}
	s, err := r.Since()
	if err != nil || len(s) != 8000 {
		t.Fatalf("after 1 s: %d samples, %v", len(s), err)
	}
	if h := Heard(s, 700); h < 0.95 || Heard(s, 1100) != 0 {
		t.Fatalf("heard %.2f s of 700 Hz, %.2f s of 1100 Hz", h, Heard(s, 1100))
	}
	if err := r.Mark(); err != nil {
		t.Fatal(err)
	}
	w.Write(tone([]float64{700, 1100, 1300}, 4000)) // a conference's mix
	s, err = r.Since()
	if err != nil || len(s) != 4000 {
		t.Fatalf("since the mark: %d samples, %v", len(s), err)
	}
	for _, f := range []float64{700, 1100, 1300} {
		if h := Heard(s, f); h < 0.45 {
			t.Errorf("%v Hz heard %.2f s in a 0.5 s mix", f, h)
		}
	}
	if h := Heard(s, 1700); h != 0 {
		t.Errorf("1700 Hz heard %.2f s in a mix without it", h)
	}
	if err := os.WriteFile(path, []byte("not a wav file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Since(); err == nil {
		t.Fatal("a non-WAV file read without error")
	}
}
