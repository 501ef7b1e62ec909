package detect

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deskphone/phoned/audio/codec"
)

func sine(n int, amp float64, freqs ...float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		var v float64
		for _, f := range freqs {
			v += amp * math.Sin(2*math.Pi*f*float64(i)/8000+0.3)
		}
		s[i] = int16(v)
	}
	return s
}

func roundTrip(c codec.Codec, s []int16) []int16 {
	b := make([]byte, len(s))
	out := make([]int16, len(s))
	c.EncodeFrame(b, s)
	c.DecodeFrame(out, b)
	return out
}

func TestGoertzelPower(t *testing.T) {
	// A sine of amplitude A over N samples has power about (A·N/2)².
	s := sine(160, 1000, 700)
	want := math.Pow(1000*160/2, 2)
	if got := Goertzel(s, 700, 8000); math.Abs(got-want)/want > 0.01 {
		t.Fatalf("power %v, want about %v", got, want)
	}
	if got := Goertzel(s, 1100, 8000); got > want/1000 {
		t.Fatalf("power at 1100 Hz %v, want < %v", got, want/1000)
	}
}

func TestTellsSevenHundredFromElevenHundred(t *testing.T) {
	cands := []float64{700, 1100}
	for _, c := range []codec.Codec{codec.PCMU, codec.PCMA} {
		for _, amp := range []float64{300, 3000, 20000} {
			for _, f := range cands {
				other := 1800 - f
				s := roundTrip(c, sine(160, amp, f))
				got, frac, ok := Dominant(s, cands)
				if !ok || got != f || frac < 0.9 {
					t.Errorf("%s amp %v: Dominant = %v %.3f %v, want %v", c.Name, amp, got, frac, ok, f)
				}
				if !Present(s, f) || Present(s, other) {
					t.Errorf("%s amp %v %v Hz: Present(%v)=%v Present(%v)=%v", c.Name, amp, f, f, Present(s, f), other, Present(s, other))
				}
				if o := Fraction(s, other, 8000); o > 0.01 {
					t.Errorf("%s amp %v: leakage into %v Hz = %.4f", c.Name, amp, other, o)
				}
			}
		}
	}
}

func TestMultiTone(t *testing.T) {
	// The howler: four tones of equal level, each holds about a quarter.
	freqs := []float64{1400, 2060, 2450, 2600}
	s := roundTrip(codec.PCMU, sine(160, 4000, freqs...))
	for _, f := range freqs {
		if !Present(s, f) {
			t.Errorf("%v Hz not present (fraction %.3f)", f, Fraction(s, f, 8000))
		}
	}
	for _, f := range []float64{350, 440, 480, 620, 1000} {
		if Present(s, f) {
			t.Errorf("%v Hz present (fraction %.3f)", f, Fraction(s, f, 8000))
		}
	}
}

func TestSilenceAndNoise(t *testing.T) {
	silent := make([]int16, 160)
	if Present(silent, 700) {
		t.Error("700 Hz present in silence")
	}
	if _, _, ok := Dominant(silent, []float64{700}); ok {
		t.Error("Dominant found a tone in silence")
	}
	quiet := sine(160, 10, 700) // below MinRMS
	if Present(quiet, 700) {
		t.Error("tone below MinRMS reported present")
	}
	r := rand.New(rand.NewPCG(1, 2))
	noise := make([]int16, 160)
	for i := range noise {
		noise[i] = int16(r.IntN(20000) - 10000)
	}
	for _, f := range []float64{350, 440, 700, 1100, 2600} {
		if Present(noise, f) {
			t.Errorf("%v Hz present in white noise (%.3f)", f, Fraction(noise, f, 8000))
		}
	}
	if Present(nil, 700) {
		t.Error("present in empty block")
	}
}

func BenchmarkGoertzel(b *testing.B) {
	s := sine(160, 3000, 700)
	b.ReportAllocs()
	for b.Loop() {
		Goertzel(s, 700, 8000)
	}
}

func BenchmarkDominant(b *testing.B) {
	s := sine(160, 3000, 700)
	c := []float64{700, 1100}
	b.ReportAllocs()
	for b.Loop() {
		Dominant(s, c)
	}
}
