// Package sip is the phone's SIP user agent (RFC 3261) on top of
// github.com/emiago/sipgo: one UDP socket, direct calls or calls through a
// registrar and proxy, one event stream towards the firmware's state machine.
//
// Contract:
//
//   - New binds Config.Listen itself (so "address in use" is an error from
//     New) and every request and response leaves from that socket: Via,
//     Contact and the UDP source port all name the listen address.
//   - From, To and Contact are always explicit (our AOR is
//     Config.User@Config.Domain; Contact is Config.User@listen address);
//     nothing falls back to sipgo's "sipgo@localhost" defaults.
//   - Outgoing calls: Dial returns once the INVITE is sent; Progress,
//     Answered and a terminal Failed/Ended follow. 2xx are ACKed by the UA
//     (RFC 3261 §13.2.2.4); non-2xx by sipgo's transaction (§17.1.1.3).
//     Hangup before the answer sends CANCEL once a provisional response has
//     arrived (§9.1); a 200 OK that crosses our CANCEL is ACKed and BYEd
//     (§9.1, §15), also when it arrives after the INVITE transaction ended.
//   - Incoming calls: 100 Trying is sent at once, then Incoming is emitted.
//     The firmware answers with Ring, Answer or Reject. While the firmware
//     says it would ring (SetRingAtOnce: the phone is idle), 180 Ringing
//     goes out at once instead of the 100 and Ring finds it sent. An INFO
//     whose CSeq is not above the last one taken is answered but its digit
//     not reported again (§12.2.2). INVITEs whose SDP is
//     unparsable, offerless, or has no codec in Config.Codecs get 488 from
//     the UA with no event. Answer returns at once; the UA retransmits the
//     2xx until the ACK and sends BYE if none comes within 64*T1
//     (§13.3.1.4). A CANCEL gets 200 and the INVITE 487 (§9.2, done by
//     sipgo's transaction layer).
//   - Events are delivered by one goroutine in order; every call ends with
//     exactly one terminal event: Failed for an outgoing call never
//     answered, Ended otherwise (also after the firmware's own Reject or
//     Hangup, with Remote=false).
//   - Registration (StartRegistration, register.go): REGISTER with digest
//     auth (401 or 407; MD5 or SHA-256, the strongest offered, RFC 8760),
//     refreshed at 90 % of the granted interval, 423 Min-Expires followed,
//     failover along the registrar list and its RFC 3263 SRV targets on
//     timeout or 5xx, fail-back to the primary, jittered back-off after a
//     refusal (RFC 5626 §4.5), NAT: Contact from the received/rport the
//     registrar saw (RFC 3581), CRLF keep-alive that also notices a new
//     local address, unregister on Close. Status as Registration events.
//   - Calls through a proxy: the outbound proxy is a preloaded loose route
//     on initial INVITEs; dialog route sets come from Record-Route; one
//     401/407 to INVITE is answered with credentials; 3xx are followed by
//     Contact q-value, at most 5 times and never to a visited target.
//   - Within a dialog: re-INVITE and UPDATE are answered keeping our SDP
//     origin (RFC 3264 §8), emitting Modified (hold shows as a recvonly or
//     inactive direction); offerless re-INVITE gets our SDP as the offer;
//     INFO gets 200; a crossing change gets 491, a bad offer 488 (session
//     unchanged, §14.2), an unknown dialog 481.
//   - Validation before every handler (validate.go): SIP version (505),
//     mandatory headers and CSeq method (400), Require (420 with
//     Unsupported), body type and encoding (415 with Accept or
//     Accept-Encoding), URI scheme (416); unknown methods 501, known but
//     unsupported 405 with Allow; OPTIONS 200 with Allow. Unparsable
//     datagrams are dropped by sipgo's parser (no response can be formed).
//     Concurrent INVITEs simply produce more Incoming events; the firmware
//     decides (486).
//
// Not yet: TCP and TLS transports (UDP only; the transport is chosen in
// one place, New), offerless initial INVITE (488), forked 2xx from several
// UASs, PRACK/100rel. The 487 that sipgo generates on CANCEL carries a
// fresh To tag rather than the one of our 180. Listening on a wildcard
// address derives the Contact host from the route towards the peer.
//
// Timers come from sipgo's package variables (sip.T1, sip.T2, ...); tests
// shorten them with sip.SetTimers before creating any UA.
package sip
