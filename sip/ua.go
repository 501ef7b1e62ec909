package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/sdp"
)

// Sentinel errors; returned errors wrap them with %w.
var (
	ErrBadTarget   = errors.New("sip: bad target URI")
	ErrBadMedia    = errors.New("sip: bad local media")
	ErrUnknownCall = errors.New("sip: unknown call")
	ErrCallState   = errors.New("sip: operation not valid in this call state")
	ErrClosed      = errors.New("sip: user agent closed")
)

// allowed is our Allow header value (RFC 3261 §20.5).
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY"

// supportedTags is our Supported header value (RFC 3261 §20.37): Replaces
// (RFC 3891).
const supportedTags = "replaces"

// Config configures a UA.
type Config struct {
	// Listen is the UDP address the UA binds. Port 0 picks a free port; see
	// UA.Addr. Every request and response leaves from this socket.
	Listen netip.AddrPort
	// User is the user part of our address of record (From).
	User string
	// DisplayName is put in From.
	DisplayName string
	// Domain is the host part of our address of record (From). Contact uses
	// the listen address instead.
	Domain string
	// UserAgent is the User-Agent header value; empty means none.
	UserAgent string
	// Codecs are the codecs we can accept on incoming calls, used to reject
	// an offer with no common codec (488) before the firmware sees it.
	// Default: PCMU, PCMA.
	Codecs []sdp.Codec
	// SRTP is the SRTP policy incoming offers are checked against before
	// ringing: one we cannot answer gets 488 (RFC 4568 §7.1.2).
	SRTP sdp.SRTPMode
	// Logger receives the UA's logs (and sipgo's). Default: slog.Default().
	Logger *slog.Logger
	// Credentials answer 401/407 challenges to our INVITEs (RFC 3261
	// §22.2) and REGISTERs.
	Credentials Credentials
	// Transport for the requests we send: "udp" (default) or "tcp" (RFC
	// 3261 §18). With "tcp" the UA also listens on TCP at the same port and
	// says ;transport=tcp in its Contact; RTP stays on UDP. "tls" (RFC
	// 3261 §26, RFC 5630): requests over TLS with Via SIP/2.0/TLS and
	// ;transport=tls in Contact, a TLS listener on the same port (TCP),
	// certificates verified as TLS says; never a plain fallback.
	Transport string
	// TLS configures Transport "tls".
	TLS TLSConfig
	// OutboundProxy, when set (sip:host[:port]), is put as a loose-routing
	// Route on every initial INVITE (RFC 3261 §8.1.2, preloaded route).
	// Without one, while registration runs, INVITEs go through the
	// registrar in use instead (dial.go), following its fail-over.
	OutboundProxy string
	// Resolver looks up next hops (RFC 3263) for INVITE and REGISTER;
	// default Go's resolver. sip/dnscache gives one that caches by TTL.
	Resolver resolver
	// Guard limits who may send requests and what they may cost
	// (guard.go).
	Guard Guard
	// Clock times the re-INVITE retry after 491 (RFC 3261 §14.1) and the
	// wait for a REFER's final NOTIFY. Default: the wall clock.
	Clock clock.Clock
}

// maxRedirects bounds how many 3xx a call follows (RFC 3261 §8.1.3.4).
const maxRedirects = 5

type callDir int

const (
	outgoing callDir = iota
	incoming
)

type callState int

const (
	stCalling     callState = iota // UAC: INVITE sent, no final response yet
	stIncoming                     // UAS: no final response sent yet
	stAnswered                     // UAS: 200 sent, waiting for the ACK
	stConfirmed                    // dialog confirmed (RFC 3261 §12)
	stTerminating                  // BYE in progress
)

// party is one end of a dialog: the name-addr of From/To plus the tag.
type party struct {
	DisplayName string
	URI         gosip.Uri
	Tag         string
}

func (p party) from() *gosip.FromHeader {
	h := &gosip.FromHeader{DisplayName: p.DisplayName, Address: *p.URI.Clone(), Params: gosip.NewParams()}
	if p.Tag != "" {
		h.Params.Add("tag", p.Tag)
	}
	return h
}

func (p party) to() *gosip.ToHeader {
	h := &gosip.ToHeader{DisplayName: p.DisplayName, Address: *p.URI.Clone(), Params: gosip.NewParams()}
	if p.Tag != "" {
		h.Params.Add("tag", p.Tag)
	}
	return h
}

