package lab

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

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

func TestDecodeRTPFields(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// µ-law 0xff is 0, 0x80 is the largest positive value; PT 101 is a
	// telephone-event and left out; the first packet is before since.
	out := "999.5|0|80:80\n1000.000000|0|ff:80\n1000.02|101|0a:0b:0c:0d\n1000.04|8|d5\n"
	s, err := decodeRTPFields(out, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 || s[0] != 0 || s[1] < 30000 {
		t.Fatalf("decoded %v", s)
	}
	if _, err := decodeRTPFields("1000|0|zz", t0); err == nil {
		t.Fatal("a bad payload decoded")
	}
}

// A Recording of a set of files takes in a file that appears later.
func TestRecordingOfAGrowingSet(t *testing.T) {
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "a.wav")}
	write := func(path string, s []int16) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := wav.NewWriter(f, wav.Telephone)
		w.Write(s)
		f.Close()
	}
	write(files[0], tone([]float64{700}, 800))
	r := FollowAll(func() []string { return files })
	if err := r.Mark(); err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(dir, "b.wav"))
	write(files[1], tone([]float64{1100}, 1600))
	s, err := r.Since()
	if err != nil || len(s) != 1600 || Heard(s, 1100) < 0.19 || Heard(s, 700) != 0 {
		t.Fatalf("since the mark: %d samples, %v", len(s), err)
	}
}
