package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
)

// The keep-alive's decisions: the first miss reports "unconfirmed", the
// probes then come faster (1, 2, 4, 4 s, never slower than the interval),
// the first answer after silence re-registers, and a registrar that no
// longer knows us (404) gets a REGISTER at once.
func TestAliveState(t *testing.T) {
	a := aliveState{every: 30 * time.Second}
	step := func(res probeResult, wantWait time.Duration, wantAct aliveAction) {
		t.Helper()
		if d, act := a.next(res); d != wantWait || act != wantAct {
			t.Fatalf("after %d: wait %v action %d, want %v %d", res, d, act, wantWait, wantAct)
		}
	}
	step(probeAnswered, 30*time.Second, aliveNone)
	step(probeMissed, time.Second, aliveUnconfirmed)
	step(probeMissed, 2*time.Second, aliveNone)
	step(probeMissed, 4*time.Second, aliveNone)
	step(probeMissed, 4*time.Second, aliveNone)
	step(probeAnswered, 30*time.Second, aliveReregister)
	step(probeAnswered, 30*time.Second, aliveNone)
	step(probeNoBinding, 30*time.Second, aliveReregister)
	step(probeMissed, time.Second, aliveUnconfirmed)
	step(probeNoBinding, 30*time.Second, aliveReregister)
	step(probeMissed, time.Second, aliveUnconfirmed) // silence again: reported again

	short := aliveState{every: 3 * time.Second}
	short.next(probeMissed)
	short.next(probeMissed)
	if d, _ := short.next(probeMissed); d != 3*time.Second {
		t.Fatalf("fast probe every %v, want at most the interval (3s)", d)
	}
}

func TestClassifyProbe(t *testing.T) {
	for code, want := range map[int]probeResult{200: probeAnswered, 401: probeAnswered, 405: probeAnswered,
		503: probeAnswered, 404: probeNoBinding, 480: probeNoBinding, 410: probeNoBinding, 408: probeNoBinding} {
		if got := classify(&gosip.Response{StatusCode: code}, nil); got != want {
			t.Errorf("%d: %d, want %d", code, got, want)
		}
	}
	if classify(nil, errTest) != probeMissed {
		t.Error("an error is not a miss")
	}
}

var errTest = gosip.ErrTransactionTimeout

// registeredAlive registers p with reg (keep-alive every 30 s) and returns
// once the refresh and the keep-alive are waiting on the clock.
func registeredAlive(t *testing.T, clk *clock.Fake, reg registrarPeer) *phone {
	t.Helper()
	p := regPhone(t, clk, RegConfig{Registrars: []string{reg.uri()}, KeepAlive: 30 * time.Second})
	m, _ := reg.next()
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
	waitTimer(t, clk, 2) // the refresh and the keep-alive
	return p
}

// nextProbe reads the next keep-alive OPTIONS with a CSeq above after.
func nextProbe(reg registrarPeer, after uint32) (rawMsg, *gosip.Request) {
	reg.t.Helper()
	m := reg.read("keep-alive OPTIONS", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Request)
		return ok && r.Method == gosip.OPTIONS && r.CSeq().SeqNo > after
	})
	return m, m.msg.(*gosip.Request)
}

// The keep-alive is an OPTIONS to our own AOR through the registrar, from
// the SIP port (so it keeps a NAT binding open, RFC 5626 §3.5.1); a 404
// (the registrar restarted and lost our binding between two probes) makes
// the phone register again at once, without waiting for the refresh.
func TestKeepAliveLostBinding(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := registeredAlive(t, clk, reg)
	clk.Advance(30 * time.Second)
	m, req := nextProbe(reg, 0)
	if req.Recipient.User != "1001" || req.Recipient.Host != "example.test" || m.from.Port != int(p.Addr().Port()) {
		t.Fatalf("keep-alive to %s from %v, want sip:1001@example.test from the SIP port", req.Recipient.String(), m.from)
	}
	reg.answer(m, 404, "Not Found", nil)
	m, _ = reg.next() // no clock advance: the 404 kicks the registration
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
}

