// Package engine is the media loop the phone's event loop drives: it owns
// the sound device, plays the handset's call-progress tones and mixes the
// RTP legs of the calls that have media, one leg per call.
//
// Contract:
//   - Legs are keyed by a string id (the daemon's call reference). Each is
//     an rtpstream.Stream with its own jitter buffer, loss concealment,
//     RTCP and RFC 4733 DTMF. StartLeg starts one, replacing a running leg
//     of the same id (a re-INVITE with a new address or codec; when the
//     replacement passes the running leg's own sockets, that stream is
//     detached first and the new one takes them over). StopLeg closes it;
//     LegStats, RedirectLeg, StartDTMF(id, digit) and StopDTMF(id) act on
//     that leg only.
//   - SetMix says who hears whom (Mix). Without a conference the handset
//     hears the Focus leg and talks to it. With a conference (two or more
//     ids in Mix.Conference) the handset hears the sum of the members and
//     each member is sent the handset plus the other members, never its
//     own audio (sum of all minus its own, exact in int32). Every other
//     leg is held: it is still read every frame (so its jitter buffer,
//     RTCP and DTMF reception keep running) but its audio is dropped, and
//     it is sent silence. Mute sends silence in place of the handset mic;
//     conference members still hear each other. The handset tone
//     (PlayTone) is summed over what the handset hears (a call-waiting
//     beep over the talk) and is never sent to a leg.
//   - Sums are taken in int32 and saturate at the int16 limits once, at
//     the end, as a sound card clips. Mixing allocates nothing per frame:
//     each leg has preallocated receive, send and mix buffers, the loop
//     its own, and its snapshot of legs and mix is rebuilt only when a
//     control call changed them (BenchmarkMix, TestMixAllocatesNothing).
//   - Packet times: one goroutine (Run) owns the device, and the device's
//     clock paces the loop (no ticker). Each iteration reads one device
//     frame whose length is the greatest common divisor of the legs'
//     packet times (one leg: its own 10 to 40 ms; 20 with 40 ms: 20 ms;
//     20 with 30 ms: 10 ms; tones alone: 20 ms). Each leg takes a whole
//     packet from its jitter buffer whenever its received packet is used
//     up and sends a packet whenever a whole one has been mixed for it, so
//     the streams only ever see whole packets of their own ptime and no
//     leg waits longer than its own packet time. A change of device frame
//     (a leg starting or stopping) mid-packet is carried over sample by
//     sample.
//   - With neither a tone nor a leg the engine is idle: it makes no device
//     calls and blocks until a control call or ctx wakes it, so an idle
//     phone costs no CPU and a WAV speaker file does not grow. A device
//     that implements device.Activator (Pulse) is told: SetActive(false)
//     as the loop goes idle (and when Run returns), SetActive(true) before
//     its first Read after that, so it can close its streams meanwhile.
//   - Every control method (PlayTone, StopTone, StartLeg, StopLeg,
//     LegStats, RedirectLeg, SetMix, StartDTMF, StopDTMF) is safe from any
//     goroutine. The engine's lock guards only the leg table, mix and tone:
//     starting, closing, redirecting or querying a stream happens outside
//     it, so nothing that waits holds up the media loop. A change takes
//     effect from the next frame captured after the call returns.
//   - Local legs (local.go) are legs whose far end is the phone itself,
//     for the service numbers: StartEchoLeg(id, delay) returns what the
//     leg is sent delay later (exactly, in samples: the echo test),
//     StartToneLeg(id, tone) plays a tone and drops what it is sent. The
//     mix, hold, conference and mute treat them as any leg; they take no
//     DTMF (ErrNoDTMF) and touch no network.
//   - The single-stream methods (StartStream, StopStream, Stats,
//     RedirectStream) act on the leg named "", which the zero Mix focuses,
//     for a daemon that knows one call at a time.
//   - A failing device is logged once (and its recovery once), then retried
//     with a doubling back-off up to MaxBackoff on the injected clock; a
//     failing leg's sends are logged once per run of failures. Nothing on
//     this path panics or spins.
package engine
