package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"

	"github.com/deskphone/phoned/scripts/tier"
)

// testPhone is a whole phone minus the board: a real SIP UA on loopback,
// a real media engine on the null device, and the daemon loop.
type testPhone struct {
	t      *testing.T
	d      *Daemon
	ua     *sip.UA
	eng    *engine.Engine
	ringer *output.Memory
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newPhone starts a phone for user; the daemon's timers run on clk.
func newPhone(t *testing.T, user string, clk clock.Clock, cfg phone.Config) *testPhone {
	t.Helper()
	return newPhoneLog(t, user, clk, cfg, quietLogger().With("phone", user))
}

// newPhoneLog is newPhone whose daemon logs to log.
func newPhoneLog(t *testing.T, user string, clk clock.Clock, cfg phone.Config, log *slog.Logger) *testPhone {
	t.Helper()
	return newPhoneWith(t, user, clk, cfg, log, nil)
}

// newPhoneWith is newPhoneLog whose daemon drives wrap(ua) (nil: the UA).
func newPhoneWith(t *testing.T, user string, clk clock.Clock, cfg phone.Config, log *slog.Logger, wrap func(*sip.UA) userAgent) *testPhone {
	t.Helper()
	tier.Component(t, "two SIP stacks and media engines over loopback (the glue's unit tests are glue_test.go)")
	events := make(chan sip.Event, 64)
	ua, err := sip.New(sip.Config{
		Listen: netip.MustParseAddrPort("127.0.0.1:0"), User: user, Domain: "127.0.0.1",
		UserAgent: "phoned-test", Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA}, Logger: quietLogger(),
	}, func(ev sip.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	var calls userAgent = ua
	if wrap != nil {
		calls = wrap(ua)
	}
	eng := engine.New(device.NewNull(clock.Real{}), clock.Real{}, log)
	ctx, cancel := context.WithCancel(context.Background())
	ringer := &output.Memory{Name: "ringer"}
	d := New(Options{
		Machine: cfg, User: user, Domain: "127.0.0.1", Directory: map[string]string{},
		MediaIP: netip.MustParseAddr("127.0.0.1"), RTPMin: 20000, RTPMax: 30000,
		Codecs: []sdp.Codec{sdp.PCMU, sdp.PCMA}, DTMF: 101, Tones: tone.US,
		Clock: clk, Logger: log,
	}, Deps{Calls: calls, SIPEvents: events, Tones: eng, Media: eng, Ringer: output.Ringer{Line: ringer}})
	engDone, loopDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(engDone); eng.Run(ctx) }()
	go func() { defer close(loopDone); d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-loopDone
		ua.Close()
		<-engDone
	})
	return &testPhone{t: t, d: d, ua: ua, eng: eng, ringer: ringer}
}

// call adds a directory entry on p for number pointing at q.
func (p *testPhone) knows(number string, q *testPhone) {
	p.d.opts.Directory[number] = fmt.Sprintf("sip:%s@%s", number, q.ua.Addr())
}

// ring has a lift the handset and dial b (as 1002) until b rings.
func ring(a, b *testPhone) {
	a.t.Helper()
	a.knows("1002", b)
	a.post(phone.Hook{OffHook: true})
	a.post(keys("1002#")...)
	b.waitState("ringing")
}

// answer has b lift its handset until a talks.
func answer(a, b *testPhone) {
	a.t.Helper()
	b.post(phone.Hook{OffHook: true})
	a.waitState("talking")
}

func (p *testPhone) post(evs ...phone.Event) {
	p.t.Helper()
	for _, ev := range evs {
		if err := p.d.Post(ev); err != nil {
			p.t.Fatal(err)
		}
	}
}

func keys(s string) []phone.Event {
	var evs []phone.Event
	for i := 0; i < len(s); i++ {
		evs = append(evs, phone.Key{Key: s[i]})
	}
	return evs
}

