// Package rtcp is the RTCP side of a call (RFC 3550 §6): the numbers that
// go into sender and receiver reports, when to send them, the compound
// packets that carry them, and what they say about call quality.
//
// It implements the codec of the packets an audio phone needs (RFC 3550
// §6): SenderReport, ReceiverReport, SourceDescription and Goodbye, built
// into a compound packet by Marshal (SR or RR first, §6.1) and decoded by
// Unmarshal, which checks a compound packet as §A.2 does and passes over
// types it does not decode (APP, XR, RTPFB, PSFB) as RawPacket. Around
// the codec: receiver statistics per remote SSRC
// (extended highest sequence number, cumulative and fractional loss,
// interarrival jitter, RFC 3550 §A.1, §A.3, §A.8), LSR/DLSR and the round
// trip time (§6.4.1), sender counters and NTP/RTP timestamp pairing
// (§6.4.1, §4), the report interval (§6.3.1, §A.7), and a simplified ITU-T
// G.107 E-model for G.711 that turns loss and delay into an R factor and a
// MOS, reported in a Summary at the end of the call.
//
// Contract:
//   - The package does no I/O and reads no clock: every method that needs
//     the time takes it as an argument (from the injected clock), and the
//     report interval's randomisation comes from an injectable source.
//   - Receiver and Sender are safe for concurrent use (the RTP read loop
//     and the RTCP loop are different goroutines). Receiver.OnPacket and
//     Sender.OnPacket do not allocate.
//   - Unmarshal and Parse never panic on any input; bad input is an error
//     wrapping ErrParse, and what they allocate is bounded by the
//     datagram (counts are 5-bit fields, lengths stay inside it).
//   - Timestamps are in the RTP clock rate (8000 Hz for G.711 unless told
//     otherwise); jitter is reported in those units, as RFC 3550 requires.
package rtcp
