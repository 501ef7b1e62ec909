package dtmf

import (
	"errors"
	"fmt"
)

var (
	// ErrShort is returned by Unmarshal for a payload under PayloadSize bytes.
	ErrShort = errors.New("dtmf: telephone-event payload too short")
	// ErrDigit is returned for a key that is not a DTMF digit.
	ErrDigit = errors.New("dtmf: not a DTMF digit")
	// ErrBusy is returned by Sender.Start when MaxQueued presses are
	// already waiting to be sent.
	ErrBusy = errors.New("dtmf: too many key presses queued")
)

const (
	// PayloadSize is the size of one event payload, RFC 4733 §2.3.
	PayloadSize = 4
	// MaxDuration is the largest duration one packet can carry (§2.5.1.3).
	MaxDuration = 0xFFFF
	// DefaultVolume is the power level sent, -10 dBm0 (§2.3.4: 0 to -63
	// dBm0, carried as its magnitude).
	DefaultVolume = 10
	// MaxCode is the largest DTMF event code, D (§3.2, Table 3).
	MaxCode = 15
)

// Event is one telephone-event payload, RFC 4733 §2.3:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	// Code is the event (§3.2): 0-9 the digits, 10 *, 11 #, 12-15 A-D.
	Code uint8
	// End is the E bit: this packet ends the event (§2.3.2).
	End bool
	// Volume is the power level in -dBm0, 0 to 63 (§2.3.4); higher
	// values are truncated to 6 bits when marshalled.
	Volume uint8
	// Duration is the event's length so far in RTP timestamp units (§2.3.5).
	Duration uint16
}

// MarshalTo writes the payload into b and returns PayloadSize. The R bit
// is sent as zero (§2.3.3).
func (e Event) MarshalTo(b []byte) (int, error) {
	if len(b) < PayloadSize {
		return 0, fmt.Errorf("%w: buffer of %d bytes, need %d", ErrShort, len(b), PayloadSize)
	}
	b[0] = e.Code
	b[1] = e.Volume & 0x3F
	if e.End {
		b[1] |= 0x80
	}
	b[2] = byte(e.Duration >> 8)
	b[3] = byte(e.Duration)
	return PayloadSize, nil
}

// Unmarshal parses the first PayloadSize bytes of b (§2.3). The R bit is
// ignored (§2.3.3).
func Unmarshal(b []byte) (Event, error) {
	if len(b) < PayloadSize {
		return Event{}, fmt.Errorf("%w: %d bytes, need %d", ErrShort, len(b), PayloadSize)
	}
	return Event{
		Code:     b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3F,
		Duration: uint16(b[2])<<8 | uint16(b[3]),
	}, nil
}

// digits maps event codes 0-15 to keys (§3.2, Table 3).
const digits = "0123456789*#ABCD"

// Code returns the event code of a key: '0'-'9', '*', '#', 'A'-'D' (or
// 'a'-'d').
func Code(digit byte) (uint8, error) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] == digit {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrDigit, digit)
}

// Key returns the key of a DTMF event code; false for codes above
// MaxCode (other telephone events, §3.2 and RFC 4734).
func Key(code uint8) (byte, bool) {
	if code > MaxCode {
		return 0, false
	}
	return digits[code], true
}
