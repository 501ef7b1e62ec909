package sdp

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// SRTPMode is the phone's SRTP policy (config audio.srtp).
type SRTPMode uint8

const (
	// SRTPOff: plain RTP; crypto lines offered to us are ignored, and an
	// RTP/SAVP offer gets ErrNoSRTP (488).
	SRTPOff SRTPMode = iota
	// SRTPOptional: best-effort SRTP. We offer RTP/AVP with a=crypto
	// lines, as baresip's srtp module and most desk phones do: a peer
	// without SRTP ignores the attribute and answers plain RTP, one with
	// it answers a=crypto (RFC 4568 §7.1.1 lets RTP/AVP carry keys; RFC
	// 3264 forbids a second m= line for the same stream, and RFC 5939
	// capability negotiation is rare in desk phones). We answer a crypto
	// line we can use with SRTP, anything else with plain RTP.
	SRTPOptional
	// SRTPRequired: we offer RTP/SAVP and refuse a call without SRTP
	// (ErrNoSRTP: 488 to an offer, a hang-up after an answer).
	SRTPRequired
)

// Profiles of the m= line (RFC 3551, RFC 3711 §12).
const (
	ProtoAVP  = "RTP/AVP"
	ProtoSAVP = "RTP/SAVP"
)

// ParseSRTPMode reads "off", "optional" or "required".
func ParseSRTPMode(s string) (SRTPMode, bool) {
	switch s {
	case "", "off":
		return SRTPOff, true
	case "optional":
		return SRTPOptional, true
	case "required":
		return SRTPRequired, true
	}
	return SRTPOff, false
}

// String returns the config spelling.
func (m SRTPMode) String() string {
	switch m {
	case SRTPOptional:
		return "optional"
	case SRTPRequired:
		return "required"
	}
	return "off"
}

// SRTPKeys is what SDES negotiated: the suite, and the master key||salt
// each side sends with. The zero value is plain RTP. It never prints its
// keys (Key masks them).
type SRTPKeys struct {
	Suite  Suite
	Local  Key // we encrypt with it (our a=crypto)
	Remote Key // the peer encrypts with it (its a=crypto)
}

// On reports whether SRTP was negotiated.
func (k SRTPKeys) On() bool { return k.Suite != "" }

// LogValue implements slog.LogValuer: the suite only.
func (k SRTPKeys) LogValue() slog.Value { return slog.StringValue(string(k.Suite)) }

// secure reports whether an m= profile is a secure one (RTP/SAVP, and
// RTP/SAVPF, which we answer as RTP/SAVP).
func secure(proto string) bool { return strings.Contains(strings.ToUpper(proto), "SAVP") }

// offerCrypto is what an offer of ours carries: the profile and the
// crypto lines (RFC 4568 §7.1.1), nothing when SRTP is off or there are
// no keys.
func (m Media) offerCrypto() (string, []Crypto) {
	if m.SRTP == SRTPOff || len(m.Crypto) == 0 {
		return ProtoAVP, nil
	}
	var lines []Crypto
	for _, c := range m.Crypto {
		if slices.Contains(OfferSuites, c.Suite) {
			lines = append(lines, c)
		}
	}
	if len(lines) == 0 {
		return ProtoAVP, nil
	}
	if m.SRTP == SRTPRequired {
		return ProtoSAVP, lines
	}
	return ProtoAVP, lines
}

// answerCrypto decides the SRTP part of our answer to offer (RFC 4568
// §7.1.2): the first offered line whose suite we have a key for (with
// no keys given, a fresh one is made) is answered with our key under the
// offered tag; the profile mirrors the offer's. No usable line: plain
// RTP, unless the offer is RTP/SAVP or we require SRTP (ErrNoSRTP). With
// SRTP off, crypto lines are ignored and RTP/SAVP refused.
func answerCrypto(offer Session, local Media) (proto string, line *Crypto, keys SRTPKeys, err error) {
	proto = ProtoAVP
	if secure(offer.Proto) {
		proto = ProtoSAVP
	}
	if local.SRTP == SRTPOff {
		if secure(offer.Proto) {
			return "", nil, SRTPKeys{}, fmt.Errorf("%w: %s offered and srtp is off", ErrNoSRTP, offer.Proto)
		}
		return proto, nil, SRTPKeys{}, nil
	}
	for _, o := range offer.Crypto {
		ours, ok := keyFor(local.Crypto, o.Suite)
		if !ok {
			continue
		}
		ours.Tag = o.Tag // RFC 4568 §7.1.2: the answer takes the offer's tag
		return proto, &ours, SRTPKeys{Suite: o.Suite, Local: ours.Key, Remote: o.Key}, nil
	}
	if secure(offer.Proto) || local.SRTP == SRTPRequired {
		return "", nil, SRTPKeys{}, fmt.Errorf("%w: %s offer with %d usable crypto lines (%d refused), srtp %s",
			ErrNoSRTP, offer.Proto, len(offer.Crypto), offer.CryptoRefused, local.SRTP)
	}
	return proto, nil, SRTPKeys{}, nil
}

// keyFor is our key for suite: from keys, or a fresh one when keys is
// empty (an answer made without keys, e.g. to check an offer).
func keyFor(keys []Crypto, suite Suite) (Crypto, bool) {
	if len(keys) == 0 {
		c, err := NewCrypto(1, suite)
		return c, err == nil
	}
	for _, k := range keys {
		if k.Suite == suite {
			return k, true
		}
	}
	return Crypto{}, false
}

// acceptCrypto reads the SRTP part of the answer to our offer (RFC 4568
// §7.1.3): one crypto line with a tag and suite we offered. An answer
// without one is plain RTP, which SRTPRequired (or our RTP/SAVP offer)
// refuses with ErrNoSRTP.
func acceptCrypto(answer Session, local Media) (SRTPKeys, error) {
	proto, offered := local.offerCrypto()
	if len(offered) == 0 {
		return SRTPKeys{}, nil
	}
	for _, a := range answer.Crypto {
		for _, o := range offered {
			if a.Tag == o.Tag && a.Suite == o.Suite {
				return SRTPKeys{Suite: o.Suite, Local: o.Key, Remote: a.Key}, nil
			}
		}
	}
	if len(answer.Crypto) > 0 || answer.CryptoRefused > 0 {
		// RFC 4568 §7.1.3: an answer must pick one of our lines; any
		// other is a failed negotiation, never a reason to fall back to
		// plain RTP.
		return SRTPKeys{}, fmt.Errorf("%w: the answer's crypto matches no line we offered", ErrNoSRTP)
	}
	if local.SRTP == SRTPRequired || proto == ProtoSAVP || secure(answer.Proto) {
		return SRTPKeys{}, fmt.Errorf("%w: the answer has no crypto line and srtp is %s", ErrNoSRTP, local.SRTP)
	}
	return SRTPKeys{}, nil
}
