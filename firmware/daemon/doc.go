// Package daemon is phoned's event loop: one goroutine that owns the phone's
// state, feeds every event (hook, keys, SIP, timers) through the pure
// phone.Machine, and carries out the effects it returns on the SIP user
// agent, the media engine and the board's outputs.
//
// Contract:
//   - Events come in on one channel (Post, and the SIP event channel given
//     to New); they are handled one at a time, in order.
//   - Effects are carried out in the order the machine returned them, in
//     the loop goroutine. An effect that fails (no RTP port, a bad number)
//     becomes an event of its own (CallFailed, CallEnded) handled right
//     after, so the phone always ends in a state a person can see.
//   - Timers run on the injected clock; a timer that was stopped or
//     restarted never delivers a stale TimerFired.
//   - Timers are keyed by (timer, call): each call has its own.
//   - Status returns a consistent snapshot at any time, from any goroutine;
//     Subscribe signals every change to every subscriber (a broadcast).
//   - The loop decides nothing: remote hold, the RTP timeout, ring-at-once,
//     the mix and the lamps are the machine's (phone.RemoteHold,
//     phone.CheckMedia/MediaSilence, phone.RingAtOnce, phone.SetMix,
//     phone.SetLamp, phone.SetAudioPath, phone.StepVolume). The loop only
//     reports facts and carries out effects.
//   - SRTP (srtp.go): each call's SDP gets the policy (Options.SRTP) and
//     fresh keys from crypto/rand, one per suite; the SIP layer negotiates
//     (sip/sdp), and the call's leg runs with the keys it negotiated. A
//     re-INVITE or UPDATE that changes them restarts the leg on its own
//     sockets; the status shows the suite (CallInfo.SRTP). Keys are
//     never logged.
//
// Its consumer interfaces name the issue 11 contract's methods: on the UA
// Dial, DialWith, Ring, Answer, Reject, Hangup, Reinvite, Refer,
// NotifyRefer; on the engine StartLeg, StopLeg, LegStats, RedirectLeg,
// SetMix, StartDTMF(id, digit), StopDTMF(id), one leg per call named by its
// phone.CallRef. *sip.UA and *engine.Engine satisfy them as they are;
// seam.go names the types shared with them (Mix, DialOptions, Reinvited,
// TransferProgress, Referred) as aliases.
//
// Tests: glue_test.go and features_test.go drive handle() synchronously over
// fakes on a fake clock (unit tier); daemon_test.go runs two whole phones
// over loopback (component tier, skipped with -short).
package daemon
