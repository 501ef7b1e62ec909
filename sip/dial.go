package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// ErrUnreachable is an outgoing request with no next hop that could be
// resolved or reached.
var ErrUnreachable = errors.New("sip: no next hop reachable")

// hop is one place an out-of-dialog request can go next: the address it
// is sent to and, when it goes through a proxy or registrar, the
// preloaded Route (RFC 3261 §8.1.2) naming it.
type hop struct {
	route *gosip.Uri // nil: straight to the Request-URI's host
	addr  netip.AddrPort
	name  string // what was resolved, for reasons and logs
}

// nextHops lists, in order, where an out-of-dialog request for ruri goes
// (RFC 3263 §4.3: try each in turn). One selector serves INVITE and
// REGISTER alike:
//   - with an outbound proxy configured, through it;
//   - else, while registration runs and the Request-URI's host is the
//     account's domain, through the registrar in
//     use (the address we are registered at first), then the other
//     registrars in their order: calls follow registration through
//     fail-over and fail-back;
//   - else straight to the Request-URI's host.
//
// A name that does not resolve is skipped like a server that does not
// answer; the error names the hosts that failed when none is left.
func (u *UA) nextHops(ctx context.Context, ruri gosip.Uri) ([]hop, error) {
	type cand struct {
		route *gosip.Uri
		uri   gosip.Uri
		first netip.AddrPort // an address known good, tried first
	}
	var cands []cand
	u.mu.Lock()
	proxy, reg := u.proxy, u.reg
	u.mu.Unlock()
	switch {
	case proxy != nil:
		cands = append(cands, cand{route: proxy, uri: *proxy})
	case reg != nil && reg.serves(ruri.Host, u.cfg.Domain):
		idx, at := reg.inUse()
		order := make([]int, 0, len(reg.targets))
		if idx >= 0 {
			order = append(order, idx)
		}
		for i := range reg.targets {
			if i != idx {
				order = append(order, i)
			}
		}
		for _, i := range order {
			r := lrRoute(reg.targets[i].uri)
			c := cand{route: &r, uri: reg.targets[i].uri}
			if i == idx {
				c.first = at
			}
			cands = append(cands, c)
		}
	default:
		cands = append(cands, cand{uri: ruri})
	}
	proto := "udp"
	if u.tcp {
		proto = "tcp"
	}
	var hops []hop
	var failed []string
	seen := map[netip.AddrPort]bool{}
	for _, c := range cands {
		name := hostPort(c.uri)
		if c.first.IsValid() {
			hops = append(hops, hop{route: c.route, addr: c.first, name: name})
			seen[c.first] = true
		}
		addrs, err := resolveTargets(ctx, u.resolver(), proto, c.uri.Host, c.uri.Port, u.addr.Addr().Is4())
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failed = append(failed, name)
			continue
		}
		for _, a := range addrs {
			if !seen[a] {
				seen[a] = true
				hops = append(hops, hop{route: c.route, addr: a, name: name})
			}
		}
	}
	if len(hops) == 0 {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: resolving %s: %w", ErrUnreachable, hostPort(cands[0].uri), ctx.Err())
		}
		return nil, fmt.Errorf("%w: cannot resolve %s", ErrUnreachable, strings.Join(failed, ", "))
	}
	return hops, nil
}

// serves reports whether calls to host go through the registrar: host is
// the account's domain.
func (r *registrar) serves(host, domain string) bool {
	return strings.EqualFold(strings.Trim(host, "[]"), domain)
}

// lrRoute is uri as a loose-routing Route (RFC 3261 §16.12).
func lrRoute(uri gosip.Uri) gosip.Uri {
	r := gosip.Uri{Scheme: "sip", Host: uri.Host, Port: uri.Port, UriParams: gosip.NewParams()}
	r.UriParams.Add("lr", "")
	return r
}

func hostPort(uri gosip.Uri) string {
	if uri.Port == 0 {
		return uri.Host
	}
	return net.JoinHostPort(uri.Host, fmt.Sprint(uri.Port))
}

