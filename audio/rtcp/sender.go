package rtcp

import (
	"sync"
	"time"
)

// SenderStats are the sender's counters.
type SenderStats struct {
	SSRC    uint32
	Packets uint64 // RTP packets sent
	Octets  uint64 // payload octets sent (RFC 3550 §6.4.1: no header, no padding)
}

// Sender counts what our side sent, for the sender info of an SR (RFC 3550
// §6.4.1). The zero value is not usable: NewSender.
type Sender struct {
	ssrc uint32
	rate uint32

	mu      sync.Mutex
	packets uint64
	octets  uint64
	lastTS  uint32    // RTP timestamp of the last packet sent
	lastAt  time.Time // when it was sent
}

// NewSender returns a Sender for our source ssrc, whose RTP clock runs at
// clockRate Hz (0 means DefaultClockRate).
func NewSender(ssrc, clockRate uint32) *Sender {
	if clockRate == 0 {
		clockRate = DefaultClockRate
	}
	return &Sender{ssrc: ssrc, rate: clockRate}
}

// SSRC is our source identifier.
func (s *Sender) SSRC() uint32 { return s.ssrc }

// OnPacket accounts for one RTP packet with payloadOctets octets of
// payload and timestamp ts, sent at at (the injected clock). It does not
// allocate.
func (s *Sender) OnPacket(payloadOctets int, ts uint32, at time.Time) {
	if payloadOctets < 0 {
		payloadOctets = 0
	}
	s.mu.Lock()
	s.packets++
	s.octets += uint64(payloadOctets)
	s.lastTS, s.lastAt = ts, at
	s.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SenderStats{SSRC: s.ssrc, Packets: s.packets, Octets: s.octets}
}

// SenderReport builds an SR for time now. Its RTP timestamp is what our
// media clock reads at now, extrapolated from the last packet sent (see
// RTPTimestampAt), so that the NTP and RTP timestamps name the same
// instant (RFC 3550 §6.4.1). The counts wrap modulo 2^32 as the RFC says.
// Report blocks are the caller's to append.
func (s *Sender) SenderReport(now time.Time) *SenderReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	rtpNow := s.lastTS
	if !s.lastAt.IsZero() {
		rtpNow = RTPTimestampAt(s.lastTS, s.lastAt, now, s.rate)
	}
	return &SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     ToNTP(now),
		RTPTime:     rtpNow,
		PacketCount: uint32(s.packets), // modulo 2^32, RFC 3550 §6.4.1
		OctetCount:  uint32(s.octets),
	}
}

// RTPTimestampAt extrapolates the media clock: the last packet sent had
// timestamp lastTS at lastAt, so at now the clock reads lastTS plus the
// elapsed time in units of clockRate Hz (0 means DefaultClockRate). RFC
// 3550 §6.4.1: the SR's RTP timestamp need not be that of any packet.
func RTPTimestampAt(lastTS uint32, lastAt, now time.Time, clockRate uint32) uint32 {
	if clockRate == 0 {
		clockRate = DefaultClockRate
	}
	return lastTS + uint32(toRTPUnits(now.Sub(lastAt), clockRate))
}