// advanceToNext advances the fake clock by step until a message reaches
// the registrar (the keep-alive's next sleep may start after an Advance:
// the probe's own timer counts as pending until it returns) and returns
// it, failing when nothing comes in ten steps.
func advanceToNext(t *testing.T, clk *clock.Fake, reg registrarPeer, step time.Duration) rawMsg {
	t.Helper()
	buf := make([]byte, 65535)
	for i := 0; i < 10; i++ {
		reg.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, from, err := reg.conn.ReadFromUDP(buf)
		if err != nil {
			clk.Advance(step)
			continue
		}
		m, err := reg.p.ParseSIP(buf[:n])
		if err != nil {
			t.Fatalf("unparsable: %v\n%s", err, buf[:n])
		}
		return rawMsg{msg: m, raw: string(buf[:n]), from: from}
	}
	t.Fatalf("nothing reached the registrar in 10 steps of %v", step)
	return rawMsg{}
}

// A registrar that answers OPTIONS to our AOR with 404 although we just
// registered (a PBX that looks the AOR up in its dial plan rather than its
// location service) does not make the phone register every interval: the
// probe that verifies the re-registration gets 404 again, so 404 is taken
// as a plain answer from then on, and the next message the registrar sees
// is the next probe, not a REGISTER.
func TestKeepAlive404WhileRegistered(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := registeredAlive(t, clk, reg)
	clk.Advance(30 * time.Second)
	m, _ := nextProbe(reg, 0)
	reg.answer(m, 404, "Not Found", nil)
	m, _ = reg.next() // the 404 kicks the registration
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
	m = advanceToNext(t, clk, reg, probeFast) // the verification probe
	if r, ok := m.msg.(*gosip.Request); !ok || r.Method != gosip.OPTIONS {
		t.Fatalf("want the verification probe, got:\n%s", m.raw)
	}
	req := m.msg.(*gosip.Request)
	reg.answer(m, 404, "Not Found", nil) // still: this registrar answers so
	next := advanceToNext(t, clk, reg, 30*time.Second)
	if r, ok := next.msg.(*gosip.Request); !ok || r.Method != gosip.OPTIONS || r.CSeq().SeqNo <= req.CSeq().SeqNo {
		t.Fatalf("after a second 404 the registrar got, first:\n%s\nwant the next keep-alive OPTIONS", next.raw)
	}
}

// A registrar whose probe after the 404's re-registration is answered 200
// routes the probes to us: a later 404 (it restarted between two probes)
// is trusted and registers again at once, however soon after the first.
func TestKeepAliveVerifiedRoutes(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := registeredAlive(t, clk, reg)
	clk.Advance(30 * time.Second)
	m, req := nextProbe(reg, 0)
	reg.answer(m, 404, "Not Found", nil)
	m, _ = reg.next()
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
	v := advanceToNext(t, clk, reg, probeFast) // the verification probe, a second or so later
	if r, ok := v.msg.(*gosip.Request); !ok || r.Method != gosip.OPTIONS || r.CSeq().SeqNo <= req.CSeq().SeqNo {
		t.Fatalf("want the verification probe, got:\n%s", v.raw)
	}
	reg.answer(v, 200, "OK", nil)
	req = v.msg.(*gosip.Request)
	m = advanceToNext(t, clk, reg, 30*time.Second)
	if r, ok := m.msg.(*gosip.Request); !ok || r.Method != gosip.OPTIONS || r.CSeq().SeqNo <= req.CSeq().SeqNo {
		t.Fatalf("want the next probe, got:\n%s", m.raw)
	}
	reg.answer(m, 404, "Not Found", nil) // restarted: the binding is gone
	m, _ = reg.next()                    // registered again at once
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
}

// A keep-alive nobody answers makes the registration "unconfirmed"; the
// next probe comes a second later, and its answer re-registers at once
// (the registrar is back, maybe without our binding).
func TestKeepAliveUnconfirmedThenBack(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := registeredAlive(t, clk, reg)
	clk.Advance(30 * time.Second)
	_, first := nextProbe(reg, 0) // left unanswered
	waitTimer(t, clk, 2)          // the refresh and the probe's timeout
	clk.Advance(probeTimeout)
	if r := nextReg(t, p, RegUnconfirmed); !strings.Contains(r.Reason, "did not answer the keep-alive within 4s") {
		t.Fatalf("unconfirmed, reason %q, want the keep-alive's timeout", r.Reason)
	}
	waitTimer(t, clk, 2) // the refresh and the fast probe
	clk.Advance(probeFast)
	m, _ := nextProbe(reg, first.CSeq().SeqNo)
	reg.answer(m, 200, "OK", nil)
	m, _ = reg.next()
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
}