// call is one call leg and, once established, its dialog (RFC 3261 §12).
// Fields are guarded by UA.mu unless noted.
type call struct {
	dialog
	dir   callDir
	state callState
	ended bool // terminal event emitted
	rang  bool // 180 Ringing sent (UAS)
	// infoSeq is the CSeq of the last INFO taken from the peer: one with
	// the same or a lower CSeq is a repeat (RFC 3261 §12.2.2) whose digit
	// was reported already.
	infoSeq uint32
	done    chan struct{} // closed when the call is over
	// media is our side of the session as last agreed (or offered, before
	// the answer).
	media sdp.Media
	// reinvite is our re-INVITE in progress (reinvite.go), nil when none.
	reinvite *reinvite
	// referOut is our REFER and its implicit subscription (refer.go);
	// referIn the subscription we notify after accepting a REFER.
	referOut *referOut
	referIn  *referIn

	// UAC.
	invite     *gosip.Request  // read only once sent
	offerBody  []byte          // our SDP offer in the INVITE
	authTried  bool            // answered one 401/407 already
	visited    map[string]bool // targets tried, against redirect loops
	hangupReq  bool            // Hangup before final response: CANCEL when allowed
	cancelSent bool
	provision  bool // a provisional response arrived (RFC 3261 §9.1)
	ack        *gosip.Request
	wake       chan struct{} // pokes the UAC loop

	// UAS.
	req       *gosip.Request // the INVITE
	stx       gosip.ServerTransaction
	offer     sdp.Session
	okRes     *gosip.Response
	final     chan struct{} // closed once a final response was sent
	acked     chan struct{} // closed when the ACK for our 2xx arrived
	cancelled chan struct{} // closed by the transaction layer's CANCEL hook
	cancelOne sync.Once     // guards cancelled; the hook must not take UA.mu
	ackOne    sync.Once
}

// UA is a SIP user agent for direct (registrar-less) calls over UDP.
type UA struct {
	// ringAtOnce: answer a new INVITE with 180 from the SIP layer (see
	// SetRingAtOnce).
	ringAtOnce atomic.Bool
	cfg        Config
	clk        clock.Clock
	log        *slog.Logger
	conn       *net.UDPConn
	addr       netip.AddrPort
	sua        *sipgo.UserAgent
	srv        *sipgo.Server
	cli        *sipgo.Client
	events     *dispatcher
	served     chan struct{}

	mu     sync.Mutex
	calls  map[CallID]*call
	closed bool
	reg    *registrar // nil without registration
	tcp    bool       // requests go over TCP or TLS (Config.Transport)
	tls    *tlsState  // nil unless Transport is "tls"
	tcpLn  *net.TCPListener
	tcpCap *capListener // tcpLn, bounded (size.go)
	proxy  *gosip.Uri   // outbound proxy with ;lr, or nil

	// public is our address as a registrar sees it (NAT), when it differs
	// from ours. Atomic: Contact is built with and without u.mu held.
	public atomic.Pointer[netip.AddrPort]
	wg     sync.WaitGroup // call goroutines

	// Stray 2xx handling (stray.go): ended outgoing calls and the forks of
	// live ones, guarded by mu; dropped responses counted.
	spent        spentCalls
	forks        map[CallID]*sentInvite
	strayDropped atomic.Int64
	strayLog     rateLog
	// realm decides which digest challenges get our credentials (auth.go).
	realm *realmPolicy
	// checkSync holds our check-sync challenges (checksync.go).
	checkSync    nonces
	checkSyncLog rateLog
	// overflows counts requests refused for want of room in the event
	// queue (overflow.go).
	overflows atomic.Uint64
	guard     guardState // guard.go
	// filter answers or drops what does not parse (readfilter.go); badLog
	// rate-limits its log.
	filter *readFilter
	badLog rateLog
}