// waitFor polls the status until ok or a bounded deadline.
func (p *testPhone) waitFor(what string, ok func(Status) bool) Status {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := p.d.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: never reached; status %+v", what, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (p *testPhone) waitState(state string) Status {
	p.t.Helper()
	return p.waitFor("state "+state, func(s Status) bool { return s.State == state })
}

func TestCallBothWaysWithMedia(t *testing.T) {
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	a.knows("1002", b)

	a.post(phone.Hook{OffHook: true})
	a.waitState("dialtone")
	a.post(keys("1002#")...)
	st := b.waitState("ringing")
	if st.Call == nil || st.Call.Direction != "incoming" || st.Call.Remote != "1001" {
		t.Fatalf("B's call = %+v, want incoming from 1001", st.Call)
	}
	if !b.ringer.On() {
		t.Fatal("B's ringer is off while ringing")
	}
	a.waitFor("ringback display", func(s Status) bool { return s.Display == "[1001 direct] ringing 1002" })

	b.post(phone.Hook{OffHook: true})
	a.waitState("talking")
	b.waitState("talking")
	if b.ringer.On() {
		t.Fatal("B's ringer still on after answering")
	}
	// Media flows both ways.
	for _, p := range []*testPhone{a, b} {
		st := p.waitFor("RTP both ways", func(s Status) bool {
			return s.Call != nil && s.Call.RTP.Received >= 10 && s.Call.RTP.Sent >= 10
		})
		if st.Call.Codec != "PCMU" {
			t.Fatalf("codec = %q, want PCMU (first preference of both)", st.Call.Codec)
		}
	}

	a.post(phone.Hook{OffHook: false})
	a.waitState("idle")
	st = b.waitState("busy") // the far end hung up: busy tone until B hangs up
	if st.Call != nil {
		t.Fatalf("B still shows a call after BYE: %+v", st.Call)
	}
	b.post(phone.Hook{OffHook: false})
	b.waitState("idle")
	if last := a.d.Status().LastCall; last == nil || last.RTP.Sent == 0 || last.Remote != "1002" {
		t.Fatalf("A's last call summary = %+v", last)
	}
}

func TestCalleeHangsUp(t *testing.T) {
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	ring(a, b)
	answer(a, b)
	b.post(phone.Hook{OffHook: false})
	b.waitState("idle")
	a.waitState("busy")
}

func TestBusyWhenNotIdle(t *testing.T) {
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	a.knows("1002", b)
	b.post(phone.Hook{OffHook: true}) // B is listening to dial tone
	b.waitState("dialtone")
	a.post(phone.Hook{OffHook: true})
	a.post(keys("1002#")...)
	st := a.waitState("busy")
	if st.Reason != "486 Busy Here" {
		t.Fatalf("reason = %q, want 486 Busy Here", st.Reason)
	}
	if b.d.Status().State != "dialtone" {
		t.Fatalf("B left dial tone: %+v", b.d.Status())
	}
}

func TestCallerCancelsWhileRinging(t *testing.T) {
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	ring(a, b)
	a.post(phone.Hook{OffHook: false}) // CANCEL
	a.waitState("idle")
	b.waitState("idle")
	if b.ringer.On() {
		t.Fatal("B still rings after the CANCEL")
	}
}

// The inter-digit timer dials; the no-answer timer rejects with 480 and
// the caller hears congestion. Timers run on a fake clock.
func TestTimersOnFakeClock(t *testing.T) {
	clkA := clock.NewFake(time.Unix(0, 0))
	clkB := clock.NewFake(time.Unix(0, 0))
	cfg := phone.Config{InterDigit: 4 * time.Second, OffHook: 20 * time.Second, NoAnswer: 30 * time.Second}
	a := newPhone(t, "1001", clkA, cfg)
	b := newPhone(t, "1002", clkB, cfg)
	a.knows("1002", b)
	a.post(phone.Hook{OffHook: true})
	a.post(keys("1002")...)
	a.waitFor("digits", func(s Status) bool { return s.Digits == "1002" })
	clkA.Advance(3 * time.Second)
	if a.d.Status().State != "dialing" {
		t.Fatalf("dialled before the inter-digit timeout: %+v", a.d.Status())
	}
	clkA.Advance(time.Second)
	b.waitState("ringing")
	clkB.Advance(30 * time.Second)
	b.waitState("idle")
	st := a.waitState("congestion")
	if st.Reason != "480 Temporarily Unavailable" {
		t.Fatalf("A's reason = %q", st.Reason)
	}
	// Left off-hook after the failure: the howler.
	clkA.Advance(20 * time.Second)
	a.waitState("howler")
}

