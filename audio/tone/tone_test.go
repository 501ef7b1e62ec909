package tone

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/detect"
)

func TestParse(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in   string
		want []Segment
		str  string
	}{
		{"350+440/0", []Segment{{[]float64{350, 440}, -13, 0}}, ""},
		{"440+480/2000,0/4000", []Segment{{[]float64{440, 480}, -13, 2000 * ms}, {nil, -13, 4000 * ms}}, ""},
		{"1000@-10/0", []Segment{{[]float64{1000}, -10, 0}}, ""},
		{"425.5@+3/100,0/0", []Segment{{[]float64{425.5}, 3, 100 * ms}, {nil, -13, 0}}, "425.5@3/100,0/0"},
		{" 480+620/500 , 0/500 ", []Segment{{[]float64{480, 620}, -13, 500 * ms}, {nil, -13, 500 * ms}}, "480+620/500,0/500"},
		{"1400+2060+2450+2600/100,0/100", []Segment{{[]float64{1400, 2060, 2450, 2600}, -13, 100 * ms}, {nil, -13, 100 * ms}}, ""},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got.Segments, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got.Segments, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if got.String() != str {
			t.Errorf("String() = %q, want %q", got.String(), str)
		}
		again, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("re-parse of %q: %+v, %v", got.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		err  error
		want []string // substrings of the message
	}{
		{"", ErrSyntax, []string{"empty tone"}},
		{"350+440", ErrSyntax, []string{"segment 1", `missing "/ms"`}},
		{"350+440/", ErrSyntax, []string{"bad duration"}},
		{"350+440/-5", ErrSyntax, []string{"bad duration", "-5"}},
		{"350+440/1.5", ErrSyntax, []string{"bad duration"}},
		{"440+480/2000,0/4000,", ErrSyntax, []string{"segment 3", "empty segment"}},
		{"440+480/2000,,0/4000", ErrSyntax, []string{"segment 2", "empty segment", "column 14"}},
		{"350+x/100", ErrSyntax, []string{"segment 1", `bad frequency "x"`, "column 5"}},
		{"440/100,480+abc/100", ErrSyntax, []string{"segment 2", `bad frequency "abc"`, "column 13"}},
		{"350++440/0", ErrSyntax, []string{`bad frequency ""`}},
		{"NaN/0", ErrSyntax, []string{"bad frequency"}},
		{"440@loud/0", ErrSyntax, []string{`bad level "loud"`, "column 5"}},
		{"440@-70/0", ErrRange, []string{"level -70"}},
		{"440@6/0", ErrRange, []string{"level 6"}},
		{"4000/0", ErrRange, []string{"frequency 4000 Hz"}},
		{"-350/0", ErrRange, []string{"frequency -350"}},
		{"0+440/100", ErrSyntax, []string{"silence"}},
		{"350+440+480+620+700/0", ErrRange, []string{"5 frequencies"}},
		{"350+440+480+620@0/0", ErrRange, []string{"full scale"}},
		{"440/70000", ErrRange, []string{"duration 70000"}},
		{"350+440/0,0/100", ErrSyntax, []string{"segment 2", "unreachable"}},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q) err = %v, want %v", tt.in, err, tt.err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) err = %q, want it to mention %q", tt.in, err, w)
			}
		}
	}
}

// frames renders n 20 ms frames of t, optionally through a G.711 round trip.
func frames(t Tone, n int, c *codec.Codec) [][]int16 {
	g := NewGenerator(t)
	out := make([][]int16, n)
	buf := make([]byte, 160)
	for i := range out {
		out[i] = make([]int16, 160)
		g.Fill(out[i])
		if c != nil {
			c.EncodeFrame(buf, out[i])
			c.DecodeFrame(out[i], buf)
		}
	}
	return out
}

// cadence turns frames into on/off run lengths (in frames), checking that
// every "on" frame holds exactly the wanted frequencies among all the US
// plan's frequencies.
func cadence(t *testing.T, name Name, fr [][]int16, want []float64) []int {
	t.Helper()
	all := []float64{350, 440, 480, 620, 1400, 2060, 2450, 2600}
	var runs []int
	prev := false
	for i, f := range fr {
		on := detect.Energy(f) > 0
		// Frames where the cadence switches mid-frame hold a short burst
		// whose spectrum is wide; check frequencies on whole frames.
		if on && detect.Energy(f[:80]) > 0 && detect.Energy(f[80:]) > 0 {
			for _, hz := range all {
				wanted := false
				for _, w := range want {
					wanted = wanted || w == hz
				}
				if detect.Present(f, hz) != wanted {
					t.Fatalf("%s frame %d: %v Hz present=%v (fraction %.3f)", name, i, hz, !wanted, detect.Fraction(f, hz, 8000))
				}
			}
		}
		if i == 0 || on != prev {
			runs = append(runs, 0)
		}
		runs[len(runs)-1]++
		prev = on
	}
	return runs
}