// New binds cfg.Listen and starts serving. onEvent is called from one UA
// goroutine, in order; it must return quickly.
func New(cfg Config, onEvent func(Event)) (*UA, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// SDES keys in SDP bodies are credentials: masked in whatever the UA
	// or sipgo logs (RFC 4568 §8.1).
	cfg.Logger = slog.New(sdp.MaskHandler(cfg.Logger.Handler()))
	if len(cfg.Codecs) == 0 {
		cfg.Codecs = []sdp.Codec{sdp.PCMU, sdp.PCMA}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("sip: config: empty User")
	}
	switch cfg.Transport {
	case "", "udp", "tcp", "tls":
	default:
		return nil, fmt.Errorf("sip: config: transport %q (want udp, tcp or tls)", cfg.Transport)
	}
	if !cfg.Listen.Addr().IsValid() {
		return nil, fmt.Errorf("sip: config: invalid Listen address %v", cfg.Listen)
	}
	network := "udp4"
	if cfg.Listen.Addr().Unmap().Is6() {
		network = "udp6"
	}
	// Bind ourselves so "address in use" is a synchronous error.
	// A TCP listener beside UDP always: a UA implements both (RFC 3261
	// §18), and a peer's request too big for UDP comes over TCP (§18.1.1).
	conn, tcpLn, err := bindPorts(network, cfg.Listen, true)
	if err != nil {
		return nil, err
	}
	laddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	addr := netip.AddrPortFrom(laddr.Addr().Unmap(), laddr.Port())
	if cfg.Domain == "" {
		cfg.Domain = addr.Addr().String()
	}

	var proxy *gosip.Uri
	if cfg.OutboundProxy != "" {
		p, err := parseTarget(cfg.OutboundProxy)
		if err != nil {
			conn.Close()
			tcpLn.Close()
			return nil, fmt.Errorf("sip: outbound proxy %q: %w", cfg.OutboundProxy, err)
		}
		if p.UriParams == nil {
			p.UriParams = gosip.NewParams()
		}
		p.UriParams.Add("lr", "") // loose routing, RFC 3261 §16.12
		proxy = &p
	}
	tcpCap := &capListener{ln: tcpLn, max: maxTCPConns, log: &rateLog{clk: cfg.Clock, every: time.Second}}
	var tlsSt *tlsState
	uaOpts := []sipgo.UserAgentOption{}
	if cfg.Transport == "tls" {
		srvConf, err := serverTLS(cfg.TLS, addr.Addr())
		if err != nil {
			tcpLn.Close()
			conn.Close()
			return nil, err
		}
		tlsSt = &tlsState{client: clientTLS(cfg.TLS), flows: make(map[string]*flowConn)}
		tlsSt.ln = tls.NewListener(tcpCap, srvConf)
		tlsSt.flowLn = newFlowListener(tcpLn.Addr())
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(tlsSt.client))
	}
	u := &UA{
		tls:    tlsSt,
		tcp:    cfg.Transport == "tcp" || cfg.Transport == "tls",
		tcpLn:  tcpLn,
		tcpCap: tcpCap,
		proxy:  proxy,
		cfg:    cfg,
		clk:    cfg.Clock,
		log:    cfg.Logger.With("component", "sip", "listen", addr.String()),
		conn:   conn,
		addr:   addr,
		calls:  make(map[CallID]*call),
		served: make(chan struct{}),
	}
	tcpCap.u = u
	u.strayLog = rateLog{clk: cfg.Clock, every: time.Second}
	u.checkSyncLog = rateLog{clk: cfg.Clock, every: time.Second}
	u.realm = &realmPolicy{configured: cfg.Credentials.Realm, fallback: []string{cfg.Domain}}
	if proxy != nil {
		u.realm.fallback = append(u.realm.fallback, proxy.Host)
	}
	u.guard.log = rateLog{clk: cfg.Clock, every: time.Second}
	u.badLog = rateLog{clk: cfg.Clock, every: time.Second}
	u.filter = newReadFilter(u)
	if cfg.Guard.Rate > 0 {
		u.guard.limiter = newLimiter(cfg.Guard.Rate, cfg.Guard.Burst)
	}
	sipLog := slog.New(newBadPacketHandler(u.log.With("lib", "sipgo").Handler(), cfg.Clock))
	u.sua, err = sipgo.NewUA(append([]sipgo.UserAgentOption{
		sipgo.WithUserAgent(cfg.User),
		sipgo.WithUserAgentHostname(cfg.Domain),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(sipLog),
			gosip.WithTransactionLayerUnhandledResponseHandler(u.onStrayResponse),
		),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(sipLog),
			gosip.WithTransportLayerReadFilter(u.filter.read)),
	}, uaOpts...)...)
	if err != nil {
		conn.Close()
		tcpLn.Close()
		return nil, fmt.Errorf("sip: %w", err)
	}
	// Requests are sent from the listening socket: WithClientConnectionAddr
	// makes the transport pick the listener out of its pool (keyed by the
	// socket's local address) instead of dialing a new ephemeral socket.
	u.cli, err = sipgo.NewClient(u.sua,
		sipgo.WithClientLogger(sipLog),
		sipgo.WithClientConnectionAddr(conn.LocalAddr().String()),
	)
	if err != nil {
		u.sua.Close()
		conn.Close()
		tcpLn.Close()
		return nil, fmt.Errorf("sip: %w", err)
	}
	u.srv, err = sipgo.NewServer(u.sua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		u.sua.Close()
		conn.Close()
		tcpLn.Close()
		return nil, fmt.Errorf("sip: %w", err)
	}
	u.srv.OnInvite(u.guarded(u.validated(u.onInvite)))
	u.srv.OnAck(u.guarded(u.validated(u.onAck)))
	u.srv.OnBye(u.guarded(u.validated(u.onBye)))
	u.srv.OnCancel(u.guarded(u.validated(u.onCancel)))
	u.srv.OnOptions(u.guarded(u.validated(u.onOptions)))
	u.srv.OnUpdate(u.guarded(u.validated(u.onUpdate)))
	u.srv.OnInfo(u.guarded(u.validated(u.onInfo)))
	u.srv.OnRefer(u.guarded(u.validated(u.onRefer)))
	u.srv.OnNotify(u.guarded(u.validated(u.onNotify)))
	u.srv.OnNoRoute(u.guarded(u.validated(u.onNoRoute)))

	u.events = newDispatcher(onEvent)
	if tlsSt != nil {
		for _, ln := range []net.Listener{tlsSt.ln, tlsSt.flowLn} {
			go func() {
				if err := u.srv.ServeTLS(ln); !errors.Is(err, net.ErrClosed) {
					u.log.Error("serve TLS", "error", err)
				}
			}()
		}
	} else if tcpLn != nil {
		go func() {
			// ServeTCP always returns an error: ErrClosed on Close.
			if err := u.srv.ServeTCP(tcpCap); !errors.Is(err, net.ErrClosed) {
				u.log.Error("serve TCP", "error", err)
			}
		}()
	}
	go func() {
		defer close(u.served)
		if err := u.srv.ServeUDP(conn); err != nil {
			u.log.Error("serve UDP", "error", err)
		}
	}()
	// ServeUDP registers the listener in sipgo's connection pool from its
	// own goroutine. Until it is there, a request pinned to our local
	// address would make sipgo try to bind a second socket, so wait.
	ready := time.NewTimer(5 * time.Second)
	defer ready.Stop()
	for {
		if c, err := u.sua.TransportLayer().GetConnection("udp", conn.LocalAddr().String()); err == nil {
			c.TryClose() // GetConnection took a reference
			break
		}
		select {
		case <-u.served:
			u.sua.Close()
			tcpLn.Close()
			u.events.stop()
			return nil, fmt.Errorf("sip: serving %v stopped at start", addr)
		case <-ready.C:
			u.sua.Close()
			conn.Close()
			tcpLn.Close()
			<-u.served
			u.events.stop()
			return nil, fmt.Errorf("sip: listener %v not ready", addr)
		case <-time.After(time.Millisecond):
		}
	}
	u.log.Info("SIP UA listening")
	return u, nil
}

