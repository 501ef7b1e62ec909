package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
)

// ErrRegistering is returned by StartRegistration when it is already running.
var ErrRegistering = errors.New("sip: registration already running")

// RegConfig configures registration (RFC 3261 §10).
type RegConfig struct {
	// Registrars in order of preference, primary first: sip: URIs or
	// host[:port]. A name without a port is resolved with SRV (RFC 3263).
	Registrars  []string
	Credentials Credentials
	// Expires is the registration interval asked for; default 3600 s.
	Expires time.Duration
	// RetryMin and RetryMax bound the back-off after a failure: RetryMin
	// doubling up to RetryMax, each wait drawn between half and all of it
	// (RFC 5626 §4.5). Defaults 30 s and 30 min.
	RetryMin, RetryMax time.Duration
	// KeepAlive is the interval of the keep-alive that expects an answer
	// (alive.go: an OPTIONS to our AOR through the registrar, which also
	// keeps a NAT binding open); 0 turns it off. Each keep-alive also
	// checks whether the local address changed, and re-registers if so.
	KeepAlive time.Duration
	Clock     clock.Clock
	Resolver  resolver // default Config.Resolver of the UA, else Go's
}

// RegState is where registration stands.
type RegState string

const (
	RegRegistering RegState = "registering"
	RegRegistered  RegState = "registered"
	// RegUnconfirmed: registered, but the registrar did not answer the
	// last keep-alive (alive.go): it may have restarted and lost us.
	RegUnconfirmed  RegState = "unconfirmed"
	RegFailed       RegState = "failed"
	RegUnregistered RegState = "unregistered"
)

// Registration reports a change of registration status. It belongs to no
// call: CallID is "".
type Registration struct {
	State     RegState
	Registrar string        // the registrar in use, or last tried
	Code      int           // last final response code; 0 for none (timeout)
	Reason    string        // last reason phrase or error
	Expires   time.Duration // granted interval, when registered
	RetryIn   time.Duration // when failed: until the next attempt
}

func (Registration) CallID() CallID { return "" }

type regTarget struct {
	text string
	uri  gosip.Uri
}

// registrar keeps the UA registered. One goroutine runs it.
type registrar struct {
	u       *UA
	cfg     RegConfig
	targets []regTarget
	callID  string
	stop    chan struct{}
	kick    chan struct{}
	probeMe chan struct{} // a failure asks the keep-alive to probe now
	// ctx ends when stopping, so a lookup in progress does not hold up
	// Close.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	cseq     uint32
	expires  time.Duration  // asked for; raised by 423 Min-Expires
	contact  netip.AddrPort // Contact host:port: local, or as seen by the registrar (RFC 3581)
	active   netip.AddrPort // resolved registrar address we are registered at
	activeT  int            // index into targets of active; -1 = none
	localIP  netip.Addr     // local address towards active, to detect changes
	failures int
	lastT    int            // index of the registrar last registered at; -1 = none yet
	last     netip.AddrPort // its address: the keep-alive probes it while failed
	regs     uint32         // registrations so far: a new one resets the keep-alive's misses
}

