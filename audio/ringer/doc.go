// Package ringer is the phone's audible ringer: it renders the ring cadence
// of the tone plan that the call's Alert-Info header selects, at the
// configured volume, for a sound device's ringer stream to pull.
//
// Contract: Ringer implements the daemon's Ringer (SetRinger(on, pattern),
// pattern being the Alert-Info value) and the Pulse device's RingSource
// (Fill, safe from PulseAudio's callback goroutine, never allocating).
// SetRinger(true, ...) restarts the cadence from its first ring. Pattern
// maps an Alert-Info value to a plan tone name and never fails: anything it
// does not recognise rings the default cadence (tone.Ring). The mapping:
//
//	Bellcore-dr1 ... Bellcore-dr5 (anywhere: a bare token, a URI, info=)  ring, ring-dr2 ... ring-dr5
//	<urn:alert:service:normal>, <urn:alert:source:external>  ring  (RFC 7462)
//	<urn:alert:source:internal>                          ring-dr2
//	<urn:alert:priority:high>                            ring-dr3
//	<urn:alert:service:forward>                          ring-dr4
//	info=alert-internal / alert-external / alert-group   ring-dr2 / ring / ring-dr4 (BroadWorks style)
//	info=ring1 ... ring5, info=ring-N                    ring, ring-dr2 ... ring-dr5
//	info=NAME or <urn:...:NAME> where NAME is a ring tone in the plan (tones.custom)  that tone
//
// Tee fans SetRinger out to several ringers, e.g. this audible ringer and
// a board's ringer output line.
package ringer
