// Package codec converts 20 ms frames of 16-bit linear PCM to and from G.711
// payloads: PCMU (µ-law, static payload type 0) and PCMA (A-law, static
// payload type 8), RFC 3551 §4.5.14 and Table 4.
//
// Contract: EncodeFrame and DecodeFrame work sample by sample through
// github.com/zaf/g711's per-sample functions (its slice and Reader/Writer
// APIs allocate on every call), never allocate, and process
// min(len(dst), len(src)) samples, returning that count. One G.711 byte is
// one sample, so a 20 ms frame is 160 bytes on the wire.
package codec
