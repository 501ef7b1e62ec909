package codec

import (
	"errors"
	"fmt"

	"github.com/zaf/g711"
)

// ErrUnknownPayloadType is returned for an RTP payload type with no codec here.
var ErrUnknownPayloadType = errors.New("codec: unknown payload type")

// Static RTP payload types, RFC 3551 §6 Table 4.
const (
	PayloadTypePCMU uint8 = 0
	PayloadTypePCMA uint8 = 8
)

// Codec is a G.711 variant. The zero value is not usable; use PCMU, PCMA or
// ForPayloadType.
type Codec struct {
	// Name is the SDP encoding name (RFC 3551 §6), "PCMU" or "PCMA".
	Name string
	// PayloadType is the static RTP payload type.
	PayloadType uint8
	// ClockRate is the RTP clock rate in Hz (8000 for G.711).
	ClockRate int
}

var (
	// PCMU is G.711 µ-law, RFC 3551 §4.5.14.
	PCMU = Codec{Name: "PCMU", PayloadType: PayloadTypePCMU, ClockRate: 8000}
	// PCMA is G.711 A-law, RFC 3551 §4.5.14.
	PCMA = Codec{Name: "PCMA", PayloadType: PayloadTypePCMA, ClockRate: 8000}
)

// ForPayloadType returns the codec for a static payload type.
func ForPayloadType(pt uint8) (Codec, error) {
	switch pt {
	case PayloadTypePCMU:
		return PCMU, nil
	case PayloadTypePCMA:
		return PCMA, nil
	}
	return Codec{}, fmt.Errorf("%w %d (want %d PCMU or %d PCMA)", ErrUnknownPayloadType, pt, PayloadTypePCMU, PayloadTypePCMA)
}

// String returns the SDP rtpmap form, e.g. "PCMU/8000".
func (c Codec) String() string { return fmt.Sprintf("%s/%d", c.Name, c.ClockRate) }

// EncodeFrame encodes src into dst, one byte per sample, and returns the
// number of samples encoded: min(len(dst), len(src)).
func (c Codec) EncodeFrame(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	if c.PayloadType == PayloadTypePCMA {
		for i, s := range src {
			dst[i] = g711.EncodeAlawFrame(s)
		}
		return n
	}
	for i, s := range src {
		dst[i] = g711.EncodeUlawFrame(s)
	}
	return n
}

// DecodeFrame decodes src into dst and returns the number of samples
// decoded: min(len(dst), len(src)).
func (c Codec) DecodeFrame(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	if c.PayloadType == PayloadTypePCMA {
		for i, b := range src {
			dst[i] = g711.DecodeAlawFrame(b)
		}
		return n
	}
	for i, b := range src {
		dst[i] = g711.DecodeUlawFrame(b)
	}
	return n
}
