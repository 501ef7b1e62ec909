// Package rtpstream is one RTP media stream (RFC 3550) of G.711 audio over
// a UDP socket the caller provides: it packetises and sends captured frames,
// receives, validates and buffers the peer's packets, plays them out frame
// by frame at the caller's (the sound device's) pace, and keeps the counters
// RTCP and call statistics need.
//
// Contract:
//   - Listen binds an even RTP port (RFC 3550 §11) whose odd RTCP partner
//     is also inside the range, moving past ports in use; ListenPair binds
//     both.
//   - New takes ownership of Params.Conn and Params.RTCPConn (Close closes
//     them) and starts one receiving goroutine per socket; Close sends an
//     RTCP BYE, stops them and waits for them. Detach does the same but
//     leaves the sockets open (no read deadline) for a new Stream to take
//     over, as a re-INVITE that changes the codec but keeps the port needs.
//   - Packet time: Params.Ptime (10, 20, 30 or 40 ms, from the peer's
//     a=ptime); FrameSamples is the frame size the media loop uses.
//   - Send is called from one goroutine (the media loop). Each call sends
//     one packet: random initial sequence number, timestamp and SSRC
//     (RFC 3550 §5.1, §8.1), sequence +1 and timestamp + samples per packet,
//     marker bit on the first packet of the stream and of each talkspurt
//     (RFC 3551 §4.1). It reuses its buffers and does not allocate.
//   - Source filtering (source.go): once latched (Params.Latch), or from
//     the start without latching (the signalled address), RTP and RTCP
//     from any other address:port are dropped before parsing, counted
//     (PacketsFiltered, RTCPFiltered) and logged at debug at most once per
//     10 s. Only Redirect to a new remote address lets the stream latch
//     again; a packet from the signalled address latches at once.
//   - SRTP (srtp.go, Params.SRTP, RFC 3711 with pion/srtp): RTP and RTCP
//     are protected with the SDES keys, replay protection on (a 128-packet
//     window); a received packet is authenticated before it is parsed,
//     and one failing authentication or replayed is dropped and counted
//     (SRTPAuthFailed, SRTPReplayed, SRTCPFailed), never played, never
//     latched to. DTMF events are RTP packets like the audio, protected
//     alike. Send still does not allocate. The keys never print.
//   - The receiver accepts packets from the peer's source. It drops,
//     counts and never panics on datagrams that are not RTP version 2, are
//     too short, have another payload type or an empty payload; it copies
//     (decodes) the payload out of the read buffer before queuing it. An
//     SSRC change restarts sequence tracking and playout.
//   - Receive fills one frame from the adaptive jitter buffer
//     (audio/jitter.Adaptive, delay within Params.JitterMin/JitterMax):
//     silence until audio arrives, loss concealment (audio/plc) for
//     missing packets.
//   - RTCP (rtcp.go, with Params.RTCPConn): a compound SR or RR with our
//     report block about the peer and our SDES CNAME at the RFC 3550
//     §6.3.1 interval (about 5 s, randomised; the first at half of it) on
//     the stream's clock; the peer's SRs give the LSR/DLSR of our blocks,
//     its blocks about us the round trip (§6.4.1); reports go to the RTP
//     address's port + 1 (or Params.RemoteRTCP), and with Params.Latch to
//     where the peer's reports come from.
//   - Telephone-events (RFC 4733, audio/dtmf) when Params.DTMFPayloadType
//     is set. Sending: StartDTMF/StopDTMF (key press and release, from any
//     goroutine) make Send send the frame's event packet instead of its
//     audio: same SSRC, sequence numbers continuing, the event's own
//     payload type and start timestamp, marker on its first packet, three
//     end packets, at least DTMFMinDuration; the first audio packet after
//     it carries the marker (new talkspurt). The media loop pays one atomic
//     load per frame for this. Receiving: event packets share the audio's
//     SSRC and sequence accounting (they count in PacketsReceived and
//     LastReceived) and each digit is reported once through Params.OnDTMF
//     on the receive goroutine: at its end packet, when a newer event
//     begins, or when its end was lost, at the first packet (audio or
//     event) arriving dtmf.DefaultTimeout after its last one (no timer:
//     a peer silent after losing every end packet delays the digit until
//     its next packet); an SSRC change forgets an unfinished event. With no
//     telephone-event payload type, event packets are invalid.
//   - Stats may be called from any goroutine. PacketsLost follows
//     RFC 3550 §A.3 (expected from extended sequence numbers minus
//     received, kept by audio/rtcp.Receiver with the §A.8 jitter) and is
//     clamped at zero; Quality turns the counters into an E-model MOS; byte counts are RTP payload octets,
//     as in the sender report (RFC 3550 §6.4.1).
package rtpstream
