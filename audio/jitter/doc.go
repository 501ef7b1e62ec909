// Package jitter holds playout buffers that turn RTP packets arriving with
// network jitter, out of order or twice into a steady stream of samples
// pulled at the sound device's pace.
//
// Fixed is a fixed-delay buffer: a ring of decoded samples indexed by RTP
// timestamp (RFC 3550 §5.1: the timestamp counts sampling instants, so it
// places audio whatever the packet size), with playout running Delay
// samples behind the first packet's timestamp. It orders packets by
// timestamp, drops duplicates and packets whose time has already played,
// plays silence for missing audio, and resynchronises when the timestamps
// jump (a new SSRC, a sender restart, or lasting clock drift). Adaptive
// (adaptive.go) is the buffer that grows on jitter, shrinks when calm,
// follows clock drift and conceals losses (package plc); its Put takes a
// whole Packet (SSRC, sequence, arrival time), so wiring it into
// rtpstream in place of Fixed needs an adapter there.
//
// Contract: Put and Get never allocate and never panic on any input; a
// buffer is not safe for concurrent use (the RTP stream guards it).
package jitter
