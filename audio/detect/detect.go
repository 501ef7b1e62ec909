package detect

import "math"

const (
	// Threshold is the share of a block's energy a frequency must hold to
	// count as present. 0.15 accepts each component of a four-tone mix
	// (0.25 each, the off-hook howler) while G.711 quantisation noise and the
	// sidelobes of a tone ≥150 Hz away stay far below it.
	Threshold = 0.15
	// MinRMS is the RMS level (in 16-bit units, about -55 dBm0) under which a
	// block counts as silence and no frequency is present.
	MinRMS = 20.0
	// DefaultRate is the sample rate Present and Dominant assume.
	DefaultRate = 8000
)

// Goertzel returns the power |X(f)|² of samples at frequency freq for a
// sample rate of rate Hz. The frequency need not fall on a DFT bin. A sine
// of amplitude A at freq over N samples gives about (A·N/2)².
func Goertzel(samples []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	// |s1 - e^{-jw}·s2|², valid for non-integer bins too.
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// Energy returns the sum of squares of samples.
func Energy(samples []int16) float64 {
	var e float64
	for _, x := range samples {
		f := float64(x)
		e += f * f
	}
	return e
}

// Fraction returns the share of the block's energy at freq, in [0, about 1].
// For a sine of amplitude A the block energy is N·A²/2 and the Goertzel
// power (A·N/2)², so the share is 2·power / (N·energy). It returns 0 for a
// block quieter than MinRMS.
func Fraction(samples []int16, freq float64, rate int) float64 {
	n := float64(len(samples))
	e := Energy(samples)
	if n == 0 || e < n*MinRMS*MinRMS {
		return 0
	}
	return 2 * Goertzel(samples, freq, rate) / (n * e)
}

// Present reports whether freq holds at least Threshold of the energy of
// samples, taken at DefaultRate.
func Present(samples []int16, freq float64) bool {
	return Fraction(samples, freq, DefaultRate) >= Threshold
}

// Dominant returns the candidate frequency holding the largest share of the
// block's energy (at DefaultRate) and that share. ok is false when the block
// is silent or no candidate reaches Threshold.
func Dominant(samples []int16, candidates []float64) (freq, fraction float64, ok bool) {
	n := float64(len(samples))
	e := Energy(samples)
	if n == 0 || e < n*MinRMS*MinRMS {
		return 0, 0, false
	}
	for _, c := range candidates {
		if f := 2 * Goertzel(samples, c, DefaultRate) / (n * e); f > fraction {
			freq, fraction = c, f
		}
	}
	return freq, fraction, fraction >= Threshold
}
