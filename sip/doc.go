// Package sip is the phone's SIP user agent (RFC 3261) on top of
// github.com/emiago/sipgo: one UDP socket, direct calls or calls through a
// registrar and proxy, one event stream towards the firmware's state machine.
//
// Contract:
//
//   - New binds Config.Listen itself (so "address in use" is an error from
//     New) and every request and response leaves from that socket: Via,
//     Contact and the UDP source port all name the listen address.
//   - Message sizes (size.go, RFC 3261 §18.1.1, §18.2.2): a UA listens on
//     TCP at the same port beside UDP, always; in UDP mode a request over
//     1300 bytes (or whose next hop says ;transport=tcp) goes over TCP with
//     its Via saying TCP (no retransmissions, §17.1.1.2), back over UDP
//     when the connection is refused or reset; responses go back the way
//     the request came at any size up to 65,535 bytes (65,507 in an IPv4
//     datagram: a bigger one fails, logged); reads take 65,535 bytes. At
//     most 64 TCP connections peers open are held at once (more are
//     closed at once, TCPConns counts them).
//   - From, To and Contact are always explicit (our AOR is
//     Config.User@Config.Domain; Contact is Config.User@listen address);
//     nothing falls back to sipgo's "sipgo@localhost" defaults.
//   - Outgoing calls: Dial checks the target and media and returns at
//     once; the next hop is found (Config.Resolver, e.g. sip/dnscache)
//     and the INVITE sent on the call's own goroutine within 32 s, and a
//     failure there (a name that does not resolve, no hop reachable) is
//     the call's Failed event (503 with the reason). Progress, Answered
//     and a terminal Failed/Ended follow. 2xx are ACKed by the UA
//     (RFC 3261 §13.2.2.4); non-2xx by sipgo's transaction (§17.1.1.3).
//     Hangup before the answer sends CANCEL once a provisional response has
//     arrived (§9.1); a 200 OK that crosses our CANCEL is ACKed and BYEd
//     (§9.1, §15), also when it arrives after the INVITE transaction ended.
//   - Every incoming request passes Config.Guard first (guard.go): with
//     ProxyOnly, one not from the registrar's or outbound proxy's host
//     gets 403 or nothing (in-dialog requests of a dialog without route
//     set from its remote target's host excepted); a source over its
//     rate is dropped; beyond
//     MaxServerTx out-of-dialog transactions, 503 with Retry-After.
//     Every datagram and stream read passes the read filter first
//     (readfilter.go): a request that does not parse gets a stateless 400
//     with the fault named (505, 416 where those fit) when its Via, From,
//     To, Call-ID and CSeq can be read leniently (§8.2.6, §18.2.2), else
//     it is dropped; streams are framed by Content-Length and closed after
//     a framing error (§18.3). Folded lines and LWS around ";" and "="
//     are normalised first (§7.3.1). Messages that do not parse are
//     counted (GuardStats.Malformed) and logged at debug, truncated, once
//     a second (badlog.go).
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
//     registrar saw (RFC 3581), unregister on Close. Status as
//     Registration events.
//   - Keep-alive that expects an answer (alive.go): an OPTIONS to our AOR
//     through the registrar every KeepAlive; 404/480 (binding lost)
//     re-registers at once, no answer makes the state RegUnconfirmed and
//     probes faster, and the first answer after silence re-registers. It
//     also notices a new local address.
//   - Stopping (Close, Shutdown; stop.go): hang-ups and the unregister
//     share one deadline (StopTimeout, 3 s, for Close), a REGISTER in
//     flight ends at once, and what the deadline cut short is logged.
//   - SIP over TLS (Config.Transport "tls", tls.go; RFC 3261 §26, RFC
//     5630): certificates verified against TLSConfig.RootCAs and the host
//     (name, or IP SAN for an IP literal); failures are TLSError ("TLS:
//     ...", wrapping ErrTLS), never a plain fallback. The UA dials the
//     registrar's connection itself (server name from the registrar URI)
//     and hands it to sipgo's TLS transport, so the registrar reaches us
//     over it (RFC 5626 flow; TLSAccepted counts the other connections);
//     the keep-alive goes over it; a closed flow re-registers at once.
//     In-dialog requests go over the connection the dialog came on while
//     it is open (sipgo issues #361/#362). Plain SIP gets 403.
//   - Next hops (dial.go, RFC 3263 §4.3): one selector for out-of-dialog
//     requests: the outbound proxy; else, while registration runs and the
//     target is in Config.Domain, the registrar registered at (followed
//     through fail-over and fail-back), then the others in order, a name
//     that does not resolve skipped like one that does not answer; else
//     the Request-URI's host. REGISTER resolves its registrars with the
//     same Resolver.
//   - The event queue to the firmware is bounded (events.go): a new
//     INVITE finding 256 events waiting, or an INFO digit or re-INVITE
//     finding 1024, gets 503 with Retry-After at once, counted
//     (Overflows) and logged; every other event is always queued (they
//     follow our own actions, and calls are bounded by the firmware), so
//     none is dropped silently and sipgo's goroutines never wait.
//   - Calls through a proxy: the outbound proxy is a preloaded loose route
//     on initial INVITEs; dialog route sets come from Record-Route; one
//     401/407 to INVITE is answered with credentials; 3xx are followed by
//     Contact q-value, at most 5 times and never to a visited target.
//   - One dialog type (dialog.go) holds what RFC 3261 §12 calls the
//     dialog state of every call, whichever side placed it: parties and
//     tags, local and remote CSeq, route set, remote target, and our SDP
//     origin id and version. Every in-dialog request we send (ACK, BYE,
//     INFO, re-INVITE, REFER, NOTIFY) is built from it by UA.inDialog and
//     every one we receive is matched by dialog.matches.
//   - Within a dialog: re-INVITE and UPDATE are answered keeping our SDP
//     origin (RFC 3264 §8), emitting Modified (hold shows as a recvonly or
//     inactive direction); the answer is the mirror of the offer narrowed
//     by our own direction (a far-end sendonly is answered recvonly, and
//     inactive while we hold them too); offerless re-INVITE gets our SDP
//     as the offer (version raised); INFO gets 200; a change crossing
//     ours (glare) gets 491, a bad offer 488 (session unchanged, §14.2),
//     an unknown dialog 481.
//   - Hold and resume (reinvite.go): Reinvite(id, local) returns at once
//     and sends a re-INVITE offering local (sdp.Media.Direction: sendonly
//     to hold, inactive when held already, "" or sendrecv to resume) with
//     the same o= id and the version one higher (RFC 3264 §8), once the
//     ACK of our initial 2xx is in. The outcome is a Reinvited event: 2xx
//     with the new session, or the failure code with the session
//     unchanged. A 491 is retried after the RFC 3261 §14.1 delay (2.1-4 s
//     when we placed the call, else 0-2 s) on Config.Clock, at most 3
//     times; a 481 or a timeout (408) also ends the call (§12.2.1.2). One
//     re-INVITE at a time per call (ErrCallState).
//   - Transfer out (refer.go): Refer(id, target, replaces) sends REFER
//     (RFC 3515) with Refer-To and Referred-By (RFC 3892); for attended
//     transfer (RFC 5589 §7) the Refer-To URI carries the escaped
//     Replaces header of the other call's dialog (RFC 3891 §3). Outcome as
//     TransferProgress: the REFER's own failure (Final), then each NOTIFY
//     of the implicit subscription (its message/sipfrag status line; 200
//     to each; Final on Subscription-State: terminated). A bad sipfrag gets
//     400 and is not reported; no final NOTIFY within 32 s on Config.Clock
//     gives 408, Final. The 202 alone is no outcome. A REFER asked for
//     while our re-INVITE is pending on the call goes once that is done
//     (a REFER crossing it draws 491, RFC 5589 §7).
//   - Being transferred: an in-dialog REFER with exactly one readable
//     Refer-To gets 202, then NOTIFY "SIP/2.0 100 Trying" (RFC 3515
//     §2.4.4), then Referred (target, Referred-By, unescaped Replaces).
//     The firmware places the call with DialWith(target, media,
//     DialOptions{ReferredBy, Replaces}) and reports with NotifyRefer(id,
//     code, reason); code >= 200 terminates the subscription. NOTIFYs go
//     out in order, one at a time. REFER without a To tag: 403; for an
//     unknown dialog: 481; no, several or an unreadable Refer-To: 400;
//     while the previous REFER is still being notified: 491.
//   - Being replaced: an INVITE with Replaces (RFC 3891 §3) is matched by
//     Call-ID, to-tag (our tag) and from-tag (theirs): no match, an early
//     dialog we did not place, or one being torn down: 481; early-only
//     naming an answered dialog: 486; otherwise Incoming.Replaces names
//     the call it replaces (the firmware answers it and ends that one).
//     Our INVITEs and responses say Supported: replaces and Allow REFER,
//     NOTIFY; Require: replaces is accepted.
//   - Validation before every handler (validate.go): SIP version (505),
//     mandatory headers and CSeq method (400), Require (420 with
//     Unsupported), body type and encoding (415 with Accept or
//     Accept-Encoding), URI scheme (416); unknown methods 501, known but
//     unsupported 405 with Allow; OPTIONS 200 with Allow. Unparsable
//     datagrams are dropped by sipgo's parser (no response can be formed).
//     Concurrent INVITEs simply produce more Incoming events; the firmware
//     decides (486).
//
// Parsers of untrusted input (sipfrag, Replaces, Refer-To with embedded
// headers, dtmf-relay) never panic and are fuzzed.
//
// Not yet: an INVITE with Replaces naming our own early outgoing call
// (call pickup) gets 481; REFER outside a dialog; re-INVITE or REFER
// answered 401/407 (not retried with credentials). TCP and TLS
// transports (UDP only; the transport is chosen in one place, New),
// offerless initial INVITE (488), forked 2xx from several
// UASs, PRACK/100rel. The 487 that sipgo generates on CANCEL carries a
// fresh To tag rather than the one of our 180. Listening on a wildcard
// address derives the Contact host from the route towards the peer.
//
// Timers come from sipgo's package variables (sip.T1, sip.T2, ...); tests
// shorten them with sip.SetTimers before creating any UA.
package sip