// String names the UA by its address; printing a UA never shows its
// config (and so its credentials).
func (u *UA) String() string { return "sip.UA(" + u.addr.String() + ")" }

// bindPorts binds the UDP socket and, with withTCP, a TCP listener on the
// same port, so that Contact names one address for both. With port 0 the
// kernel picks the UDP port, which a TCP socket (another program's
// outgoing connection) may hold: then both are tried again on a new port.
func bindPorts(network string, listen netip.AddrPort, withTCP bool) (*net.UDPConn, *net.TCPListener, error) {
	for try := 0; ; try++ {
		conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(listen))
		if err != nil {
			return nil, nil, fmt.Errorf("sip: listen %v: %w", listen, err)
		}
		if !withTCP {
			return conn, nil, nil
		}
		laddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		ln, err := net.ListenTCP(strings.Replace(network, "udp", "tcp", 1), &net.TCPAddr{IP: laddr.Addr().AsSlice(), Port: int(laddr.Port())})
		if err == nil {
			return conn, ln, nil
		}
		conn.Close()
		if listen.Port() != 0 || try >= 20 {
			return nil, nil, fmt.Errorf("sip: listen tcp %v: %w", laddr, err)
		}
	}
}

// Addr is the address the UA actually listens on.
func (u *UA) Addr() netip.AddrPort { return u.addr }

// Shutdown hangs up every call best-effort (BYE, CANCEL, 486) and
// unregisters, both until ctx ends (see Close), then stops serving and
// closes the socket. Terminal events of the calls are delivered before
// Shutdown returns.
func (u *UA) Shutdown(ctx context.Context) error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	reg := u.reg
	calls := make([]*call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()

	for _, c := range calls {
		if c.dir == incoming {
			u.mu.Lock()
			st := c.state
			u.mu.Unlock()
			if st == stIncoming {
				_ = u.Reject(c.id, 486, "Busy Here")
				continue
			}
		}
		_ = u.Hangup(c.id)
	}
	// BYE/CANCEL and the unregister share ctx's deadline, side by side;
	// both end before the transport goes.
	u.settle(ctx, calls, reg)
	// Terminates all transactions: remaining call goroutines see tx.Done.
	err := u.sua.Close()
	if cerr := u.conn.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	if u.tcpLn != nil {
		u.tcpLn.Close()
	}
	if u.tls != nil {
		u.tls.flowLn.Close()
		u.tls.closeFlows()
	}
	<-u.served
	u.wg.Wait()
	// Anything left (e.g. a call whose goroutine never started) ends now.
	u.mu.Lock()
	for _, c := range u.calls {
		u.finishLocked(c, terminal(c, "user agent closed"))
	}
	u.mu.Unlock()
	u.events.stop()
	return err
}

