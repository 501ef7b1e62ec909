package sip

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/scripts/tier"
)

// Real traffic for the fuzz seeds: what a registrar and a far end send a
// phone (as Kamailio and baresip write them), CRLF line ends.
var trafficSeeds = []string{
	// A REGISTER's 200.
	`SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:5062;rport=5062;branch=z9hG4bK.reg1;received=127.0.0.1
From: <sip:1001@example.test>;tag=ab12
To: <sip:1001@example.test>;tag=9f3c.b1
Call-ID: reg-1@127.0.0.1
CSeq: 2 REGISTER
Contact: <sip:1001@127.0.0.1:5062>;expires=3600
Server: kamailio (5.8.4 (x86_64/linux))
Content-Length: 0

`,
	// An INVITE with SDP.
	`INVITE sip:1001@127.0.0.1:5062 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK.inv1;rport
Max-Forwards: 70
From: "Bob" <sip:1002@example.test>;tag=b0b1
To: <sip:1001@example.test>
Call-ID: inv-1@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:1002@127.0.0.1:5070>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REFER, INFO, UPDATE
Supported: replaces, norefersub
User-Agent: baresip v3.10.1
Content-Type: application/sdp
Content-Length: 221

v=0
o=- 3201 3201 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 40000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
`,
	// A NOTIFY (a transfer's progress, RFC 3515).
	`NOTIFY sip:1001@127.0.0.1:5062 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK.not1;rport
Max-Forwards: 70
From: <sip:1002@example.test>;tag=b0b1
To: <sip:1001@example.test>;tag=a11ce
Call-ID: inv-1@127.0.0.1
CSeq: 3 NOTIFY
Contact: <sip:1002@127.0.0.1:5070>
Event: refer
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag
Content-Length: 16

SIP/2.0 200 OK
`,
	// A BYE.
	`BYE sip:1001@127.0.0.1:5062 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK.bye1;rport
Max-Forwards: 70
From: <sip:1002@example.test>;tag=b0b1
To: <sip:1001@example.test>;tag=a11ce
Call-ID: inv-1@127.0.0.1
CSeq: 4 BYE
Content-Length: 0

`,
}

// FuzzReceive drives a real UA's receive path with one datagram: the read
// filter (readfilter.go), then, for what it passes on, sipgo's parse, a
// server transaction, and the handler the method routes to behind the
// guard and the checks of validate.go (or the stray-response handler).
// Seeds: the RFC 4475 messages and real traffic. Nothing goes on the
// network but a stateless 400 to the sink socket on 127.0.0.1; responses
// from handlers go to a connection that discards them.
func FuzzReceive(f *testing.F) {
	tier.Component(f, "a real UA on a loopback socket")
	files, _ := filepath.Glob("testdata/rfc4475/*.dat")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range trafficSeeds {
		f.Add([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	}
	ua, err := New(Config{
		Listen: netip.MustParseAddrPort("127.0.0.1:0"), User: "1001", Domain: "example.test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, func(Event) {})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ua.Close() })
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sink.Close() })
	// The routes New gives sipgo's server (ua.go), kept out of the
	// binary: a table would cost the phone's flash more than the calls.
	wrap := func(h handler) handler { return ua.guarded(ua.validated(h)) }
	routes := map[gosip.RequestMethod]handler{
		gosip.INVITE: wrap(ua.onInvite), gosip.ACK: wrap(ua.onAck), gosip.BYE: wrap(ua.onBye),
		gosip.CANCEL: wrap(ua.onCancel), gosip.OPTIONS: wrap(ua.onOptions), gosip.UPDATE: wrap(ua.onUpdate),
		gosip.INFO: wrap(ua.onInfo), gosip.REFER: wrap(ua.onRefer), gosip.NOTIFY: wrap(ua.onNotify),
	}
	noRoute := wrap(ua.onNoRoute)
	conn := discardConn{addr: sink.LocalAddr()}
	info := gosip.TransportReadProps{Transport: "udp", LocalAddr: net.UDPAddrFromAddrPort(ua.Addr()), RemoteAddr: sink.LocalAddr()}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(nil), data...) // the filter may rewrite it in place
		out, err := ua.filter.read(info, in)
		if err != nil || len(out) == 0 || keepAlive(out) {
			return
		}
		msg, err := gosip.ParseMessage(out)
		if err != nil {
			t.Fatalf("the read filter passed on what does not parse: %v", err)
		}
		msg.SetTransport("UDP")
		msg.SetSource(sink.LocalAddr().String())
		switch m := msg.(type) {
		case *gosip.Response:
			ua.onStrayResponse(m)
		case *gosip.Request:
			key, err := gosip.ServerTxKeyMake(m)
			if err != nil {
				return // sipgo answers 400 itself
			}
			tx := gosip.NewServerTx(key, m, conn, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err := tx.Init(); err != nil {
				return
			}
			h, ok := routes[m.Method]
			if !ok {
				h = noRoute
			}
			// An INVITE's handler waits for the call's outcome: end its
			// transaction (as Timer H would) and it must return.
			done := make(chan struct{})
			go func() { defer close(done); h(m, tx) }()
			tx.Terminate()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("the %s handler did not return once its transaction ended", m.Method)
			}
		}
	})
}

// discardConn is a sipgo connection that drops what is written to it.
type discardConn struct{ addr net.Addr }

func (c discardConn) LocalAddr() net.Addr          { return c.addr }
func (c discardConn) WriteMsg(gosip.Message) error { return nil }
func (c discardConn) Ref(int) int                  { return 1 }
func (c discardConn) TryClose() (int, error)       { return 1, nil }
func (c discardConn) Close() error                 { return nil }

var _ gosip.Connection = discardConn{}
