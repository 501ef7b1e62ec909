// Package interop holds the end-to-end interoperability tests of the
// shipped phoned binary against real peers nobody here wrote: Kamailio as
// registrar and proxy with digest auth, baresip as the other phone, SIPp
// for scripted SIP (see scripts/lab). Everything runs on 127.0.0.1; `make
// test` installs the peers (scripts/deps.sh).
package interop
