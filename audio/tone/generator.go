package tone

import (
	"math"

	"github.com/deskphone/phoned/audio"
)

// osc is a recursive (rotating phasor) sine oscillator: each sample turns
// (c, s) = (cos φ, sin φ) by the step angle, so no sin call per sample.
type osc struct {
	c, s   float64 // phasor
	dc, ds float64 // cos and sin of the step angle
	amp    float64
}

// Generator renders a Tone frame by frame at audio.SampleRate. It is not
// safe for concurrent use.
type Generator struct {
	tone Tone
	seg  int // current segment
	left int // samples left in it; -1 = continuous
	osc  [MaxFreqs]osc
	nosc int
}

// NewGenerator returns a generator positioned at the start of t. A tone
// with no segments generates silence.
func NewGenerator(t Tone) *Generator {
	g := &Generator{tone: t}
	g.Reset()
	return g
}

// Tone returns the tone being generated.
func (g *Generator) Tone() Tone { return g.tone }

// Reset restarts the cadence from its first segment.
func (g *Generator) Reset() {
	g.seg = 0
	g.enter()
}

// enter sets up the oscillators of segment g.seg, phase 0 so the segment
// starts at a zero crossing.
func (g *Generator) enter() {
	g.nosc = 0
	if len(g.tone.Segments) == 0 {
		g.left = -1
		return
	}
	s := g.tone.Segments[g.seg]
	g.left = int(s.Duration * audio.SampleRate / 1e9)
	if g.left == 0 {
		g.left = -1
	}
	amp := s.peak()
	for _, f := range s.Freqs {
		if g.nosc == MaxFreqs {
			break
		}
		w := 2 * math.Pi * f / audio.SampleRate
		g.osc[g.nosc] = osc{c: 1, dc: math.Cos(w), ds: math.Sin(w), amp: amp}
		g.nosc++
	}
}

// Fill writes the next len(frame) samples of the tone into frame.
func (g *Generator) Fill(frame []int16) {
	for len(frame) > 0 {
		n := len(frame)
		if g.left >= 0 && g.left < n {
			n = g.left
		}
		g.render(frame[:n])
		frame = frame[n:]
		if g.left > 0 {
			g.left -= n
		}
		if g.left == 0 {
			g.seg = (g.seg + 1) % len(g.tone.Segments)
			g.enter()
		}
	}
}

func (g *Generator) render(out []int16) {
	if g.nosc == 0 {
		clear(out)
		return
	}
	for i := range out {
		var v float64
		for k := range g.osc[:g.nosc] {
			o := &g.osc[k]
			v += o.amp * o.s
			o.c, o.s = o.c*o.dc-o.s*o.ds, o.s*o.dc+o.c*o.ds
		}
		// Parse keeps the summed peak within full scale; round and saturate
		// anyway so a hand-built Tone cannot wrap around.
		v = math.Round(v)
		if v > math.MaxInt16 {
			v = math.MaxInt16
		} else if v < math.MinInt16 {
			v = math.MinInt16
		}
		out[i] = int16(v)
	}
	// Pull the phasors back onto the unit circle (one Newton step) so
	// rounding errors do not grow the amplitude over a long tone.
	for k := range g.osc[:g.nosc] {
		o := &g.osc[k]
		r := (3 - (o.c*o.c + o.s*o.s)) / 2
		o.c *= r
		o.s *= r
	}
}
