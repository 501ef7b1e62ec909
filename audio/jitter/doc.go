// Package jitter holds playout buffers that turn RTP packets arriving with
// network jitter, out of order or twice into a steady stream of samples
// pulled at the sound device's pace.
//
// Adaptive (adaptive.go) is a ring of decoded samples indexed by RTP
// timestamp (RFC 3550 §5.1: the timestamp counts sampling instants, so it
// places audio whatever the packet size). It orders packets, drops
// duplicates and packets whose time has already played, grows its delay
// on jitter, shrinks it when the network calms, follows clock drift
// between the sender and the sound card, conceals losses (package plc),
// and resynchronises on a new SSRC or a timestamp jump. rtpstream plays
// every call through it.
//
// Contract: Put and Get never allocate and never panic on any input; a
// buffer is not safe for concurrent use (the RTP stream guards it).
package jitter