func terminal(c *call, reason string) Event {
	if c.dir == outgoing && c.state == stCalling {
		return Failed{ID: c.id, Code: 503, Reason: reason}
	}
	return Ended{ID: c.id, Reason: reason}
}

// finishLocked ends a call once: removes it, closes done, emits ev.
// Events are queued under u.mu so their order matches the state changes.
func (u *UA) finishLocked(c *call, ev Event) {
	if c.ended {
		return
	}
	c.ended = true
	delete(u.calls, c.id)
	u.rememberLocked(c)
	close(c.done)
	if c.reinvite != nil && c.reinvite.retry != nil {
		c.reinvite.retry.Stop()
	}
	if c.referOut != nil && c.referOut.timeout != nil {
		c.referOut.timeout.Stop()
	}
	u.events.push(ev)
}

func (u *UA) finish(c *call, ev Event) {
	u.mu.Lock()
	u.finishLocked(c, ev)
	u.mu.Unlock()
}

func (u *UA) emitLocked(c *call, ev Event) {
	if !c.ended {
		u.events.push(ev)
	}
}

// contactHost is the host we put in Via and Contact: the listen address,
// or, when listening on a wildcard address, the local address the kernel
// would use towards remote.
func (u *UA) contactHost(remote string) string {
	if !u.addr.Addr().IsUnspecified() {
		return u.addr.Addr().String()
	}
	if remote != "" {
		if c, err := net.Dial("udp", net.JoinHostPort(remote, "5060")); err == nil {
			defer c.Close()
			if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
				return a.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func newCallID() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}

// prebuilt is the client option for requests we build completely ourselves:
// sipgo adds nothing, we only pin the local socket (Laddr) so the request
// leaves from the listening socket.
func (u *UA) prebuilt(_ *sipgo.Client, req *gosip.Request) error {
	if req.Body() == nil {
		req.SetBody(nil) // Content-Length: 0
	}
	if !u.tcp && !overTCP(req) {
		req.Laddr = gosip.Addr{IP: net.IP(u.conn.LocalAddr().(*net.UDPAddr).IP), Port: int(u.addr.Port())}
	}
	return nil
}

func (u *UA) via(host string) *gosip.ViaHeader {
	p := gosip.NewParams()
	p.Add("branch", gosip.GenerateBranchN(16))
	p.Add("rport", "") // RFC 3581
	transport := "UDP"
	if u.tls != nil {
		transport = "TLS"
	} else if u.tcp {
		transport = "TCP"
	}
	return &gosip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       transport,
		Host:            host,
		Port:            int(u.addr.Port()),
		Params:          p,
	}
}

// contact is our Contact: the address a registrar saw us at when that
// differs from ours (NAT, RFC 3581), else host and the listening port.
func (u *UA) contact(host string) *gosip.ContactHeader {
	port := int(u.addr.Port())
	if p := u.public.Load(); p != nil {
		host, port = p.Addr().String(), int(p.Port())
	}
	if u.tcp {
		params := gosip.NewParams()
		params.Add("transport", u.contactTransport())
		return &gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: u.cfg.User, Host: host, Port: port, UriParams: params}}
	}
	return &gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: u.cfg.User, Host: host, Port: port}}
}

// setPublic records the address a registrar sees us at.
func (u *UA) setPublic(a netip.AddrPort) {
	if a == u.addr {
		u.public.Store(nil)
		return
	}
	u.public.Store(&a)
}

func (u *UA) addCommon(m interface{ AppendHeader(gosip.Header) }) {
	if u.cfg.UserAgent != "" {
		m.AppendHeader(gosip.NewHeader("User-Agent", u.cfg.UserAgent))
	}
}

// ---------------------------------------------------------------- UAC

// Dial sends an INVITE to target (e.g. "sip:1002@127.0.0.1:5062") offering
// local media. It checks target and media and returns at once: finding
// the next hop (DNS) and sending happen on a goroutine of the call, and a
// failure there is the call's Failed event. Progress comes as events.
func (u *UA) Dial(target string, local sdp.Media) (CallID, error) {
	return u.DialWith(target, local, DialOptions{})
}

