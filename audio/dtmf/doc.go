// Package dtmf is RFC 4733 telephone-events for DTMF: the 4-byte event
// payload, a Sender state machine the media loop drives once per frame, and
// a Receiver that turns a peer's event packets into digits. It does no I/O
// and takes time as an argument, so it is driven and tested without
// sockets or sleeps.
//
// Contract:
//   - Event.MarshalTo and Unmarshal convert the RFC 4733 §2.3 payload.
//     Unmarshal never panics: short input is ErrShort, nothing else is
//     rejected (the R bit is ignored, §2.3.3; bytes after the first four are
//     ignored).
//   - Sender (one goroutine, or guarded by the caller's lock) is asked once
//     per frame with Next(timestamp, samples). While an event runs it
//     yields one packet per frame: the first with the marker bit, every one
//     with the RTP timestamp of the event's first frame (§2.5.1.1), duration
//     growing by the frame's samples (§2.5.1.2); after Stop, once the event
//     has lasted at least its minimum duration, the end packet (E bit) three
//     times with the final duration (§2.5.1.4). While Next reports a packet
//     the caller sends it instead of the microphone audio (§2.5.1.2: the
//     audio of the key is not sent alongside the event); after the packet
//     marked Last, audio resumes and its first packet starts a talkspurt.
//     Events longer than 0xFFFF units are split into segments (§2.5.1.3).
//     Next does not allocate.
//   - Receiver reports each event exactly once, identified by its RTP
//     timestamp: at its end packet, when a newer event starts before its
//     end arrived, or when no packet of it arrived for Timeout (checked on
//     every Feed and Tick). Retransmitted end packets, repeated updates,
//     late and reordered packets of an event already reported are dropped.
//     Feed and Tick append to a caller's slice and do not allocate when it
//     has room for two digits.
package dtmf
