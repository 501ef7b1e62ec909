package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// The keep-alive expects an answer (issue 18, item 4). Every KeepAlive it
// sends an OPTIONS to our own address of record through the registrar
// (RFC 3261 §11, §16.5): a registrar that holds our binding forwards it
// back to us and relays our 200 (the lab's Kamailio looks the
// Request-URI up in usrloc); one that lost it (a restart without a
// database) answers 404 or 480 itself. So one small request per interval
// proves the registrar is up, that it still knows us, and that its path
// back to us (a NAT binding, a flow) works. The request also keeps a NAT
// binding open, as the CRLF pair of RFC 5626 §3.5.1 did.
//
// A probe unanswered within probeTimeout (a timeout, a transport error, a
// closed flow) makes the registration "unconfirmed" in the status; the
// next probes come faster (probeFast doubling to probeFastMax, never
// slower than KeepAlive), and the first answer after the silence
// re-registers at once: a registrar that restarted slowly is found within
// probeFastMax + probeTimeout of its return. One that restarted between
// two probes is found by the next probe's 404: within KeepAlive.
const (
	probeTimeout = 4 * time.Second // UDP retransmits at 0, 0.5, 1.5, 3.5 s (RFC 3261 §17.1.2.2)
	probeFast    = time.Second
	probeFastMax = 4 * time.Second
)

// ErrNoAnswer is why a keep-alive went unanswered within probeTimeout.
var ErrNoAnswer = errors.New("sip: registrar did not answer the keep-alive")

// probeResult is what one probe found.
type probeResult uint8

const (
	probeAnswered  probeResult = iota // an answer: the registrar is up, our binding there
	probeNoBinding                    // 404, 480, 410: up, but it does not know us
	probeMissed                       // no answer: timeout, transport error
)

// aliveAction is what the keep-alive does after a probe.
type aliveAction uint8

const (
	aliveNone        aliveAction = iota
	aliveUnconfirmed             // the first miss: report "unconfirmed"
	aliveReregister              // register again now
)

// aliveState decides, from the probes' results, when to probe next and
// whether to re-register. It does no I/O.
type aliveState struct {
	every  time.Duration // KeepAlive
	misses int           // probes missed in a row
}

// next takes a probe's result and returns the wait until the next probe
// and the action to take.
func (a *aliveState) next(res probeResult) (time.Duration, aliveAction) {
	switch res {
	case probeMissed:
		a.misses++
		act := aliveNone
		if a.misses == 1 {
			act = aliveUnconfirmed
		}
		d := probeFast
		for i := 1; i < a.misses && d < probeFastMax; i++ {
			d *= 2
		}
		return min(d, probeFastMax, a.every), act
	case probeNoBinding:
		a.misses = 0
		return a.every, aliveReregister
	}
	act := aliveNone
	if a.misses > 0 {
		act = aliveReregister // back after silence: it may have lost us
	}
	a.misses = 0
	return a.every, act
}

// classify turns a probe's outcome into a result: any answer but one
// saying nobody is registered under the AOR means the binding is there
// (or that the registrar answers OPTIONS itself, which tells no more).
func classify(res *gosip.Response, err error) probeResult {
	if err != nil || res == nil {
		return probeMissed
	}
	switch res.StatusCode {
	case 404, 410, 480: // RFC 3261 §21.4.5, §21.4.10, §21.4.18
		return probeNoBinding
	case 408:
		// Our own transaction's timeout is an error above; a 408 from the
		// registrar means it is up but we did not answer the forwarded
		// probe: the path back to us is broken, so register again.
		return probeNoBinding
	}
	return probeAnswered
}

