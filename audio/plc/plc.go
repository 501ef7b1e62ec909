package plc

import "math"

// Constants of G.711 Appendix I at 8 kHz.
const (
	// Rate is the sample rate the Concealer is built for.
	Rate = 8000
	// Delay is the delay in samples the Concealer adds (3.75 ms): the
	// longest overlap-add at the start of a loss (POVERLAPMAX).
	Delay = pitchMax / 4

	pitchMin     = 40  // 200 Hz
	pitchMax     = 120 // 66.7 Hz
	pitchDiff    = pitchMax - pitchMin
	corrLen      = 160                // 20 ms correlation window
	corrBuf      = corrLen + pitchMax // samples the pitch search reads
	ndec         = 2                  // coarse search step
	corrMinPower = 250.0              // floor of the energy normaliser
	histLen      = 3*pitchMax + Delay // 390: three periods and the overlap
	block        = 80                 // 10 ms
	eOverlapIncr = 32                 // merge overlap grows 4 ms per 10 ms lost
	attenFac     = 0.2                // 20 % per 10 ms after the first 10 ms
	attenIncr    = attenFac / block
	silenceAfter = 6 * block // 60 ms: attenuated to zero
)

// Concealer fills lost frames with pitch-repeated audio. The zero value is
// ready to use.
type Concealer struct {
	hist     [histLen]float32 // signal history, newest last
	pbuf     [histLen]float32 // copy of hist taken at the start of a loss
	lastq    [Delay]float32   // the last quarter period before the loss
	in       [block]float32
	tail     [block]float32
	pitch    int // period in samples, found at the start of a loss
	poverlap int // pitch/4
	pblen    int // samples of pbuf repeated: 1, 2 or 3 periods
	poffset  int // read position in the repeated span
	erased   int // samples concealed in the current loss
}

// Reset forgets the history, as for a new call.
func (c *Concealer) Reset() { *c = Concealer{} }

// Concealing reports whether the last frame was concealed.
func (c *Concealer) Concealing() bool { return c.erased > 0 }

// Pitch returns the period in samples used for the current or last loss
// (0 before any loss).
func (c *Concealer) Pitch() int { return c.pitch }

// Good takes a received frame into the history and replaces it, in place,
// with the output signal: the frame delayed by Delay samples and, after a
// loss, merged with the concealment.
func (c *Concealer) Good(frame []int16) {
	for len(frame) > 0 {
		n := min(len(frame), block)
		s := c.in[:n]
		for i, x := range frame[:n] {
			s[i] = float32(x)
		}
		if c.erased > 0 {
			c.merge(s)
		}
		c.save(s, frame[:n])
		frame = frame[n:]
	}
}

// Conceal fills frame, in place, with the output signal for a lost frame.
func (c *Concealer) Conceal(frame []int16) {
	for len(frame) > 0 {
		// Keep blocks on 10 ms boundaries of the loss: the repetition
		// grows and the fade steps there.
		n := min(len(frame), block-c.erased%block)
		s := c.in[:n]
		c.conceal(s)
		c.save(s, frame[:n])
		frame = frame[n:]
	}
}

func (c *Concealer) conceal(out []float32) {
	switch {
	case c.erased == 0:
		c.start()
		c.read(out)
	case c.erased >= silenceAfter:
		clear(out)
	case c.erased%block == 0 && c.erased <= 2*block:
		// 10 and 20 ms into the loss: repeat one more period, joining
		// the old repetition to the new one by overlap-add.
		m := min(c.poverlap, len(out))
		save := c.poffset
		c.read(c.tail[:m])
		c.poffset = save
		for c.poffset > c.pitch {
			c.poffset -= c.pitch
		}
		c.pblen += c.pitch
		c.joinPeriods()
		c.read(out)
		overlapAdd(out[:m], c.tail[:m], out[:m])
		c.scale(out)
	default:
		c.read(out)
		c.scale(out)
	}
	c.erased += len(out)
}

// start prepares the repetition at the start of a loss.
func (c *Concealer) start() {
	c.pbuf = c.hist
	c.pitch = c.findPitch()
	c.poverlap = c.pitch / 4
	copy(c.lastq[:c.poverlap], c.pbuf[histLen-c.poverlap:])
	c.poffset = 0
	c.pblen = c.pitch
	c.joinPeriods()
	// The last quarter period has not been played yet (it is within
	// Delay): play the smoothed version.
	copy(c.hist[histLen-c.poverlap:], c.pbuf[histLen-c.poverlap:])
}