func TestUnknownNumberFailsCleanly(t *testing.T) {
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	a.d.opts.Domain = "bad host name" // not a valid SIP URI host
	a.post(phone.Hook{OffHook: true})
	a.post(keys("99#")...)
	st := a.waitState("congestion")
	if st.Reason == "" {
		t.Fatal("no reason shown for the failed call")
	}
}

// Without telephone-event on one side, a key in a call goes by SIP INFO
// (application/dtmf-relay) and the far phone still hears the digit.
func TestDTMFByInfoWhenNoTelephoneEvent(t *testing.T) {
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	b.d.opts.DTMF = 0 // B answers without telephone-event
	ring(a, b)
	answer(a, b)
	a.post(phone.Key{Key: '7'}, phone.KeyRelease{Key: '7'}, phone.Key{Key: '#'}, phone.KeyRelease{Key: '#'})
	b.waitFor("B hears 7#", func(s Status) bool { return s.Call != nil && s.Call.DTMF == "7#" })
	if st, _ := a.stats(); st.DTMFPacketsSent != 0 {
		t.Fatalf("A sent %d telephone-event packets to a peer that did not negotiate them", st.DTMFPacketsSent)
	}
}

// mediaCall sets up A (timers on clk, RTP timeout 30 s) talking to B.
func mediaCall(t *testing.T, clk *clock.Fake) (a, b *testPhone) {
	cfg := phone.DefaultConfig()
	cfg.MediaTimeout = 30 * time.Second
	a = newPhone(t, "1001", clk, cfg)
	b = newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	ring(a, b)
	answer(a, b)
	return a, b
}

// No RTP for the timeout: A hangs up with a reason; B hears the BYE.
func TestRTPTimeoutHangsUp(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e6, 0))
	a, b := mediaCall(t, clk)
	b.waitState("talking")
	leg := b.d.Status().Calls[0].ID
	if !b.eng.RedirectLeg(leg, netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{}, false) { // B falls silent
		t.Fatalf("B has no leg %s", leg)
	}
	waitTimer(t, clk)
	clk.Advance(30 * time.Second)
	st := a.waitState("congestion")
	if st.Reason != "no media" {
		t.Fatalf("reason %q, want no media", st.Reason)
	}
	b.waitState("busy")
}

// While RTP keeps coming, time passing does not hang up.
func TestRTPFlowingNoTimeout(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e6, 0))
	a, _ := mediaCall(t, clk)
	for i := 0; i < 4; i++ {
		waitTimer(t, clk)
		clk.Advance(10 * time.Second)
		now := clk.Now()
		a.waitFor("a packet after the clock moved", func(Status) bool {
			st, ok := a.stats()
			return ok && !st.LastReceived.Before(now)
		})
	}
	if st := a.d.Status(); st.State != "talking" {
		t.Fatalf("after 40 s with RTP flowing: %s (%s)", st.State, st.Reason)
	}
}

// waitTimer waits for a pending timer on the fake clock (the RTP check).
func waitTimer(t *testing.T, clk *clock.Fake) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no timer pending")
		}
		time.Sleep(time.Millisecond)
	}
}

// stats are the leg of the phone's focused call (or of its only call).
func (p *testPhone) stats() (rtpstream.Stats, bool) {
	cs := p.d.Status().Calls
	for _, c := range cs {
		if c.Focused || len(cs) == 1 {
			return p.eng.LegStats(c.ID)
		}
	}
	return rtpstream.Stats{}, false
}
