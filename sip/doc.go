// Package sip is the phone's SIP user agent (RFC 3261) on top of
// github.com/emiago/sipgo: one UDP socket, direct calls between phones, one
// event stream towards the firmware's state machine.
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
//     The firmware answers with Ring, Answer or Reject. INVITEs whose SDP is
//     unparsable, offerless, or has no codec in Config.Codecs get 488 from
//     the UA with no event. Answer returns at once; the UA retransmits the
//     2xx until the ACK and sends BYE if none comes within 64*T1
//     (§13.3.1.4). A CANCEL gets 200 and the INVITE 487 (§9.2, done by
//     sipgo's transaction layer).
//   - Events are delivered by one goroutine in order; every call ends with
//     exactly one terminal event: Failed for an outgoing call never
//     answered, Ended otherwise (also after the firmware's own Reject or
//     Hangup, with Remote=false).
//   - BYE/CANCEL outside any known dialog get 481; OPTIONS gets 200 with
//     Allow; other methods get 405 with Allow. Concurrent INVITEs simply
//     produce more Incoming events; the firmware decides (486).
//
// Not yet (later issues; seams are marked TODO in the code): registration,
// digest auth, outbound proxy and route sets (call.routeSet),
// re-INVITE (answered 488, session unchanged, §14.2), offerless INVITE,
// full message validation (only missing From/To/Call-ID/CSeq/Contact are
// rejected with 400), TCP/TLS, forked 2xx from several UASs. The 487 that
// sipgo generates on CANCEL carries a fresh To tag rather than the one of
// our 180. Listening on a wildcard address derives the Contact host from
// the route towards the peer.
//
// Timers come from sipgo's package variables (sip.T1, sip.T2, ...); tests
// shorten them with sip.SetTimers before creating any UA.
package sip