// StartRegistration starts keeping the UA registered with cfg; Close
// unregisters. Status comes as Registration events.
func (u *UA) StartRegistration(cfg RegConfig) error {
	if len(cfg.Registrars) == 0 {
		return fmt.Errorf("sip: registration: no registrar")
	}
	if cfg.Expires <= 0 {
		cfg.Expires = time.Hour
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 30 * time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(30*time.Minute, cfg.RetryMin)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Resolver == nil {
		cfg.Resolver = u.resolver()
	}
	r := &registrar{
		u: u, cfg: cfg, callID: newCallID(),
		stop: make(chan struct{}), kick: make(chan struct{}, 1), probeMe: make(chan struct{}, 1), done: make(chan struct{}),
		cseq: 1 + rand.Uint32N(1<<15), expires: cfg.Expires, contact: u.addr, activeT: -1, lastT: -1,
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, s := range cfg.Registrars {
		t, err := parseTarget(s)
		if err != nil {
			return fmt.Errorf("sip: registrar %q: %w", s, err)
		}
		if t.Scheme == "sips" && u.tls == nil {
			// RFC 3261 §26.2.2: sips: means TLS on every hop; never less.
			return fmt.Errorf("sip: registrar %q: %w: a sips: registrar needs transport tls", s, ErrBadTarget)
		}
		r.targets = append(r.targets, regTarget{text: s, uri: t})
	}
	u.mu.Lock()
	if u.reg != nil || u.closed {
		u.mu.Unlock()
		return ErrRegistering
	}
	u.reg = r
	u.mu.Unlock()
	go r.run()
	if cfg.KeepAlive > 0 {
		go r.keepAlive()
	}
	return nil
}

// parseTarget accepts "sip:host[:port]", "sips:host[:port]" (RFC 3261
// §19.1: TLS), "host[:port]" or "[v6]:port".
func parseTarget(s string) (gosip.Uri, error) {
	var uri gosip.Uri
	if i := strings.IndexByte(s, ':'); i > 0 && (strings.EqualFold(s[:i], "sip") || strings.EqualFold(s[:i], "sips")) {
		s = strings.ToLower(s[:i]) + s[i:] // schemes are case-insensitive (RFC 3261 §19.1.4)
	}
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		s = "sip:" + s
	}
	if err := gosip.ParseUri(s, &uri); err != nil {
		return uri, fmt.Errorf("%w: %v", ErrBadTarget, err)
	}
	if (uri.Scheme != "sip" && uri.Scheme != "sips") || uri.Host == "" {
		return uri, fmt.Errorf("%w: want sip:host[:port]", ErrBadTarget)
	}
	uri.Host = strings.Trim(uri.Host, "[]")
	return uri, nil
}

func (r *registrar) emit(ev Registration) { r.u.events.push(ev) }

// run registers, refreshes before expiry, and backs off after failures.
func (r *registrar) run() {
	defer close(r.done)
	var wait time.Duration
	for {
		if !r.sleep(wait) {
			return
		}
		wait = r.cycle()
	}
}

// sleep waits d on the clock; false when stopping. A kick ends it early.
func (r *registrar) sleep(d time.Duration) bool {
	if d > 0 {
		fired := make(chan struct{})
		t := r.cfg.Clock.AfterFunc(d, func() { close(fired) })
		defer t.Stop()
		select {
		case <-fired:
		case <-r.kick:
		case <-r.stop:
			return false
		}
	}
	select {
	case <-r.stop:
		return false
	default:
		return true
	}
}

// cycle tries the registrars in order, primary first, so a phone on a
// backup fails back as soon as the primary answers again. It returns how
// long to wait before the next cycle.
func (r *registrar) cycle() time.Duration {
	var last Registration
	for i, t := range r.targets {
		r.emit(Registration{State: RegRegistering, Registrar: t.text})
		proto := "udp"
		if r.u.tls != nil {
			proto = "tls"
		} else if r.u.tcp {
			proto = "tcp"
		}
		addrs, err := resolveTargets(r.ctx, r.cfg.Resolver, proto, t.uri.Host, t.uri.Port, r.u.addr.Addr().Is4())
		if err != nil {
			last = Registration{State: RegFailed, Registrar: t.text, Reason: err.Error()}
			continue
		}
		for _, addr := range addrs {
			res, granted, err := r.register(r.ctx, t, addr, r.currentExpires())
			if r.ctx.Err() != nil {
				return 0 // stopping: shutdown unregisters
			}
			switch {
			case err == nil && res.IsSuccess():
				return r.registered(i, t, addr, granted)
			case err != nil || res.StatusCode >= 500 || res.StatusCode == 408:
				// RFC 3263 §4.3: timeout or 5xx, try the next address.
				last = failure(t.text, res, err)
				r.u.log.Warn("registrar did not answer; failing over", "registrar", t.text, "addr", addr, "code", last.Code, "reason", last.Reason)
				continue
			default:
				// A definite refusal (403, 404, auth failure): back off.
				last = failure(t.text, res, err)
				return r.failed(last)
			}
		}
	}
	return r.failed(last)
}

// inUse is the index of the registrar we are registered at and its
// address; -1 when not registered.
func (r *registrar) inUse() (int, netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.activeT, r.active
}

func failure(reg string, res *gosip.Response, err error) Registration {
	f := Registration{State: RegFailed, Registrar: reg}
	if res != nil {
		f.Code, f.Reason = res.StatusCode, res.Reason
	}
	if err != nil {
		f.Reason = err.Error()
	}
	return f
}

func (r *registrar) currentExpires() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expires
}

func (r *registrar) registered(i int, t regTarget, addr netip.AddrPort, granted time.Duration) time.Duration {
	r.mu.Lock()
	prevT, prev := r.activeT, r.active
	r.activeT, r.active, r.failures = i, addr, 0
	r.lastT, r.last = i, addr
	r.regs++
	r.localIP = localIPTowards(addr)
	r.mu.Unlock()
	if prevT >= 0 && prev != addr {
		// Moved (fail-over or fail-back): drop the old binding, in the
		// background: a registrar we failed over from may not answer for
		// 32 s, and the status and new calls must not wait for it.
		r.u.wg.Add(1)
		go func() {
			defer r.u.wg.Done()
			r.unregisterAt(r.ctx, r.targets[prevT], prev)
		}()
	}
	r.emit(Registration{State: RegRegistered, Registrar: t.text, Code: 200, Reason: "OK", Expires: granted})
	r.u.log.Info("registered", "registrar", t.text, "addr", addr, "expires", granted)
	refresh := max(granted*9/10, time.Second)
	if i > 0 {
		// On a backup: look for the primary again soon.
		refresh = min(refresh, r.cfg.RetryMin)
	}
	return refresh
}

