package sip

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// Message sizes and transports (RFC 3261 §18.1.1, §18.2.2).
const (
	// udpRequestMax is the largest request we send over UDP: a bigger one
	// goes over TCP, "larger than 1300 bytes and the path MTU is unknown"
	// (§18.1.1). Responses have no such rule: they go back the way the
	// request came, whatever their size.
	udpRequestMax = 1300
	// maxMessage is the largest message we send or receive, the UDP
	// length field's limit (§18.1.1 asks a UA to take up to 65,535 bytes).
	// Over IPv4 a datagram carries at most 65,507: writing a bigger one
	// fails and the failure is logged where the message was sent.
	maxMessage = 65535
	// maxTCPConns bounds the TCP (and TLS) connections peers hold open to
	// us: each costs a maxMessage read buffer and a goroutine in sipgo,
	// about 70 KiB, so 64 of them at most 4.5 MiB. Beyond it a new
	// connection is closed at once.
	maxTCPConns = 64
)

// tcpIdle closes a connection a peer opened once it has sent nothing for
// this long (a TLS handshake never finished included), so silent
// connections cannot keep the maxTCPConns slots; one in use is kept open
// by its traffic and keep-alives. A variable for tests.
var tcpIdle = 5 * time.Minute

func init() {
	// sipgo refuses UDP writes over UDPMTUSize-200 bytes and reads 32 KiB
	// per datagram. The choice of transport for our requests is ours
	// (overTCP); a response goes back over UDP at any size (§18.2.2).
	gosip.UDPMTUSize = maxMessage + 200
	gosip.TransportBufferReadSize = maxMessage
}

// overTCP moves req, about to leave in UDP mode, to TCP when it is too
// big for UDP (RFC 3261 §18.1.1) or its next hop names TCP, changing the
// top Via's transport to match; a CANCEL follows its INVITE, whose Via it
// copies (§9.1). Our Contact keeps naming UDP: we listen on TCP too, and
// a peer's request that is big moves to TCP by the same rule. A request
// sent back to UDP by backToUDP stays there.
func overTCP(req *gosip.Request) bool {
	via := req.Via()
	switch req.MessageData.Transport() {
	case udpAgain:
		return false
	case "TCP":
	default:
		if via == nil || (!strings.EqualFold(via.Transport, "TCP") && !strings.EqualFold(hopTransport(req), "tcp") &&
			messageSize(req) <= udpRequestMax) {
			return false
		}
	}
	if via != nil {
		via.Transport = "TCP"
	}
	req.SetTransport("TCP")
	req.Laddr = gosip.Addr{} // from an ephemeral port, not our UDP socket
	return true
}

// hopTransport is the transport parameter of req's next hop, the top
// Route or else the Request-URI (RFC 3263 §4.1): a proxy that
// record-routed us with ;transport=tcp (Kamailio between TCP and UDP)
// gets our in-dialog requests over TCP, with the Via saying so.
func hopTransport(req *gosip.Request) string {
	uri := &req.Recipient
	if r := req.Route(); r != nil {
		uri = &r.Address
	}
	if uri.UriParams == nil {
		return ""
	}
	v, _ := uri.UriParams.Get("transport")
	return v
}

func messageSize(m gosip.Message) int {
	var b strings.Builder
	m.StringWrite(&b)
	return b.Len()
}

// request sends req in a client transaction (prebuilt). A request moved
// to TCP for its size whose connection is refused or reset goes again
// over UDP (RFC 3261 §18.1.1).
func (u *UA) request(ctx context.Context, req *gosip.Request) (gosip.ClientTransaction, error) {
	for {
		// backToUDP says yes once at most: the request is on UDP then.
		tx, err := u.cli.TransactionRequest(ctx, req, u.prebuilt)
		if err == nil || !u.backToUDP(req, err) {
			return tx, err
		}
	}
}

// write sends req (an ACK) outside a transaction, as request does.
func (u *UA) write(req *gosip.Request) error {
	for {
		err := u.cli.WriteRequest(req, u.prebuilt)
		if err == nil || !u.backToUDP(req, err) {
			return err
		}
	}
}

// udpAgain marks a request backToUDP sent back to UDP. sipgo's Clone sets
// every copy's transport to its Via's ("UDP"): the lower case tells ours
// apart, and sipgo takes network names in any case.
const udpAgain = "udp"

func (u *UA) backToUDP(req *gosip.Request, err error) bool {
	if u.tcp || req.MessageData.Transport() != "TCP" ||
		!(errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)) {
		return false
	}
	req.SetTransport(udpAgain)
	if via := req.Via(); via != nil {
		via.Transport = "UDP"
	}
	u.log.Warn("TCP refused: request sent over UDP (RFC 3261 §18.1.1)", "error", err)
	return true
}

// capListener bounds the connections peers hold open to us
// (maxTCPConns): a flood of connections costs at most max read buffers.
// sipgo closes a connection when the peer does or on a read error. No
// embedding: promoted methods would add wrappers to the binary.
type capListener struct {
	ln       net.Listener
	max      int64
	live     atomic.Int64
	refused  atomic.Uint64
	accepted atomic.Int64 // every connection, refused or not (TLSAccepted)
	log      *rateLog
	u        *UA
	_        [0]func() // not comparable: no equality function either
}

func (l *capListener) Addr() net.Addr { return l.ln.Addr() }
func (l *capListener) Close() error   { return l.ln.Close() }

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return nil, err
		}
		l.accepted.Add(1)
		if l.live.Add(1) <= l.max {
			return &cappedConn{c: c, l: l}, nil
		}
		l.live.Add(-1)
		l.refused.Add(1)
		c.Close()
		if ok, _ := l.log.allow(); ok {
			l.u.log.Warn("TCP connection refused: too many open")
		}
	}
}

type cappedConn struct {
	c    net.Conn
	l    *capListener
	once sync.Once
	_    [0]func()
}

func (c *cappedConn) Close() error {
	c.once.Do(func() { c.l.live.Add(-1) })
	return c.c.Close()
}

// Read ends the connection (io.EOF, which sipgo takes as a close) when
// the peer sent nothing for tcpIdle.
func (c *cappedConn) Read(b []byte) (int, error) {
	c.c.SetReadDeadline(time.Now().Add(tcpIdle))
	n, err := c.c.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, io.EOF
	}
	return n, err
}

func (c *cappedConn) Write(b []byte) (int, error)        { return c.c.Write(b) }
func (c *cappedConn) LocalAddr() net.Addr                { return c.c.LocalAddr() }
func (c *cappedConn) RemoteAddr() net.Addr               { return c.c.RemoteAddr() }
func (c *cappedConn) SetDeadline(t time.Time) error      { return c.c.SetDeadline(t) }
func (c *cappedConn) SetReadDeadline(t time.Time) error  { return c.c.SetReadDeadline(t) }
func (c *cappedConn) SetWriteDeadline(t time.Time) error { return c.c.SetWriteDeadline(t) }

// TCPConns is how many TCP (or TLS) connections peers hold open to us
// now, and how many were refused for want of room (maxTCPConns).
func (u *UA) TCPConns() (open int64, refused uint64) {
	return u.tcpCap.live.Load(), u.tcpCap.refused.Load()
}