// DialOptions are the extra headers of an INVITE that places the new call
// of a transfer.
type DialOptions struct {
	// ReferredBy is put as Referred-By (RFC 3892 §3), as received in the
	// REFER (Referred.ReferredBy).
	ReferredBy string
	// Replaces is put as Replaces (RFC 3891 §3): the raw header value from
	// the Refer-To URI (Referred.Replaces), "callid;to-tag=..;from-tag=..".
	Replaces string
}

// DialWith is Dial with the headers of o added to the INVITE.
func (u *UA) DialWith(target string, local sdp.Media, o DialOptions) (CallID, error) {
	var uri gosip.Uri
	if err := gosip.ParseUri(target, &uri); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadTarget, target, err)
	}
	if uri.Scheme != "sip" || uri.Host == "" || uri.Port < 0 || uri.Port > 65535 {
		return "", fmt.Errorf("%w: %q: want sip:user@host[:port]", ErrBadTarget, target)
	}
	uri.Headers = nil // headers of a Refer-To URI go in DialOptions
	if !local.Addr.IsValid() || len(local.Codecs) == 0 || !sdp.ValidDirection(local.Direction) {
		return "", fmt.Errorf("%w: addr %v codecs %v direction %q", ErrBadMedia, local.Addr, local.Codecs, local.Direction)
	}
	if o.Replaces != "" {
		if _, err := parseReplaces(o.Replaces); err != nil {
			return "", fmt.Errorf("sip: dial: %w", err)
		}
	}
	if strings.ContainsAny(o.ReferredBy+o.Replaces, "\r\n") {
		return "", fmt.Errorf("sip: dial: line break in a header value")
	}

	c := &call{
		dialog: dialog{
			id: CallID(newCallID()),
			local: party{
				DisplayName: u.cfg.DisplayName,
				URI:         gosip.Uri{Scheme: "sip", User: u.cfg.User, Host: u.cfg.Domain},
				Tag:         gosip.GenerateTagN(16),
			},
			// To carries the target's AOR without parameters (RFC 3261 §8.1.1.2).
			remote:       party{URI: gosip.Uri{Scheme: "sip", User: uri.User, Host: uri.Host, Port: uri.Port}},
			remoteTarget: uri,
			localSeq:     1 + rand.Uint32N(1<<15),
		},
		dir:   outgoing,
		state: stCalling,
		done:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
		media: local,
	}
	c.visited = map[string]bool{uri.Addr(): true}
	c.sdpID = rand.Uint64() >> 2
	c.sdpVer = c.sdpID
	c.offerBody = sdp.OfferOrigin(local, c.sdpID, c.sdpVer)

	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return "", ErrClosed
	}
	u.calls[c.id] = c
	u.wg.Add(1)
	u.mu.Unlock()
	// Resolving the next hop and sending wait on the network: not here,
	// so a dialling phone's loop never blocks (dial.go).
	go u.placeCall(c, o)
	return c.id, nil
}

// runUAC follows our INVITE client transaction to its final response.
func (u *UA) runUAC(c *call, tx gosip.ClientTransaction) {
	defer u.wg.Done()
	log := u.log.With("call", c.id)
	for {
		select {
		case res := <-tx.Responses():
			code := res.StatusCode
			switch {
			case code < 200:
				u.mu.Lock()
				c.provision = true
				if code > 100 {
					p := Progress{ID: c.id, Code: code}
					if len(res.Body()) > 0 {
						if s, err := sdp.Parse(res.Body()); err == nil {
							if neg, err := sdp.Accept(s, c.media); err == nil {
								p.Media = &neg
							}
						}
					}
					u.emitLocked(c, p)
				}
				u.mu.Unlock()
				u.maybeCancel(c)
			case code < 300:
				u.onAnswer(c, tx, res)
				return
			default:
				// The transaction ACKs non-2xx itself (RFC 3261 §17.1.1.3).
				if next := u.retryInvite(c, res); next != nil {
					tx = next
					continue
				}
				log.Info("call failed", "code", code, "reason", res.Reason)
				u.finish(c, Failed{ID: c.id, Code: code, Reason: res.Reason})
				return
			}
		case <-tx.Done():
			err := tx.Err()
			code, reason := 503, "Service Unavailable"
			if errors.Is(err, gosip.ErrTransactionTimeout) {
				// RFC 3261 §8.1.3.1: a timeout is treated as 408.
				code, reason = 408, "Request Timeout"
			}
			log.Info("INVITE transaction ended without final response", "error", err)
			u.finish(c, Failed{ID: c.id, Code: code, Reason: fmt.Sprintf("%s (%v)", reason, err)})
			return
		case <-c.wake:
			u.maybeCancel(c)
		}
	}
}

