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
//   - Status returns a consistent snapshot at any time, from any goroutine.
package daemon