// failed reports f and returns the back-off: RetryMin doubling to RetryMax,
// drawn between half and all of it so a fleet does not retry in step
// (RFC 5626 §4.5).
func (r *registrar) failed(f Registration) time.Duration {
	r.mu.Lock()
	r.failures++
	n := r.failures
	r.activeT = -1
	r.mu.Unlock()
	select { // the keep-alive probes at once, and finds the registrar's return
	case r.probeMe <- struct{}{}:
	default:
	}
	d := r.cfg.RetryMin
	for i := 1; i < n && d < r.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.cfg.RetryMax)
	d = d/2 + rand.N(d/2+1)
	f.State, f.RetryIn = RegFailed, d
	r.emit(f)
	r.u.log.Warn("registration failed", "registrar", f.Registrar, "code", f.Code, "reason", f.Reason, "retry_in", d)
	return d
}

// register sends one REGISTER (answering one digest challenge, or two if
// the first nonce was stale) and returns the final response and the
// granted interval.
// Every transaction ends when ctx does.
func (r *registrar) register(ctx context.Context, t regTarget, addr netip.AddrPort, expires time.Duration) (*gosip.Response, time.Duration, error) {
	for attempt := 0; attempt < 3; attempt++ {
		if err := r.u.flowTo(ctx, t, addr); err != nil {
			return nil, 0, err
		}
		req := r.request(t, addr, expires)
		res, err := r.u.roundTrip(ctx, req, addr)
		if err != nil {
			return nil, 0, err
		}
		for auth := 0; (res.StatusCode == 401 || res.StatusCode == 407) && auth < 2; auth++ {
			if auth == 1 && !staleNonce(res) {
				break // our credentials were refused
			}
			req, err = authorize(req, res, r.cfg.Credentials, r.u.realm)
			if err != nil {
				return res, 0, err
			}
			if res, err = r.u.roundTrip(ctx, req, addr); err != nil {
				return nil, 0, err
			}
		}
		r.bumpCSeq(req)
		switch {
		case res.StatusCode == 423: // RFC 3261 §10.2.8: Interval Too Brief
			if h := res.GetHeader("Min-Expires"); h != nil {
				if s, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && s > 0 {
					r.mu.Lock()
					r.expires = time.Duration(s) * time.Second
					r.mu.Unlock()
					expires = r.expires
					continue
				}
			}
			return res, 0, nil
		case res.IsSuccess():
			// RFC 3581 §4: the registrar saw us at received:rport. If that
			// is not our Contact, we are behind a NAT: register the
			// address it sees instead, so calls can reach us. Over TCP
			// rport is the connection's own port, not a NAT binding (a
			// REGISTER too big for UDP goes over TCP, size.go).
			if seen, ok := seenAt(res); ok && !r.u.tcp && !strings.EqualFold(res.Transport(), "TCP") && seen != r.contactAddr() && expires > 0 {
				r.u.log.Info("registrar sees another address: NAT; re-registering with it", "local", r.contactAddr(), "seen", seen)
				r.mu.Lock()
				r.contact = seen
				r.mu.Unlock()
				r.u.setPublic(seen)
				continue
			}
			return res, grantedExpires(res, r.contactAddr(), r.u.cfg.User, expires), nil
		}
		return res, 0, nil
	}
	return nil, 0, fmt.Errorf("sip: REGISTER: too many retries")
}

func (r *registrar) contactAddr() netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.contact
}

func (r *registrar) bumpCSeq(sent *gosip.Request) {
	r.mu.Lock()
	if c := sent.CSeq(); c != nil && c.SeqNo >= r.cseq {
		r.cseq = c.SeqNo + 1
	}
	r.mu.Unlock()
}

