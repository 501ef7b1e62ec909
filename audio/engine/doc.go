// Package engine is the media loop the phone's event loop drives: it owns
// the sound device, plays call-progress tones and runs the call's RTP
// stream.
//
// Contract:
//   - One goroutine (Run) owns the device. Each iteration reads one
//     captured frame of the stream's packet time (10 to 40 ms; 20 ms for
//     tones alone; the device's clock paces the loop, not a ticker),
//     sends it on the stream if one is active, and writes the speaker frame:
//     the tone if one plays, else the stream's received audio, else silence.
//     While a tone plays over a stream the stream's playout still advances.
//   - With neither a tone nor a stream the engine is idle: it makes no
//     device calls and blocks until a control call or ctx wakes it, so an
//     idle phone costs no CPU and a WAV speaker file does not grow.
//   - PlayTone, StopTone, StartStream, StopStream, StartDTMF, StopDTMF and
//     Stats are safe from any goroutine. StartDTMF/StopDTMF forward a key
//     press and release to the stream (RFC 4733 events replace the
//     microphone audio while they are sent). A tone or stream change takes effect from the next frame
//     captured after the call returns.
//   - A failing device is logged once (and its recovery once), then retried
//     with a doubling back-off up to MaxBackoff on the injected clock; a
//     failing stream send is logged once per run of failures. Nothing on
//     this path panics or spins.
package engine
