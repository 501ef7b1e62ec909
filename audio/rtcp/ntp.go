package rtcp

import "time"

// ntpEpochOffset is the number of seconds from the NTP epoch (1900-01-01)
// to the Unix epoch (1970-01-01), RFC 3550 §4 / RFC 5905.
const ntpEpochOffset = 2208988800

// ToNTP converts t to the 64-bit NTP timestamp format of RFC 3550 §4:
// seconds since 1900 in the high 32 bits, the fraction in the low 32.
// Times after 2036-02-07 wrap into NTP era 1, as the format requires.
func ToNTP(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return secs<<32 | frac&0xFFFFFFFF
}

// FromNTP converts a 64-bit NTP timestamp to a time. Seconds values with
// the top bit clear are taken to be in era 1 (2036 onwards, RFC 4330 §3),
// so the result is right for 1968 to 2104.
func FromNTP(ntp uint64) time.Time {
	secs := int64(ntp >> 32)
	if secs < 1<<31 {
		secs += 1 << 32
	}
	nsec := ((ntp & 0xFFFFFFFF) * uint64(time.Second)) >> 32
	return time.Unix(secs-ntpEpochOffset, int64(nsec))
}

// NTPShort is the middle 32 bits of a 64-bit NTP timestamp (16.16
// fixed-point seconds), the format of LSR, DLSR and the round-trip
// computation, RFC 3550 §6.4.1.
func NTPShort(ntp uint64) uint32 { return uint32(ntp >> 16) }

// durationToShort converts d to units of 1/65536 s, clamped to
// [0, 2^32-1] (RFC 3550 §6.4.1 DLSR).
func durationToShort(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	secs := uint64(d / time.Second)
	if secs >= 1<<16 {
		return 0xFFFFFFFF
	}
	frac := (uint64(d%time.Second) << 16) / uint64(time.Second)
	return uint32(secs<<16 | frac)
}

// shortToDuration converts units of 1/65536 s to a duration.
func shortToDuration(u uint32) time.Duration {
	return time.Duration((uint64(u) * uint64(time.Second)) >> 16)
}

// toRTPUnits converts d to ticks of a clock at rate Hz without
// overflowing for any duration.
func toRTPUnits(d time.Duration, rate uint32) int64 {
	return int64(d/time.Second)*int64(rate) + int64(d%time.Second)*int64(rate)/int64(time.Second)
}