// keepAlive probes the registrar every KeepAlive and acts on the answers
// (see aliveState). Each probe also checks whether the local address
// towards the registrar changed (a new DHCP lease, a different route), and
// re-registers at once if so. While registration has failed it probes the
// registrar last used, so its return ends the back-off at once.
func (r *registrar) keepAlive() {
	a := aliveState{every: r.cfg.KeepAlive}
	wait := a.every
	var seen uint32
	// A registrar that answers OPTIONS to our AOR itself (a PBX looking
	// it up in its dial plan) says 404 whether it holds our binding or
	// not. So after a 404 made us register again, the first probe after
	// that registration verifies: a 2xx proves the registrar routes the
	// probe to us (routes: its 404s are trusted from then on), another 404
	// that it does not (noRoute: its 404s count as plain answers, logged
	// once), so the phone never registers every interval.
	var verify, routes, noRoute bool
	var lostAt uint32
	verifyWaits := 0
	for r.sleepFor(wait) {
		r.mu.Lock()
		t, addr, ip, last, lastAddr, regs := r.activeT, r.active, r.localIP, r.lastT, r.last, r.regs
		r.mu.Unlock()
		if regs != seen {
			// Registered since the last probe: what went before is moot,
			// and a miss now is news again.
			seen, a.misses = regs, 0
		}
		if last < 0 {
			wait = a.every
			continue
		}
		if verify && regs == lostAt && t >= 0 && verifyWaits < 10 {
			verifyWaits++ // the re-registration is not through yet
			wait = probeFast
			continue
		}
		res, err := r.probe(r.targets[last], lastAddr)
		if r.ctx.Err() != nil {
			return
		}
		pr := classify(res, err)
		if t < 0 && pr == probeNoBinding {
			// Failed: of course it has no binding. Only its return after
			// silence is news; a refusal (403) must not loop.
			pr = probeAnswered
		}
		checking := verify && regs != lostAt && t >= 0
		verify = false
		switch {
		case res != nil && res.IsSuccess():
			routes, noRoute = true, false
		case pr == probeNoBinding && !routes && (noRoute || checking):
			if !noRoute {
				r.u.log.Info("registrar answers the keep-alive with 404 right after registering: it does not route requests to our address; lost bindings will be found at the next refresh", "code", res.StatusCode)
			}
			noRoute, pr = true, probeAnswered
		case pr == probeNoBinding && t >= 0:
			verify, lostAt, verifyWaits = true, regs, 0
		}
		var act aliveAction
		wait, act = a.next(pr)
		if verify {
			wait = probeFast // verify soon after the re-registration
		}
		switch {
		case act == aliveUnconfirmed && t >= 0:
			r.u.log.Warn("registrar did not answer the keep-alive: registration unconfirmed", "registrar", r.targets[t].text, "error", err)
			r.emit(Registration{State: RegUnconfirmed, Registrar: r.targets[t].text, Reason: errText(err)})
		case act == aliveReregister:
			why := "registrar answers again"
			if pr == probeNoBinding {
				why = "registrar lost our binding"
			}
			r.u.log.Info("keep-alive: re-registering", "why", why)
			r.kickNow()
		}
		if pr == probeMissed || t < 0 {
			continue
		}
		if now := localIPTowards(addr); now.IsValid() && ip.IsValid() && now != ip {
			r.u.log.Info("local address changed: re-registering", "was", ip, "now", now)
			r.kickNow()
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// kickNow ends the registration loop's wait: it registers at once.
func (r *registrar) kickNow() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// probe sends one OPTIONS to our address of record through the registrar
// at addr and returns its final response.
func (r *registrar) probe(t regTarget, addr netip.AddrPort) (*gosip.Response, error) {
	if err := r.u.flowTo(r.ctx, t, addr); err != nil {
		return nil, err // TLS: no flow and none to be had
	}
	req := r.request(t, addr, 0)
	req.Method = gosip.OPTIONS
	req.Recipient = gosip.Uri{Scheme: "sip", User: r.u.cfg.User, Host: r.u.cfg.Domain}
	if req.Recipient.Host == "" {
		req.Recipient.Host = t.uri.Host
	}
	req.CSeq().MethodName = gosip.OPTIONS
	req.RemoveHeader("Expires")
	req.RemoveHeader("Contact")
	req.RemoveHeader("Call-ID")
	cid := gosip.CallIDHeader(r.callID + "-ka")
	req.AppendHeader(&cid)
	// The timeout runs on the injected clock, so tests can drive it.
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	limit := min(probeTimeout, r.cfg.KeepAlive)
	tm := r.cfg.Clock.AfterFunc(limit, cancel)
	defer tm.Stop()
	res, err := r.u.roundTrip(ctx, req, addr)
	if err != nil && ctx.Err() != nil && r.ctx.Err() == nil {
		err = fmt.Errorf("%w within %v", ErrNoAnswer, limit)
	}
	return res, err
}

// sleepFor waits d on the clock, or until a failed registration asks
// for a probe; false when stopping.
func (r *registrar) sleepFor(d time.Duration) bool {
	fired := make(chan struct{})
	t := r.cfg.Clock.AfterFunc(d, func() { close(fired) })
	defer t.Stop()
	select {
	case <-fired:
		return true
	case <-r.probeMe:
		return true
	case <-r.stop:
		return false
	}
}