// retryInvite answers a 401/407 with credentials (once) or follows a 3xx
// to the next unvisited Contact (at most maxRedirects, RFC 3261
// §8.1.3.4), sending the new INVITE on a new transaction with CSeq+1.
// It returns nil when the response is final for the call.
func (u *UA) retryInvite(c *call, res *gosip.Response) gosip.ClientTransaction {
	u.mu.Lock()
	hung := c.hangupReq
	inv := c.invite
	u.mu.Unlock()
	if hung {
		return nil
	}
	var next *gosip.Request
	switch code := res.StatusCode; {
	case (code == 401 || code == 407) && !c.authTried:
		req, err := authorize(inv, res, u.cfg.Credentials, u.realm)
		if err != nil {
			u.log.Warn("cannot answer the challenge", "call", c.id, "error", err)
			return nil
		}
		c.authTried = true
		next = req
	case code >= 300 && code < 400:
		target, ok := redirectTarget(res, c.visited)
		if !ok || len(c.visited) > maxRedirects {
			return nil
		}
		c.visited[target.Addr()] = true
		next = inv.Clone()
		next.Recipient = target
		next.SetDestination("") // route anew: by Route, else the new Request-URI
		next.RemoveHeader("Authorization")
		next.RemoveHeader("Proxy-Authorization")
		next.Via().Params.Add("branch", gosip.GenerateBranchN(16))
		next.CSeq().SeqNo++
		c.authTried = false
		u.log.Info("following redirect", "call", c.id, "code", code, "to", target.String())
	default:
		return nil
	}
	u.mu.Lock()
	c.invite = next
	c.provision = false
	u.mu.Unlock()
	tx, err := u.request(context.Background(), next)
	if err != nil {
		u.log.Warn("resend INVITE", "call", c.id, "error", err)
		return nil
	}
	return tx
}

// redirectTarget picks the Contact of a 3xx with the highest q that was not
// tried yet (RFC 3261 §8.1.3.4, §20.10).
func redirectTarget(res *gosip.Response, visited map[string]bool) (gosip.Uri, bool) {
	var best gosip.Uri
	bestQ, found := -1.0, false
	var values []string
	for _, h := range res.GetHeaders("Contact") {
		values = append(values, splitComma(h.Value())...)
	}
	for _, v := range values {
		var uri gosip.Uri
		params := gosip.NewParams()
		if _, err := gosip.ParseAddressValue(v, &uri, &params); err != nil {
			continue
		}
		if uri.Scheme != "sip" || uri.Host == "" || visited[uri.Addr()] {
			continue
		}
		q := 1.0
		if v, ok := params.Get("q"); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ, found = uri, q, true
		}
	}
	return best, found
}

// maybeCancel sends CANCEL if the user hung up and a provisional response
// has arrived (RFC 3261 §9.1: not before).
func (u *UA) maybeCancel(c *call) {
	u.mu.Lock()
	send := c.hangupReq && c.provision && !c.cancelSent && c.state == stCalling
	if send {
		c.cancelSent = true
	}
	u.mu.Unlock()
	if send {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			u.sendCancel(c)
		}()
	}
}

// sendCancel builds CANCEL per RFC 3261 §9.1: same Request-URI, Call-ID,
// To, From, CSeq number and the single top Via (same branch) as the INVITE.
func (u *UA) sendCancel(c *call) {
	inv := c.invite
	req := gosip.NewRequest(gosip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(gosip.HeaderClone(inv.Via()))
	for _, h := range inv.GetHeaders("Route") {
		req.AppendHeader(gosip.HeaderClone(h))
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(gosip.HeaderClone(inv.From()))
	req.AppendHeader(gosip.HeaderClone(inv.To()))
	req.AppendHeader(gosip.HeaderClone(inv.CallID()))
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: gosip.CANCEL})
	u.addCommon(req)
	req.SetBody(nil)
	req.SetDestination(inv.Destination()) // where the INVITE went (RFC 3261 §9.1)
	res, err := u.do(req)
	u.log.Info("CANCEL done", "call", c.id, "code", res, "error", err)
}

// do runs a non-INVITE client transaction to its final response and returns
// the status code.
func (u *UA) do(req *gosip.Request) (int, error) {
	tx, err := u.request(context.Background(), req)
	if err != nil {
		return 0, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res.StatusCode, nil
		case <-tx.Done():
			return 0, tx.Err()
		}
	}
}