// resolver is the DNS the UA uses: Config.Resolver, else Go's.
func (u *UA) resolver() resolver {
	if u.cfg.Resolver != nil {
		return u.cfg.Resolver
	}
	return net.DefaultResolver
}

// dialDeadline bounds finding the next hop and sending the INVITE: Timer
// B with the default T1 (64*500 ms, RFC 3261 §17.1.1.2). Fixed, not
// 64*T1, so tests that shorten T1 do not shorten DNS waits.
const dialDeadline = 32 * time.Second

// placeCall finds the next hop and sends c's INVITE, off the caller's
// goroutine: DialWith has returned already. The attempt is bounded by
// dialDeadline; a hang-up meanwhile ends it.
// Failure is the call's Failed event: 503 with the reason (e.g. "cannot
// resolve pbx.example"). Owns one count of u.wg.
func (u *UA) placeCall(c *call, o DialOptions) {
	ctx, cancel := context.WithTimeout(context.Background(), dialDeadline)
	defer cancel()
	// A hang-up during the lookup ends it. The watcher is stopped before
	// the INVITE goes, so a later hang-up's wake is left to runUAC.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-c.wake:
			cancel()
		case <-stop:
		}
	}()
	hops, err := u.nextHops(ctx, c.remoteTarget)
	close(stop)
	<-stopped

	fail := func(code int, reason string) {
		u.log.Info("call failed before the INVITE left", "call", c.id, "code", code, "reason", reason)
		u.finish(c, Failed{ID: c.id, Code: code, Reason: reason})
		u.wg.Done()
	}
	u.mu.Lock()
	hung := c.hangupReq
	u.mu.Unlock()
	if hung {
		fail(487, "Request Terminated (hung up before the INVITE was sent)")
		return
	}
	if err != nil {
		fail(503, strings.TrimPrefix(err.Error(), "sip: "))
		return
	}
	var errs []error
	for _, h := range hops {
		req := u.buildInvite(c, h, o)
		u.mu.Lock()
		c.invite = req
		u.mu.Unlock()
		tx, err := u.request(ctx, req)
		if err != nil {
			// RFC 3263 §4.3: a transport error moves on to the next address.
			u.log.Warn("INVITE not sent; trying the next hop", "call", c.id, "hop", h.addr, "error", err)
			errs = append(errs, fmt.Errorf("%s (%s): %w", h.name, h.addr, tlsError("peer", err)))
			continue
		}
		u.log.Info("INVITE sent", "call", c.id, "target", c.remoteTarget.String(), "via", h.name, "addr", h.addr)
		u.runUAC(c, tx) // releases the wg count
		return
	}
	fail(503, fmt.Sprintf("cannot send INVITE: %v", errors.Join(errs...)))
}

// buildInvite is c's initial INVITE towards h (RFC 3261 §8.1.1: every
// header explicit, so nothing defaults to sipgo@localhost).
func (u *UA) buildInvite(c *call, h hop, o DialOptions) *gosip.Request {
	host := u.contactHost(h.addr.Addr().String())
	u.mu.Lock()
	defer u.mu.Unlock()
	c.host = host
	if h.route != nil {
		c.routeSet = []gosip.Uri{*h.route} // preloaded, initial request only
	}
	req := u.inDialog(&c.dialog, gosip.INVITE, c.localSeq)
	c.routeSet = nil // the dialog's route set comes from Record-Route
	req.SetDestination(h.addr.String())
	req.AppendHeader(u.contact(host))
	req.AppendHeader(gosip.NewHeader("Allow", allowed))
	req.AppendHeader(gosip.NewHeader("Supported", supportedTags))
	if o.ReferredBy != "" {
		req.AppendHeader(gosip.NewHeader("Referred-By", o.ReferredBy)) // RFC 3892 §3
	}
	if o.Replaces != "" {
		req.AppendHeader(gosip.NewHeader("Replaces", o.Replaces)) // RFC 3891 §3
	}
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.offerBody)
	return req
}
