// Package phone is the call state machine of the desk phone.
//
// It is a plain, deterministic function of (state, event) to (state,
// effects): Machine.Step does no I/O, reads no clock and starts no
// goroutine. Everything the phone reacts to (hook switch, keys, SIP, media,
// timers) arrives as an Event; everything it wants done (send INVITE, play a
// tone, ring, start a timer) leaves as an Effect that the daemon's event
// loop carries out. That makes every state × event pair testable in a table.
//
// Calls are named by a CallRef. The machine makes the refs of outgoing calls
// ("out-N" from a counter in the State); the daemon makes the refs of
// incoming ones ("in-…"), so the two never collide, and maps refs to SIP
// Call-IDs itself.
//
// Several calls are the unit: State.Calls holds every call (phase, our hold,
// the far end's hold, early media, conference membership), State.Focus the
// one the handset is on, State.Mode what the handset does. Every effect
// and every timer names its call. The features are steps built from
// per-call steps, each in a file of its own: hold.go (hold/resume, RFC 3264
// §8.4), waiting.go (call waiting, hook flash), transfer.go (blind and
// attended transfer, being transferred, being replaced; RFC 3515, 5589,
// 3891, 3892), conference.go (local 3-way conference), mute.go, media.go
// (the far end's hold, the RTP timeout policy), service.go (service
// numbers: the echo and tone tests as local calls, "svc-N"). outputs.go derives from
// the state what others must not decide: the handset's mix (SetMix), the
// lamps (SetLamp), ring-at-once (RingAtOnce) and the audio path
// (SetAudioPath: handset, speaker or headset, from State.Path, which the
// speaker and headset keys and the hook move; hardware.go); Step emits
// them when they change, and Outputs gives them all for the start.
//
// An event that makes no sense in the current state (a SIP answer for a call
// the phone no longer has, a key while ringing) is ignored: the state is
// unchanged and the only effect is an Ignored effect that the loop logs.
// Step never panics.
package phone
