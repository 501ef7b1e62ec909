package rtcp

import (
	"errors"
	"fmt"
	"time"
)

// MaxRTT is the longest round trip RTT believes; anything longer is a
// bogus report block (a peer's clock or arithmetic gone wrong).
const MaxRTT = 60 * time.Second

// Errors from RTT.
var (
	// ErrNoLSR: the block has LSR 0, the peer has not had an SR from us.
	ErrNoLSR = errors.New("rtcp: report block has no LSR")
	// ErrBogusRTT: A - LSR - DLSR is negative or longer than MaxRTT.
	ErrBogusRTT = errors.New("rtcp: bogus round trip")
)

// RTT computes the round trip time from a report block about our source
// that arrived at arrival (RFC 3550 §6.4.1: RTT = A - LSR - DLSR in NTP
// short format, modulo 2^32, so a wrap of the 16.16 seconds is harmless).
func RTT(rep ReceptionReport, arrival time.Time) (time.Duration, error) {
	if rep.LastSenderReport == 0 {
		return 0, ErrNoLSR
	}
	a := NTPShort(ToNTP(arrival))
	elapsed := a - rep.LastSenderReport // modulo 2^32
	if rep.Delay > elapsed {
		return 0, fmt.Errorf("%w: A=%#08x LSR=%#08x DLSR=%#08x (negative)",
			ErrBogusRTT, a, rep.LastSenderReport, rep.Delay)
	}
	rtt := shortToDuration(elapsed - rep.Delay)
	if rtt > MaxRTT {
		return 0, fmt.Errorf("%w: A=%#08x LSR=%#08x DLSR=%#08x gives %v > %v",
			ErrBogusRTT, a, rep.LastSenderReport, rep.Delay, rtt, MaxRTT)
	}
	return rtt, nil
}