// request builds a REGISTER (RFC 3261 §10.2): Request-URI the registrar,
// To and From our address of record, one Call-ID for the UA's life
// (§10.2.4), CSeq increasing.
func (r *registrar) request(t regTarget, addr netip.AddrPort, expires time.Duration) *gosip.Request {
	r.mu.Lock()
	seq := r.cseq
	r.cseq++
	contact := r.contact
	r.mu.Unlock()
	u := r.u
	ruri := gosip.Uri{Scheme: t.uri.Scheme, Host: t.uri.Host, Port: t.uri.Port}
	req := gosip.NewRequest(gosip.REGISTER, ruri)
	host := contact.Addr().String()
	if contact.Addr().IsUnspecified() {
		host = localIPTowards(addr).String()
	}
	req.AppendHeader(u.via(host))
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	aor := gosip.Uri{Scheme: "sip", User: u.cfg.User, Host: u.cfg.Domain}
	from := party{DisplayName: u.cfg.DisplayName, URI: aor, Tag: gosip.GenerateTagN(16)}
	req.AppendHeader(from.from())
	req.AppendHeader(party{DisplayName: u.cfg.DisplayName, URI: aor}.to())
	cid := gosip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: gosip.REGISTER})
	ct := &gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: u.cfg.User, Host: host, Port: int(contact.Port())}}
	if u.tcp {
		ct.Address.UriParams = gosip.NewParams()
		ct.Address.UriParams.Add("transport", u.contactTransport())
	}
	req.AppendHeader(ct)
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(gosip.NewHeader("Allow", allowed))
	u.addCommon(req)
	req.SetBody(nil)
	return req
}

// seenAt is the address the far end saw our request come from: the
// received and rport parameters of our Via in its response (RFC 3581 §4).
func seenAt(res *gosip.Response) (netip.AddrPort, bool) {
	via := res.Via()
	if via == nil {
		return netip.AddrPort{}, false
	}
	host, ok := via.Params.Get("received")
	if !ok {
		host = via.Host
	}
	port := via.Port
	if rp, ok := via.Params.Get("rport"); ok && rp != "" {
		if p, err := strconv.Atoi(rp); err == nil {
			port = p
		}
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil || port <= 0 || port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), true
}

// grantedExpires reads the interval the registrar granted our binding:
// the expires parameter of our Contact in the 2xx, else the Expires
// header, else what we asked for (RFC 3261 §10.2.4).
func grantedExpires(res *gosip.Response, contact netip.AddrPort, user string, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		var ct gosip.ContactHeader
		if _, err := gosip.ParseAddressValue(h.Value(), &ct.Address, &ct.Params); err != nil {
			continue
		}
		if ct.Address.User != user || ct.Address.Port != int(contact.Port()) {
			continue
		}
		if e, ok := ct.Params.Get("expires"); ok {
			if s, err := strconv.Atoi(e); err == nil && s >= 0 {
				return time.Duration(s) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if s, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
	}
	return asked
}

func staleNonce(res *gosip.Response) bool {
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			if strings.Contains(strings.ToLower(h.Value()), "stale=true") {
				return true
			}
		}
	}
	return false
}

// unregisterAt removes our binding from one registrar (Expires: 0),
// giving up when ctx ends.
func (r *registrar) unregisterAt(ctx context.Context, t regTarget, addr netip.AddrPort) {
	res, _, err := r.register(ctx, t, addr, 0)
	code := 0
	if res != nil {
		code = res.StatusCode
	}
	if err != nil && ctx.Err() != nil {
		r.u.log.Warn("gave up unregistering: no answer before the stop deadline", "registrar", t.text, "addr", addr, "error", err)
		return
	}
	r.u.log.Info("unregistered", "registrar", t.text, "code", code, "error", err)
}

// shutdown stops the loop, ending a REGISTER in flight at once, and
// unregisters (RFC 3261 §10.2.2) until ctx ends: a registrar that does not
// answer costs the rest of the stop deadline, not Timer F (64*T1, 32 s).
func (r *registrar) shutdown(ctx context.Context) {
	close(r.stop)
	r.cancel()
	<-r.done
	r.mu.Lock()
	t, addr := r.activeT, r.active
	r.mu.Unlock()
	if t >= 0 {
		r.unregisterAt(ctx, r.targets[t], addr)
	}
	r.emit(Registration{State: RegUnregistered})
}

// localIPTowards is the source address the kernel picks to reach dst (no
// packet is sent: connecting a UDP socket only routes).
func localIPTowards(dst netip.AddrPort) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// roundTrip sends a non-INVITE request to addr and returns its final
// response; when ctx ends first, the transaction ends with ctx's error.
func (u *UA) roundTrip(ctx context.Context, req *gosip.Request, addr netip.AddrPort) (*gosip.Response, error) {
	if u.tls != nil {
		return u.roundTripFlow(ctx, req, addr)
	}
	req.SetDestination(addr.String())
	tx, err := u.request(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	res, aborted, err := finalOf(tx, req, ctx.Done())
	if aborted {
		return nil, fmt.Errorf("sip: %s to %s: %w", req.Method, addr, ctx.Err())
	}
	return res, err
}
