package daemon

// Unit tests of the loop's glue: fakes for the user agent, the media
// engine, the tones, the ringer and the lamps; handle() and the SIP and
// timer paths driven synchronously in the test goroutine (Run is not
// started); timers on a fake clock. No network peer, no sleep.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

// rec records calls made on the fakes, in order, as "Method arg…".
type rec struct {
	mu    sync.Mutex
	calls []string
}

func (r *rec) add(format string, args ...any) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// take returns the calls recorded since the last take.
func (r *rec) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

type fakeUA struct {
	*rec
	n    int
	fail map[string]error // by method name
	dir  []string         // the SDP direction of each Reinvite sent
}

func (u *fakeUA) Dial(target string, local sdp.Media) (sip.CallID, error) {
	if err := u.fail["Dial"]; err != nil {
		return "", err
	}
	u.n++
	u.add("Dial %s", target)
	return sip.CallID(fmt.Sprintf("sip-%d", u.n)), nil
}
func (u *fakeUA) DialWith(target string, local sdp.Media, o DialOptions) (sip.CallID, error) {
	u.n++
	u.add("DialWith %s by=%s replaces=%s", target, o.ReferredBy, o.Replaces)
	return sip.CallID(fmt.Sprintf("sip-%d", u.n)), nil
}
func (u *fakeUA) Ring(id sip.CallID) error { u.add("Ring %s", id); return nil }
func (u *fakeUA) Answer(id sip.CallID, local sdp.Media) (sdp.Negotiated, error) {
	u.add("Answer %s", id)
	return sdp.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:40000"), Codec: sdp.PCMU, DTMF: 101, Ptime: 20}, u.fail["Answer"]
}
func (u *fakeUA) Reject(id sip.CallID, code int, reason string) error {
	u.add("Reject %s %d", id, code)
	return nil
}
func (u *fakeUA) Hangup(id sip.CallID) error { u.add("Hangup %s", id); return nil }
func (u *fakeUA) Reinvite(id sip.CallID, local sdp.Media) error {
	if err := u.fail["Reinvite"]; err != nil {
		return err
	}
	u.add("Reinvite %s", id)
	u.dir = append(u.dir, local.Direction)
	return nil
}
func (u *fakeUA) Refer(id sip.CallID, target string, replaces sip.CallID) error {
	if err := u.fail["Refer"]; err != nil {
		return err
	}
	u.add("Refer %s %s replaces=%s", id, target, replaces)
	return nil
}
func (u *fakeUA) NotifyRefer(id sip.CallID, code int, reason string) error {
	u.add("NotifyRefer %s %d %s", id, code, reason)
	return nil
}
func (u *fakeUA) SetRingAtOnce(on bool) { u.add("SetRingAtOnce %t", on) }
func (u *fakeUA) SendDTMFInfo(id sip.CallID, digit byte, _ time.Duration) error {
	u.add("INFO %s %c", id, digit)
	return nil
}

type fakeEngine struct {
	*rec
	mu   sync.Mutex
	last map[string]time.Time // LegStats().LastReceived by leg
}

func (e *fakeEngine) StartLeg(id string, p rtpstream.Params) error {
	e.add("StartLeg %s %s", id, p.Remote)
	p.Conn.Close() // the leg owns the sockets
	p.RTCPConn.Close()
	return nil
}
func (e *fakeEngine) StopLeg(id string) (rtpstream.Stats, bool) {
	e.add("StopLeg %s", id)
	return rtpstream.Stats{PacketsSent: 7}, true
}
func (e *fakeEngine) LegStats(id string) (rtpstream.Stats, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return rtpstream.Stats{LastReceived: e.last[id]}, true
}
func (e *fakeEngine) RedirectLeg(id string, remote, _ netip.AddrPort, send bool) bool {
	e.add("RedirectLeg %s %s send=%t", id, remote, send)
	return true
}
func (e *fakeEngine) SetMix(m Mix) {
	e.add("SetMix focus=%s conf=%s mute=%t", m.Focus, strings.Join(m.Conference, ","), m.Mute)
}
func (e *fakeEngine) StartDTMF(id string, digit byte) error {
	e.add("StartDTMF %s %c", id, digit)
	return nil
}
func (e *fakeEngine) StopDTMF(id string)   { e.add("StopDTMF %s", id) }
func (e *fakeEngine) PlayTone(t tone.Tone) { e.add("PlayTone %s", toneName(t)) }
func (e *fakeEngine) StopTone()            { e.add("StopTone") }

