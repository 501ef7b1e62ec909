// Package pulse is the PulseAudio sound device (github.com/jfreymuth/pulse,
// pure Go): 8 kHz mono s16 capture and playback in 20 ms frames, with
// PulseAudio resampling from the card's rate, named sinks and sources per
// audio path, a separate ringer stream, volume per path kept in a state
// file, and a connection that survives the server going away.
//
// Contract:
//
//   - Device implements device.Device. Read is paced by the capture stream,
//     so the sound card's clock paces the media loop; Write queues a frame
//     for the playback stream. Ring buffers (audio/ring) sit between
//     PulseAudio's uneven callbacks and the 20 ms frames: a playback
//     underrun is filled with silence and the stream re-primes a frame
//     before it plays again; an overrun drops the oldest samples. Both are
//     counted, but only while the media loop uses the device (a Read or
//     Write in the last IdleAfter): an idle phone that reads nothing is not
//     overrunning. After an idle spell Read drops stale capture and returns
//     the newest frame at once, so a tone starts within one frame.
//   - No stream runs while the phone is idle. The connection stays up
//     with one corked watch stream that never plays (it wakes no sink and
//     costs the server nothing; the library marks it closed when the
//     connection ends, which is how an idle device, polling it every
//     IdlePoll, sees its server go). The device implements
//     device.Activator: the engine's SetActive(true) opens and starts the
//     voice streams, the path in use first, then the others;
//     SetActive(false) closes them after Config.Linger (DefaultLinger), so
//     a call's last frames play out and a quick redial finds them open.
//     Nothing is corked and uncorked (the library's pause and resume broke
//     playback): streams are created when needed and deleted when not.
//     SetRinger (the daemon's Ringer) starts the ringer's cadence and
//     opens the ringer stream, and closes it when the ringing stops.
//     Streams reports what is open.
//   - After an idle spell Read paces on the clock, with the first two
//     frames due at once, until capture flows; Write queues meanwhile, so
//     the starting playback stream finds the first 40 ms of a tone queued.
//     Stream options: the rate is set before the latency option, the
//     capture fragment is one frame and the playback target is
//     Config.Latency.
//   - While the voice streams are open every path's playback and record
//     streams run, silent when the path is not in use: SetPath only
//     changes which streams carry the call, so no stream starts and no
//     sink wakes up, and there is no gap (moving one stream between sinks
//     left a sink-latency-sized hole). SetVolume sets a path's stream
//     volume (at once if open, at the next open otherwise) and persists it
//     in Config.StateDir/volume.json.
//   - The library has no reconnect. A supervisor goroutine watches the
//     playback stream's Closed() and the flow of captured audio, tears the
//     connection down and rebuilds it every RetryInterval until the server
//     is back, reopening what the device's use asks for. Meanwhile Read paces on the injected clock and returns
//     silence and Write discards, so the media loop and the call go on;
//     Status reports connected=false with the reason.
//   - Config.Server "" tries the per-user server ($XDG_RUNTIME_DIR/pulse/
//     native, or $PULSE_SERVER) and then the system-wide one
//     (unix:/run/pulse/native). Config.Cookie names the auth cookie file;
//     the library reads only $PULSE_COOKIE, so Open sets it for the process.
//   - The library's reader must never return (0, nil) (it busy-spins):
//     the playback callbacks always fill the whole request.
package pulse
