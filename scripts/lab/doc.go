// Package lab is the interop lab: test helpers that run real SIP peers
// nobody here wrote — Kamailio (registrar and proxy with digest auth),
// baresip (a second phone), SIPp (scenarios, RFC 2833 pcaps, load) — and
// capture SIP with tshark, all on 127.0.0.1, owned by one test each; and
// provisioning servers: nginx (StartNginx: static files over HTTPS with
// client-certificate checking) and Apache (StartApache: Digest auth).
//
// Contract:
//
//   - Every Start/Run helper takes a testing.TB, fails it (t.Fatal) when
//     the peer is not installed or does not become ready, and registers a
//     t.Cleanup that kills the peer's whole process group (SIGTERM, then
//     SIGKILL). When the test failed, Cleanup logs the tail of the peer's
//     output, and Trace logs the SIP message flow.
//   - Peers listen on free ports picked below the ephemeral range
//     (10000-19999, UDP and TCP probed, never handed out twice in one
//     process; a peer that loses a port race is restarted on another),
//     never on 5060. Configs, logs, recordings and captures go to
//     t.TempDir().
//   - StartKamailio returns once Kamailio answers an OPTIONS ping (so do
//     its Start and Restart, a registrar restart on the same port and
//     config that loses every binding);
//     StartBaresip once its ctrl_tcp socket answers and, with a Registrar,
//     once it is registered; RunSIPp for a UAS (no Target) once SIPp holds
//     its port; StartTrace once a marker datagram of ours is in the
//     capture file.
//   - Nothing waits forever: Kamailio's and baresip's readiness are bounded
//     by seconds, SIPp by -m Calls and -timeout (plus a kill margin),
//     WaitEvent/WaitDTMF by the caller's timeout.
//
// The peers' configuration comes from scripts/kamailio (kamailio.cfg.tmpl)
// and scripts/sipp (scenario XML with {{name:default}} placeholders), both
// embedded. scripts/deps.sh installs kamailio, baresip-core, sip-tester,
// tshark, nginx-light and apache2 from Debian. How each peer behaves here: shared/PEERS.md.
//
// Known behaviour of the peers that tests must allow for:
//
//   - baresip 1.0's aufile source ends the call when its WAV ends
//     (AUDIO_ERROR "end of file"): give a MicWAV longer than the call.
//   - baresip's registration events at start-up come before the lab's
//     control connection: use Registered (reginfo) rather than waiting for
//     REGISTER_OK. In auto answer mode there is no CALL_INCOMING event.
//   - baresip's sndfile recordings are named by the second the call
//     started (two calls in one second share a name).
//   - dumpcap writes packets in blocks about half a second apart:
//     Trace.Messages waits for its marker before stopping the capture.
package lab
