// Package audio holds the media side of the phone: sound devices, G.711,
// call-progress tones, tone detection, the RTP media stream and the media
// engine that ties them together.
//
// Contract shared by every subpackage: audio is 8000 Hz, mono, signed 16-bit
// linear PCM, moved in 20 ms frames of FrameSamples samples. The sound
// device's clock paces the media loop (see audio/engine); nothing in this
// tree uses a free-running ticker, and everything that waits takes a
// clock.Clock so tests can drive it.
//
// Layout:
//
//	audio/device     the Device seam (Read/Write/Close) with null and WAV file devices
//	audio/device/pulse  the PulseAudio device (paths, ringer stream, reconnect);
//	                 pulsetest runs a private server for its tests
//	audio/ring       the sample FIFO between sound-server callbacks and 20 ms frames
//	audio/ringer     the audible ringer: Alert-Info -> ring cadence
//	audio/wav        a small RIFF/WAVE reader and writer
//	audio/codec      G.711 µ-law (PT 0) and A-law (PT 8) frame codecs
//	audio/tone       call-progress tones: grammar, generator, per-country plans (plans.txt)
//	audio/detect     Goertzel tone detection
//	audio/jitter     the adaptive playout buffer
//	audio/plc        G.711 Appendix I style packet loss concealment
//	audio/rtcp       RFC 3550 statistics, SR/RR, RTT, report interval, E-model MOS
//	audio/rtpstream  one RTP media stream (and its RTCP) over a caller's UDP sockets
//	audio/dtmf       RFC 4733 telephone-events: payload, per-frame sender, digit receiver
//	audio/engine     the media loop the phone's event loop drives
package audio

import "time"

const (
	// SampleRate is the sampling rate of all audio, in Hz (G.711, RFC 3551 §4.5.14).
	SampleRate = 8000
	// FrameSamples is the number of samples in one 20 ms frame.
	FrameSamples = 160
	// FrameDuration is the duration of one frame.
	FrameDuration = 20 * time.Millisecond
)

// Duration returns the playing time of n samples at SampleRate.
func Duration(n int) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}