func TestUSPlanFrequenciesAndCadence(t *testing.T) {
	pcmu := codec.PCMU
	tests := []struct {
		name  Name
		freqs []float64
		n     int
		runs  []int // on/off run lengths in 20 ms frames, starting on
	}{
		{Dial, []float64{350, 440}, 100, []int{100}},
		{Ringback, []float64{440, 480}, 600, []int{100, 200, 100, 200}},
		{Busy, []float64{480, 620}, 100, []int{25, 25, 25, 25}},
		{Congestion, []float64{480, 620}, 100, []int{13, 12, 13, 12, 13, 12, 13, 12}},
		{OffHookWarning, []float64{1400, 2060, 2450, 2600}, 40, []int{5, 5, 5, 5, 5, 5, 5, 5}},
		{Confirm, []float64{350, 440}, 30, []int{5, 5, 5, 5, 5, 5}},
	}
	for _, tt := range tests {
		t.Run(string(tt.name), func(t *testing.T) {
			tn, ok := US[tt.name]
			if !ok {
				t.Fatalf("no %s in US plan", tt.name)
			}
			got := cadence(t, tt.name, frames(tn, tt.n, &pcmu), tt.freqs)
			if !reflect.DeepEqual(got, tt.runs) {
				t.Fatalf("cadence %v, want %v", got, tt.runs)
			}
		})
	}
}

func TestCadenceIsSampleExact(t *testing.T) {
	// 250 ms = 2000 samples: the congestion tone switches mid-frame.
	fr := frames(US[Congestion], 50, nil)
	flat := make([]int16, 0, 50*160)
	for _, f := range fr {
		flat = append(flat, f...)
	}
	for i, s := range flat {
		on := (i/2000)%2 == 0
		if !on && s != 0 {
			t.Fatalf("sample %d = %d during the off period", i, s)
		}
	}
	if flat[1999] == 0 && flat[1998] == 0 {
		t.Fatal("tone ended early")
	}
}

func TestPhaseContinuousAndLevel(t *testing.T) {
	tn := MustParse("1000@-13/0")
	g := NewGenerator(tn)
	amp := ZeroDBm0Peak * math.Pow(10, -13.0/20)
	frame := make([]int16, 160)
	var maxErr, peak float64
	n := 0
	for k := 0; k < 500; k++ { // 10 s
		g.Fill(frame)
		for _, s := range frame {
			want := amp * math.Sin(2*math.Pi*1000*float64(n)/8000)
			maxErr = math.Max(maxErr, math.Abs(float64(s)-want))
			peak = math.Max(peak, math.Abs(float64(s)))
			n++
		}
	}
	if maxErr > 2 {
		t.Fatalf("deviates from a continuous sine by %v", maxErr)
	}
	if math.Abs(peak-amp) > 2 || math.Abs(amp-5071) > 2 {
		t.Fatalf("peak %v, want %v (-13 dBm0)", peak, amp)
	}
	// Frame size does not matter: odd-sized fills give the same samples.
	a, b := NewGenerator(US[Busy]), NewGenerator(US[Busy])
	x, y := make([]int16, 7*1000), make([]int16, 0, 7*1000)
	a.Fill(x)
	for len(y) < cap(y) {
		f := make([]int16, 7)
		b.Fill(f)
		y = append(y, f...)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatal("output depends on frame size")
	}
}

func TestNoClippingWhenSummed(t *testing.T) {
	tn := MustParse("1400+2060+2450+2600@-9/0") // loudest four-tone mix Parse allows
	g := NewGenerator(tn)
	frame := make([]int16, 160)
	peak := 0
	for k := 0; k < 500; k++ {
		g.Fill(frame)
		for _, s := range frame {
			if s == math.MaxInt16 || s == math.MinInt16 {
				t.Fatalf("clipped at frame %d", k)
			}
			peak = max(peak, int(s), -int(s))
		}
	}
	if peak < 20000 {
		t.Fatalf("peak %d: the mix should come near full scale", peak)
	}
	if _, err := Parse("1400+2060+2450+2600@-8/0"); !errors.Is(err, ErrRange) {
		t.Fatalf("a mix over full scale parsed: %v", err)
	}
}

func TestEmptyToneIsSilence(t *testing.T) {
	g := NewGenerator(Tone{})
	f := []int16{1, 2, 3}
	g.Fill(f)
	if f[0] != 0 || f[2] != 0 {
		t.Fatal("not silent")
	}
}

func TestFillNoAllocs(t *testing.T) {
	g := NewGenerator(US[OffHookWarning])
	f := make([]int16, 160)
	if a := testing.AllocsPerRun(100, func() { g.Fill(f) }); a != 0 {
		t.Fatalf("%v allocs per frame", a)
	}
}

func BenchmarkFill(b *testing.B) {
	for _, name := range []Name{Dial, OffHookWarning} {
		b.Run(string(name), func(b *testing.B) {
			g := NewGenerator(US[name])
			f := make([]int16, 160)
			b.ReportAllocs()
			for b.Loop() {
				g.Fill(f)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Parse("440+480/2000,0/4000")
	}
}