func toneName(t tone.Tone) string {
	for n, pt := range tone.US {
		if reflect.DeepEqual(pt, t) {
			return string(n)
		}
	}
	return "?"
}

type fakeBoard struct{ *rec }

func (b fakeBoard) SetRinger(on bool, pattern string) { b.add("SetRinger %t %s", on, pattern) }
func (b fakeBoard) SetLamp(name, state string)        { b.add("SetLamp %s %s", name, state) }

// glue is a daemon over fakes, driven synchronously.
type glue struct {
	t   *testing.T
	d   *Daemon
	clk *clock.Fake
	ua  *fakeUA
	eng *fakeEngine
	log *rec // every fake records here, so the order across them shows
}

func newGlue(t *testing.T, cfg phone.Config) *glue {
	t.Helper()
	r := &rec{}
	g := &glue{t: t, clk: clock.NewFake(time.Unix(1e6, 0)), log: r,
		ua: &fakeUA{rec: r, fail: map[string]error{}}, eng: &fakeEngine{rec: r, last: map[string]time.Time{}}}
	g.d = New(Options{
		Machine: cfg, User: "1001", Domain: "example.test", Directory: map[string]string{"1003": "sip:1003@pbx.test"},
		MediaIP: netip.MustParseAddr("127.0.0.1"), RTPMin: 20000, RTPMax: 30000, Codecs: []sdp.Codec{sdp.PCMU}, DTMF: 101, Tones: tone.US,
		Clock: g.clk, Logger: quietLogger(),
	}, Deps{Calls: g.ua, Tones: g.eng, Media: g.eng, Ringer: fakeBoard{r}, Lamps: fakeBoard{r}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.d.ctx = ctx
	g.d.start()
	g.log.take()
	return g
}

// do handles events and returns what the fakes were asked, in order.
func (g *glue) do(evs ...phone.Event) []string {
	for _, ev := range evs {
		g.d.handle(ev)
	}
	return g.log.take()
}

// sip delivers SIP events as the loop would.
func (g *glue) sip(evs ...sip.Event) []string {
	for _, ev := range evs {
		g.d.sipEvent(ev)
	}
	return g.log.take()
}

// advance moves the fake clock and delivers the timers that fell due, as
// the loop would; it returns what the fakes were asked.
func (g *glue) advance(d time.Duration) []string {
	g.clk.Advance(d)
	for {
		select {
		case t := <-g.d.timerC:
			g.d.timerDue(t)
		default:
			return g.log.take()
		}
	}
}

func (g *glue) state() string { return g.d.state.Mode.String() }

// want fails unless got holds every line of want, in that order (other
// lines may come between).
func want(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("%s: missing %q\ngot:\n  %s", what, want[i], strings.Join(got, "\n  "))
	}
}

func none(t *testing.T, what string, got []string, prefix string) {
	t.Helper()
	for _, g := range got {
		if strings.HasPrefix(g, prefix) {
			t.Fatalf("%s: unexpected %q in\n  %s", what, g, strings.Join(got, "\n  "))
		}
	}
}

func incoming(id string) sip.Incoming {
	return sip.Incoming{ID: sip.CallID(id), From: sip.Party{User: "1002", URI: "sip:1002@pbx.test"}}
}

func answered(id string) sip.Answered {
	return sip.Answered{ID: sip.CallID(id), Media: sdp.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:41000"), Codec: sdp.PCMU, DTMF: 101, Ptime: 20}}
}

// talking brings g into an outgoing call to 1002, answered.
func (g *glue) talking() {
	g.t.Helper()
	g.do(phone.Hook{OffHook: true})
	g.do(keys("1002#")...)
	g.sip(answered("sip-1"))
	if g.state() != "talking" {
		g.t.Fatalf("state %s, want talking", g.state())
	}
}

func TestGlueStartOutputs(t *testing.T) {
	r := &rec{}
	ua := &fakeUA{rec: r}
	eng := &fakeEngine{rec: r}
	d := New(Options{Clock: clock.NewFake(time.Unix(0, 0)), Logger: quietLogger()}, Deps{Calls: ua, Tones: eng, Media: eng, Lamps: fakeBoard{r}})
	d.start()
	want(t, "start", r.take(), "SetMix focus= conf= mute=false", "SetLamp led_line off", "SetLamp led_mute off",
		"SetLamp amp off", "SetRingAtOnce true")
}

// An outgoing call: Dial, tones, the leg, the mix, the lamps, ring-at-once;
// then DTMF on the leg and the hang-up.
func TestGlueOutgoingCall(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	want(t, "off-hook", g.do(phone.Hook{OffHook: true}), "PlayTone dial", "SetLamp led_line on", "SetLamp amp on", "SetRingAtOnce false")
	want(t, "dial", g.do(keys("1003#")...), "StopTone", "Dial sip:1003@pbx.test")
	want(t, "180", g.sip(sip.Progress{ID: "sip-1", Code: 180}), "PlayTone ringback")
	got := g.sip(answered("sip-1"))
	want(t, "answer", got, "StopTone", "StartLeg out-1 127.0.0.1:41000", "SetMix focus=out-1 conf= mute=false")
	want(t, "DTMF", g.do(phone.Key{Key: '5'}, phone.KeyRelease{Key: '5'}), "StartDTMF out-1 5", "StopDTMF out-1")
	got = g.do(phone.Hook{OffHook: false})
	want(t, "hang up", got, "StopLeg out-1", "Hangup sip-1", "SetMix focus= conf= mute=false", "SetLamp led_line off", "SetRingAtOnce true")
	if st := g.d.Status(); st.LastCall == nil || st.LastCall.RTP.Sent != 7 || st.LastCall.Remote != "1003" {
		t.Fatalf("last call %+v", st.LastCall)
	}
}

// An incoming call: 180, ringer, no-answer timer on the fake clock, 480.
func TestGlueIncomingNotAnswered(t *testing.T) {
	g := newGlue(t, phone.Config{NoAnswer: 30 * time.Second})
	got := g.sip(incoming("x1"))
	want(t, "incoming", got, "Ring x1", "SetRinger true ", "SetLamp led_line blink", "SetRingAtOnce false")
	if got := g.advance(29 * time.Second); len(got) != 0 {
		t.Fatalf("before the timeout: %v", got)
	}
	want(t, "no answer", g.advance(time.Second), "SetRinger false ", "Reject x1 480", "SetRingAtOnce true")
	if st := g.d.Status(); st.Reason != "not answered" || len(st.Calls) != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestGlueIncomingAnswered(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.sip(incoming("x1"))
	got := g.do(phone.Hook{OffHook: true})
	want(t, "answer", got, "SetRinger false ", "Answer x1", "StartLeg in-x1 127.0.0.1:40000", "SetMix focus=in-x1 conf= mute=false")
	// A SIP INFO digit from the far end is shown.
	g.sip(sip.DTMF{ID: "x1", Digit: '9'})
	if st := g.d.Status(); st.Call == nil || st.Call.DTMF != "9" || st.Calls[0].State != "talking" || !st.Calls[0].Focused {
		t.Fatalf("status %+v", st)
	}
	want(t, "BYE", g.sip(sip.Ended{ID: "x1", Reason: "bye", Remote: true}), "StopLeg in-x1", "PlayTone busy")
}

// The replacement of the old sleep-then-assert test: a stopped timer never
// fires, shown on the fake clock with the timer channel drained.
func TestGlueStoppedTimerDoesNotFire(t *testing.T) {
	g := newGlue(t, phone.Config{InterDigit: 4 * time.Second, OffHook: 10 * time.Second})
	g.do(phone.Hook{OffHook: true}, phone.Hook{OffHook: false}, phone.Hook{OffHook: true})
	g.advance(9 * time.Second) // the first off-hook timer would fire at 10 s
	if g.state() != "dialtone" {
		t.Fatalf("a stopped timer fired: %s", g.state())
	}
	if n := g.clk.Pending(); n != 1 {
		t.Fatalf("%d timers pending, want the second off-hook timer only", n)
	}
	want(t, "howler", g.advance(time.Second), "PlayTone offhook-warning")
	if g.state() != "howler" {
		t.Fatalf("state %s, want howler", g.state())
	}
}

// The RTP timeout: the machine asks (CheckMedia), the loop answers from the
// leg's statistics, the machine decides.
func TestGlueMediaTimeout(t *testing.T) {
	cfg := phone.DefaultConfig()
	cfg.MediaTimeout = 30 * time.Second
	g := newGlue(t, cfg)
	g.talking()
	// A packet 20 s in: the check at 30 s re-arms for 20 s more.
	g.advance(20 * time.Second)
	g.eng.mu.Lock()
	g.eng.last["out-1"] = g.clk.Now()
	g.eng.mu.Unlock()
	if got := g.advance(10 * time.Second); g.state() != "talking" {
		t.Fatalf("hung up with RTP 10 s ago: %v", got)
	}
	if got := g.advance(19 * time.Second); g.state() != "talking" {
		t.Fatalf("hung up early: %v", got)
	}
	want(t, "timeout", g.advance(time.Second), "StopLeg out-1", "Hangup sip-1", "PlayTone congestion")
	if st := g.d.Status(); st.Reason != "no media" {
		t.Fatalf("reason %q", st.Reason)
	}
}

// A call the far end holds gets no RTP and is not hung up; the far end's
// hold stops our sending (RFC 3264 §8.4) and shows in the status.
func TestGlueRemoteHold(t *testing.T) {
	cfg := phone.DefaultConfig()
	cfg.MediaTimeout = 30 * time.Second
	g := newGlue(t, cfg)
	g.talking()
	held := sdp.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:42000"), Codec: sdp.PCMU, Direction: "recvonly"}
	want(t, "held", g.sip(sip.Modified{ID: "sip-1", Media: held}), "RedirectLeg out-1 127.0.0.1:42000 send=false")
	if st := g.d.Status(); !st.Call.Held || !st.Calls[0].HeldByRemote {
		t.Fatalf("status %+v", st)
	}
	g.advance(5 * time.Minute)
	if g.state() != "talking" {
		t.Fatalf("a held call was hung up: %s", g.state())
	}
	held.Direction = "sendrecv"
	want(t, "resumed", g.sip(sip.Modified{ID: "sip-1", Media: held}), "RedirectLeg out-1 127.0.0.1:42000 send=true")
}

// Failures of the effects become events: a dial that fails gives
// congestion; an answer that fails hangs up.
func TestGlueEffectFailures(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.ua.fail["Dial"] = errors.New("no route")
	g.do(phone.Hook{OffHook: true})
	want(t, "dial fails", g.do(keys("1002#")...), "PlayTone congestion")
	if st := g.d.Status(); st.State != "congestion" || st.Reason != "cannot dial 1002" {
		t.Fatalf("status %+v", st)
	}
	g.do(phone.Hook{OffHook: false})
	g.ua.fail["Answer"] = errors.New("bad offer")
	g.sip(incoming("x1"))
	want(t, "answer fails", g.do(phone.Hook{OffHook: true}), "Answer x1", "Hangup x1")
	if st := g.d.Status(); st.State != "busy" || len(st.Calls) != 0 {
		t.Fatalf("status %+v", st)
	}
}

// Without telephone-event the key goes by SIP INFO, off the loop.
func TestGlueDTMFByInfo(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.do(phone.Hook{OffHook: true})
	g.do(keys("1002#")...)
	a := answered("sip-1")
	a.Media.DTMF = 0
	g.sip(a)
	none(t, "INFO key", g.do(phone.Key{Key: '4'}), "StartDTMF")
	select {
	case q := <-g.d.infoQ:
		if q.id != "sip-1" || q.digit != '4' {
			t.Fatalf("queued %+v", q)
		}
	default:
		t.Fatal("no INFO queued")
	}
}

// Every effect kind the machine has is carried out by one of the tests
// here; this list must name them all (TestGlueEffectKinds checks it
// against the apply switch's cases by exercising each).
func TestGlueEffectKinds(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	cases := []struct {
		fx   phone.Effect
		want string
	}{
		{phone.PlayTone{Tone: phone.ToneBusy}, "PlayTone busy"},
		{phone.PlayTone{}, "StopTone"},
		{phone.Ringer{On: true, Pattern: "p"}, "SetRinger true p"},
		{phone.SendRinging{Call: "out-1"}, "Ring sip-1"},
		{phone.Reject{Call: "out-1", Code: 603}, "Reject sip-1 603"},
		{phone.Hangup{Call: "out-1"}, "Hangup sip-1"},
		{phone.SendDTMF{Call: "out-1", Key: '1'}, "StartDTMF out-1 1"},
		{phone.StopDTMF{Call: "out-1"}, "StopDTMF out-1"},
		{phone.UpdateMedia{Call: "out-1", Send: true}, "RedirectLeg out-1 127.0.0.1:41000 send=true"},
		{phone.Reinvite{Call: "out-1", Direction: "sendonly"}, "Reinvite sip-1"},
		{phone.Refer{Call: "out-1", Number: "1003"}, "Refer sip-1 sip:1003@pbx.test replaces="},
		{phone.NotifyRefer{Call: "out-1", Code: 180, Reason: "Ringing"}, "NotifyRefer sip-1 180 Ringing"},
		{phone.SetMix{Focus: "out-1", Conference: []phone.CallRef{"a", "b"}, Mute: true}, "SetMix focus=out-1 conf=a,b mute=true"},
		{phone.SetLamp{Lamp: phone.LampMute, State: phone.LampOn}, "SetLamp led_mute on"},
		{phone.RingAtOnce{On: true}, "SetRingAtOnce true"},
		{phone.Dial{Call: "out-9", Target: "sip:x@y", ReferredBy: "<sip:b@y>", Replaces: "r"}, "DialWith sip:x@y by=<sip:b@y> replaces=r"},
		{phone.Dial{Call: "out-8", Number: "1003"}, "Dial sip:1003@pbx.test"},
		{phone.StopMedia{Call: "out-1"}, "StopLeg out-1"},
	}
	for _, c := range cases {
		g.d.apply(c.fx)
		if got := g.log.take(); !slices.Contains(got, c.want) {
			t.Errorf("%T: got %v, want %q", c.fx, got, c.want)
		}
	}
	// Answer, StartMedia, CheckMedia, StartTimer, StopTimer: the calls and
	// timers above (TestGlueIncomingAnswered, TestGlueOutgoingCall,
	// TestGlueMediaTimeout, TestGlueStoppedTimerDoesNotFire). Ignored only
	// logs: the state is unchanged.
	before := g.d.state
	g.d.apply(phone.Ignored{Event: phone.Key{Key: 'x'}})
	if !reflect.DeepEqual(before, g.d.state) || len(g.log.take()) != 0 {
		t.Fatal("Ignored changed something")
	}
}

// Status is a broadcast: every subscriber hears every change.
func TestGlueStatusBroadcast(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	a, cancelA := g.d.Subscribe()
	b, cancelB := g.d.Subscribe()
	defer cancelA()
	g.do(phone.Hook{OffHook: true})
	for i, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		default:
			t.Fatalf("subscriber %d not signalled", i)
		}
	}
	cancelB()
	g.do(phone.Hook{OffHook: false})
	select {
	case <-b:
		t.Fatal("a cancelled subscriber was signalled")
	default:
	}
	select {
	case <-a:
	default:
		t.Fatal("subscriber a missed the second change")
	}
}