// joinPeriods overlap-adds the end of the repeated span into the samples
// before its start, so that wrapping from its end to its start is smooth.
func (c *Concealer) joinPeriods() {
	end := histLen - c.poverlap
	overlapAdd(c.pbuf[end:], c.lastq[:c.poverlap], c.pbuf[end-c.pblen:end-c.pblen+c.poverlap])
}

// read copies the repetition into out.
func (c *Concealer) read(out []float32) {
	start := histLen - c.pblen
	for len(out) > 0 {
		n := copy(out, c.pbuf[start+c.poffset:])
		c.poffset += n
		if c.poffset == c.pblen {
			c.poffset = 0
		}
		out = out[n:]
	}
}

// gain is the attenuation after t samples of loss: 1 for the first 10 ms,
// then 20 % less per 10 ms.
func gain(t int) float32 {
	g := 1 - float32(t-block)*attenIncr
	return max(0, min(1, g))
}

func (c *Concealer) scale(out []float32) {
	for i := range out {
		out[i] *= gain(c.erased + i)
	}
}

// merge cross-fades the first good samples after a loss with the
// continued concealment (overlapaddatend in the reference).
func (c *Concealer) merge(s []float32) {
	blocks := (c.erased + block - 1) / block
	olen := min(c.poverlap+(blocks-1)*eOverlapIncr, block, len(s))
	g := max(0, 1-float32(blocks-1)*attenFac)
	if olen > 0 {
		f := c.tail[:olen]
		c.read(f)
		incr := 1 / float32(olen)
		lw, rw := (1-incr)*g, incr
		for i := range f {
			s[i] = lw*f[i] + rw*s[i]
			lw -= incr * g
			rw += incr
		}
	}
	c.erased = 0
}

// save appends s to the history and writes the delayed output to out.
func (c *Concealer) save(s []float32, out []int16) {
	n := len(s)
	copy(c.hist[:], c.hist[n:])
	copy(c.hist[histLen-n:], s)
	for i, x := range c.hist[histLen-Delay-n : histLen-Delay] {
		out[i] = clip(x)
	}
}

// findPitch returns the period, in samples, that best predicts the last
// 20 ms of pbuf: normalised cross-correlation, first on every ndec-th lag
// and sample, then at full resolution around the best coarse lag.
func (c *Concealer) findPitch() int {
	l := c.pbuf[histLen-corrLen:]
	r := c.pbuf[histLen-corrBuf:]
	// Coarse search.
	var energy, corr float64
	for j := 0; j < corrLen; j += ndec {
		energy += float64(r[j]) * float64(r[j])
		corr += float64(r[j]) * float64(l[j])
	}
	best := corr / math.Sqrt(max(energy, corrMinPower))
	bestMatch := 0
	for i := ndec; i <= pitchDiff; i += ndec {
		energy -= float64(r[i-ndec]) * float64(r[i-ndec])
		energy += float64(r[i-ndec+corrLen]) * float64(r[i-ndec+corrLen])
		corr = 0
		for j := 0; j < corrLen; j += ndec {
			corr += float64(r[i+j]) * float64(l[j])
		}
		if v := corr / math.Sqrt(max(energy, corrMinPower)); v >= best {
			best, bestMatch = v, i
		}
	}
	// Fine search around the coarse match.
	lo := max(0, bestMatch-(ndec-1))
	hi := min(pitchDiff, bestMatch+(ndec-1))
	energy, corr = 0, 0
	for j := 0; j < corrLen; j++ {
		energy += float64(r[lo+j]) * float64(r[lo+j])
		corr += float64(r[lo+j]) * float64(l[j])
	}
	best = corr / math.Sqrt(max(energy, corrMinPower))
	bestMatch = lo
	for i := lo + 1; i <= hi; i++ {
		energy -= float64(r[i-1]) * float64(r[i-1])
		energy += float64(r[i-1+corrLen]) * float64(r[i-1+corrLen])
		corr = 0
		for j := 0; j < corrLen; j++ {
			corr += float64(r[i+j]) * float64(l[j])
		}
		if v := corr / math.Sqrt(max(energy, corrMinPower)); v >= best {
			best, bestMatch = v, i
		}
	}
	return pitchMax - bestMatch
}

// overlapAdd writes to o the cross-fade from l (fading out) to r (fading
// in); o may alias either.
func overlapAdd(o, l, r []float32) {
	n := len(o)
	if n == 0 {
		return
	}
	incr := 1 / float32(n)
	lw, rw := 1-incr, incr
	for i := range o {
		o[i] = lw*l[i] + rw*r[i]
		lw -= incr
		rw += incr
	}
}

func clip(x float32) int16 {
	switch {
	case x >= math.MaxInt16:
		return math.MaxInt16
	case x <= math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(float64(x)))
}