// While registration has failed (here a refresh refused with 403, backing
// off for 15 s or more), the keep-alive probes the registrar last used at
// once and then faster; its first answer after silence ends the back-off:
// a REGISTER goes out at once.
func TestKeepAliveEndsBackoff(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := regPhone(t, clk, RegConfig{Registrars: []string{reg.uri()}, KeepAlive: 30 * time.Second})
	m, _ := reg.next()
	reg.answer(m, 200, "OK", func(res *gosip.Response) { res.AppendHeader(gosip.NewHeader("Expires", "20")) })
	nextReg(t, p, RegRegistered)
	waitTimer(t, clk, 2)          // the refresh (at 18 s) and the keep-alive (at 30 s)
	clk.Advance(18 * time.Second) // the refresh
	m, _ = reg.next()
	reg.answer(m, 403, "Forbidden", nil)
	nextReg(t, p, RegFailed)
	_, first := nextProbe(reg, 0) // at once, left unanswered
	waitTimer(t, clk, 2)          // the back-off and the probe's timeout
	clk.Advance(probeTimeout)
	waitTimer(t, clk, 2) // the back-off and the fast probe
	clk.Advance(probeFast)
	m, _ = nextProbe(reg, first.CSeq().SeqNo)
	reg.answer(m, 200, "OK", nil)
	m, _ = reg.next() // before the back-off's end
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
}

// The keep-alive as a registrar that holds our binding handles it: it
// forwards the OPTIONS to our Contact (its own Via on top, RFC 3261
// §16.6) and relays our answer. The phone, taking requests from the
// registrar only (Guard.ProxyOnly), answers its own probe 200, not 403
// nor 482 (a loop: our own Via is in it), and the relayed 200 counts as
// the registrar's answer: here the first after a silence, so the phone
// registers again at once.
func TestKeepAliveForwardedBack(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := newPhone(t, "1001", "Alice", func(c *Config) { c.Guard.ProxyOnly = true })
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.uri()}, KeepAlive: 30 * time.Second, Clock: clk,
		Credentials: Credentials{User: "1001", Password: "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	m, _ := reg.next()
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
	waitTimer(t, clk, 2)
	clk.Advance(30 * time.Second)
	_, first := nextProbe(reg, 0) // left unanswered
	waitTimer(t, clk, 2)
	clk.Advance(probeTimeout)
	nextReg(t, p, RegUnconfirmed)
	waitTimer(t, clk, 2)
	clk.Advance(probeFast)
	m, _ = nextProbe(reg, first.CSeq().SeqNo)

	// Forward it to the phone: our Via on top, Max-Forwards one less.
	via := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-fwd-1\r\n", reg.addr())
	lines := strings.SplitN(m.raw, "\r\n", 2)
	fwd := strings.Replace(lines[0]+"\r\n"+via+lines[1], "Max-Forwards: 70", "Max-Forwards: 69", 1)
	if _, err := reg.conn.WriteToUDPAddrPort([]byte(fwd), p.Addr()); err != nil {
		t.Fatal(err)
	}
	ans := reg.read("the phone's answer to its forwarded probe", func(m gosip.Message) bool {
		_, ok := m.(*gosip.Response)
		return ok
	})
	if code := ans.msg.(*gosip.Response).StatusCode; code != 200 {
		t.Fatalf("the phone answered its forwarded keep-alive %d, want 200:\n%s", code, ans.raw)
	}
	// Relay the answer: our Via off.
	relayed := strings.Replace(ans.raw, via, "", 1)
	if relayed == ans.raw {
		t.Fatalf("our Via not on top of the answer:\n%s", ans.raw)
	}
	if _, err := reg.conn.WriteToUDP([]byte(relayed), m.from); err != nil {
		t.Fatal(err)
	}
	m, _ = reg.next()
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
}