// onAnswer handles the 2xx to our INVITE: ACK it (RFC 3261 §13.2.2.4), then
// either report Answered or, if we hung up meanwhile (200 crossed our
// CANCEL) or the answer is unusable, BYE it (§15).
func (u *UA) onAnswer(c *call, tx gosip.ClientTransaction, res *gosip.Response) {
	log := u.log.With("call", c.id)
	u.mu.Lock()
	if tag, ok := res.To().Params.Get("tag"); ok {
		c.remote.Tag = tag
	}
	c.remote.DisplayName = res.To().DisplayName
	// RFC 3261 §12.1.2: the remote target is the Contact of the 2xx.
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	}
	// RFC 3261 §12.1.2: the route set is the 2xx's Record-Route, reversed.
	c.routeSet = recordRoute(res.GetHeaders("Record-Route"), true)
	c.flow = u.flowOf(res.Transport(), res.Source())
	ack := u.inDialog(&c.dialog, gosip.ACK, c.invite.CSeq().SeqNo)
	c.ack = ack
	hung := c.hangupReq
	dialogTag := c.remote.Tag
	u.mu.Unlock()

	u.sendAck(ack)
	// 2xx retransmissions (lost ACK) are ACKed again (§13.2.2.4); a 2xx
	// of another fork (another To tag) gets its own ACK and a BYE, once.
	tx.OnRetransmission(func(r *gosip.Response) {
		if !r.IsSuccess() {
			return
		}
		if tag, _ := r.To().Params.Get("tag"); tag != dialogTag {
			u.onStrayResponse(r)
			return
		}
		u.sendAck(ack)
	})

	if hung {
		log.Info("200 OK crossed our CANCEL: ACK and BYE")
		u.byeThen(c, Failed{ID: c.id, Code: 487, Reason: "Request Terminated (answered after CANCEL; ACKed and BYEd)"})
		return
	}
	var neg sdp.Negotiated
	s, err := sdp.Parse(res.Body())
	if err == nil {
		neg, err = sdp.Accept(s, c.media)
	}
	if err != nil {
		log.Warn("unusable SDP answer: ACK and BYE", "error", err)
		u.byeThen(c, Failed{ID: c.id, Code: 488, Reason: "Not Acceptable Here: " + err.Error()})
		return
	}
	u.mu.Lock()
	if c.state == stCalling {
		c.state = stConfirmed
	}
	u.emitLocked(c, Answered{ID: c.id, Media: neg})
	u.mu.Unlock()
	log.Info("call answered", "remote", neg.Remote, "codec", neg.Codec)
}

func (u *UA) sendAck(ack *gosip.Request) {
	a := ack.Clone()
	if err := u.write(a); err != nil {
		u.log.Warn("send ACK", "error", err)
	}
}

// byeThen sends BYE on c's dialog, waits for its final response, then ends
// the call with ev.
func (u *UA) byeThen(c *call, ev Event) {
	u.mu.Lock()
	c.state = stTerminating
	bye := u.nextInDialog(&c.dialog, gosip.BYE)
	u.mu.Unlock()
	code, err := u.do(bye)
	u.log.Info("BYE done", "call", c.id, "code", code, "error", err)
	u.finish(c, ev)
}

// Hangup ends a call: BYE when confirmed, CANCEL when our INVITE is not yet
// answered (sent once a provisional response has arrived, RFC 3261 §9.1),
// 603 Decline for an incoming call not yet answered. The terminal event
// follows: Ended{Remote:false} after BYE/603, Failed (usually 487) when the
// INVITE transaction ends after CANCEL.
func (u *UA) Hangup(id CallID) error {
	u.mu.Lock()
	c := u.calls[id]
	if c == nil {
		u.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownCall, id)
	}
	switch c.state {
	case stCalling:
		c.hangupReq = true
		u.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return nil
	case stIncoming:
		u.mu.Unlock()
		return u.reject(c, 603, "Decline", "declined")
	case stAnswered:
		c.state = stTerminating
		u.mu.Unlock()
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			// RFC 3261 §15: the callee MUST NOT send BYE before the ACK
			// arrives or the server transaction times out.
			select {
			case <-c.acked:
			case <-c.stx.Done():
			case <-c.done:
				return
			}
			u.byeThen(c, Ended{ID: c.id, Reason: "local hangup"})
		}()
		return nil
	case stConfirmed:
		c.state = stTerminating
		u.mu.Unlock()
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			u.byeThen(c, Ended{ID: c.id, Reason: "local hangup"})
		}()
		return nil
	default: // stTerminating
		u.mu.Unlock()
		return nil
	}
}
