package plc

import (
	"math"
	"testing"

	"github.com/deskphone/phoned/audio/detect"
)

const frame = 160

// signal returns n samples of a sum of harmonics of f0 (amplitudes amps),
// starting at sample offset.
func signal(offset, n int, f0 float64, amps ...float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		t := float64(offset+i) / Rate
		var v float64
		for h, a := range amps {
			v += a * math.Sin(2*math.Pi*f0*float64(h+1)*t)
		}
		s[i] = int16(v)
	}
	return s
}

// run feeds frames of src through a Concealer, losing the frames for which
// lost returns true, and returns the output with the Delay removed so that
// it lines up with src.
func run(src []int16, lost func(k int) bool) []int16 {
	var c Concealer
	out := make([]int16, 0, len(src)+frame)
	f := make([]int16, frame)
	for k := 0; k+frame <= len(src); k += frame {
		if lost(k / frame) {
			c.Conceal(f)
		} else {
			copy(f, src[k:k+frame])
			c.Good(f)
		}
		out = append(out, f...)
	}
	return out[Delay:]
}

func maxStep(s []int16) int {
	m := 0
	for i := 1; i < len(s); i++ {
		d := int(s[i]) - int(s[i-1])
		m = max(m, d, -d)
	}
	return m
}

func TestGoodIsDelayedCopy(t *testing.T) {
	src := signal(0, 20*frame, 300, 8000)
	out := run(src, func(int) bool { return false })
	for i := range out {
		if out[i] != src[i] {
			t.Fatalf("sample %d: %d want %d", i, out[i], src[i])
		}
	}
}

func TestSingleLossSineNoClick(t *testing.T) {
	for _, f0 := range []float64{150, 300, 440, 1000} {
		src := signal(0, 30*frame, f0, 10000)
		const lostFrame = 15
		out := run(src, func(k int) bool { return k == lostFrame })
		// The original's largest step is 2πf/Rate·A; allow 50 % more.
		limit := int(1.5 * 2 * math.Pi * f0 / Rate * 10000)
		lo, hi := lostFrame*frame-2*frame, lostFrame*frame+2*frame
		if got := maxStep(out[lo:hi]); got > limit {
			t.Errorf("%v Hz: step %d across the loss, limit %d", f0, got, limit)
		}
		gap := out[lostFrame*frame : (lostFrame+1)*frame]
		e, e0 := detect.Energy(gap), detect.Energy(src[lostFrame*frame:(lostFrame+1)*frame])
		if r := e / e0; r < 0.8 || r > 1.25 {
			t.Errorf("%v Hz: concealed energy ratio %.2f", f0, r)
		}
		t.Logf("%v Hz: max step %d (limit %d), energy ratio %.3f", f0, maxStep(out[lo:hi]), limit, e/e0)
	}
}

func TestLongLossFadesToSilence(t *testing.T) {
	src := signal(0, 40*frame, 200, 8000, 4000, 2000)
	out := run(src, func(k int) bool { return k >= 10 && k < 20 })
	e := func(k int) float64 { return detect.Energy(out[k*frame : (k+1)*frame]) }
	e0 := e(9)
	if r := e(10) / e0; r < 0.7 {
		t.Errorf("first concealed frame energy ratio %.2f", r)
	}
	if !(e(11) < e(10) && e(12) < e(11)) {
		t.Errorf("no fade: %.0f %.0f %.0f", e(10), e(11), e(12))
	}
	// 60 ms after the start of the loss (plus the Delay) it is silent.
	for i := 10*frame + 480 + Delay; i < 20*frame; i++ {
		if out[i] != 0 {
			t.Fatalf("sample %d = %d after 60 ms of loss", i, out[i])
		}
	}
	// Merging back from silence: no click.
	limit := int(math.Round(1.5 * 2 * math.Pi * 600 / Rate * 14000))
	if got := maxStep(out[19*frame : 22*frame]); got > limit {
		t.Errorf("step %d at the merge, limit %d", got, limit)
	}
	if r := e(21) / e0; r < 0.9 || r > 1.1 {
		t.Errorf("after the loss energy ratio %.2f", r)
	}
}

func TestSpeechLikeKeepsPitch(t *testing.T) {
	for _, f0 := range []float64{100, 140, 190} {
		src := signal(0, 30*frame, f0, 6000, 4000, 3000, 1500)
		out := run(src, func(k int) bool { return k == 15 || k == 16 })
		var c Concealer
		f := make([]int16, frame)
		for k := 0; k < 15; k++ {
			copy(f, src[k*frame:])
			c.Good(f)
		}
		c.Conceal(f)
		wantP := Rate / f0
		if p := float64(c.Pitch()); math.Abs(p-wantP) > 1.5 && math.Abs(p-2*wantP) > 1.5 {
			t.Errorf("%v Hz: pitch %v samples, want %.1f", f0, p, wantP)
		}
		// The fundamental holds its share of the concealed frame.
		gap := out[15*frame : 16*frame]
		got := detect.Fraction(gap, f0, Rate)
		want := detect.Fraction(src[15*frame:16*frame], f0, Rate)
		if got < 0.8*want {
			t.Errorf("%v Hz: fundamental share %.2f, original %.2f", f0, got, want)
		}
		t.Logf("%v Hz: pitch %d (%.1f), fundamental share %.2f vs %.2f", f0, c.Pitch(), wantP, got, want)
	}
}

func TestOddFrameSizes(t *testing.T) {
	var c Concealer
	for _, n := range []int{1, 7, 80, 79, 160, 240, 400} {
		f := signal(0, n, 300, 5000)
		c.Good(f)
		c.Conceal(f)
		c.Conceal(f)
	}
	c.Reset()
	if c.Concealing() {
		t.Fatal("Reset")
	}
	c.Conceal(make([]int16, 160)) // concealment with no history is silence
}

func BenchmarkGood(b *testing.B) {
	var c Concealer
	f := signal(0, frame, 200, 8000)
	b.ReportAllocs()
	for b.Loop() {
		c.Good(f)
	}
}

func BenchmarkConceal(b *testing.B) {
	var c Concealer
	src := signal(0, frame, 200, 8000)
	f := make([]int16, frame)
	b.ReportAllocs()
	for b.Loop() {
		// One good frame, one lost: every Conceal runs the pitch search.
		copy(f, src)
		c.Good(f)
		c.Conceal(f)
	}
}

func TestNoAllocs(t *testing.T) {
	var c Concealer
	f := signal(0, frame, 200, 8000)
	allocs := testing.AllocsPerRun(100, func() {
		c.Good(f)
		c.Conceal(f)
		c.Conceal(f)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
}
