package rtcp

import "time"

// Packet-loss robustness Bpl for G.711 (ITU-T G.113 Appendix I).
const (
	BplG711PLC   = 25.1 // G.711 with packet loss concealment (G.711 Appendix I)
	BplG711NoPLC = 4.3  // G.711 without concealment
)

// Impairments are the inputs of a simplified ITU-T G.107 E-model for
// G.711 (equipment impairment Ie = 0, default values for everything not
// measured, so R = 93.2 - Id - Ie-eff).
type Impairments struct {
	// LossPercent is the packet loss probability Ppl in percent (0..100),
	// late packets discarded by the jitter buffer included if known.
	LossPercent float64
	// BurstR is the burst ratio (1 for random loss; 0 means 1).
	BurstR float64
	// PLC says whether the receiver conceals losses (Bpl 25.1, else 4.3).
	PLC bool
	// OneWayDelay is the mouth-to-ear delay Ta: typically RTT/2 plus the
	// jitter buffer and codec/device delay.
	OneWayDelay time.Duration
}

// defaultR is Ro - Is with the G.107 default values (A = 0).
const defaultR = 93.2

// IeEff is the effective equipment impairment of G.107 §7.4 with Ie = 0:
// Ie-eff = Ie + (95 - Ie)·Ppl/(Ppl/BurstR + Bpl).
func (im Impairments) IeEff() float64 {
	const ie = 0.0
	ppl := min(max(im.LossPercent, 0), 100)
	burst := im.BurstR
	if burst <= 0 {
		burst = 1
	}
	bpl := BplG711NoPLC
	if im.PLC {
		bpl = BplG711PLC
	}
	return ie + (95-ie)*ppl/(ppl/burst+bpl)
}

// Id is the delay impairment in the simplified form of Cole and
// Rosenbluth: Id = 0.024·d + 0.11·(d - 177.3)·H(d - 177.3), d in ms.
func (im Impairments) Id() float64 {
	d := max(float64(im.OneWayDelay)/float64(time.Millisecond), 0)
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	return id
}

// R is the transmission rating factor: 93.2 - Id - Ie-eff, clamped to
// 0..100.
func (im Impairments) R() float64 {
	return min(max(defaultR-im.Id()-im.IeEff(), 0), 100)
}

// MOS converts an R factor to the estimated mean opinion score (G.107
// Annex B): 1 + 0.035R + R(R-60)(100-R)·7e-6, clamped to 1..4.5.
func MOS(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	m := 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
	return min(max(m, 1), 4.5)
}
