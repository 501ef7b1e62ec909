package sip

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"

	"github.com/deskphone/phoned/scripts/tier"
)

// wait bounds every wait in these tests; nothing asserts on timing.
const wait = 10 * time.Second

func TestMain(m *testing.M) {
	// Short SIP timers so timeouts (Timer B, 64*T1 ACK wait) take ~1 s.
	// Set once, before any UA exists.
	// Under qemu-user (make test-arm) a loaded, emulated CPU can take
	// longer than 64×20 ms for an exchange that should succeed: T1 is
	// 100 ms there (timeouts then take ~6 s, still within wait).
	if tier.Emulated() {
		gosip.SetTimers(100*time.Millisecond, time.Second, 1250*time.Millisecond)
	} else {
		gosip.SetTimers(20*time.Millisecond, 200*time.Millisecond, 250*time.Millisecond)
	}
	os.Exit(m.Run())
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type phone struct {
	*UA
	ev chan Event
}

func newPhone(t *testing.T, user, display string, mod ...func(*Config)) *phone {
	t.Helper()
	tier.Component(t, "SIP between user agents on loopback sockets")
	p := &phone{ev: make(chan Event, 100)}
	cfg := Config{
		Listen:      netip.MustParseAddrPort("127.0.0.1:0"),
		User:        user,
		DisplayName: display,
		Domain:      "example.test",
		UserAgent:   "phoned-test/1.0",
		Logger:      testLogger(t).With("phone", user),
	}
	for _, f := range mod {
		f(&cfg)
	}
	ua, err := New(cfg, func(e Event) { p.ev <- e })
	if err != nil {
		t.Fatal(err)
	}
	p.UA = ua
	t.Cleanup(func() { ua.Close() })
	return p
}

func (p *phone) target() string { return fmt.Sprintf("sip:%s@%s", p.cfg.User, p.Addr()) }

func media(port uint16, codecs ...sdp.Codec) sdp.Media {
	return sdp.Media{Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Codecs: codecs, DTMF: 101}
}

// next waits for the next event of type T, failing on anything else.
func next[T Event](t *testing.T, p *phone) T {
	t.Helper()
	select {
	case e := <-p.ev:
		v, ok := e.(T)
		if !ok {
			var zero T
			t.Fatalf("%s: got %T %+v, want %T", p.cfg.User, e, e, zero)
		}
		return v
	case <-time.After(wait):
		var zero T
		t.Fatalf("%s: no %T within %v", p.cfg.User, zero, wait)
		panic("unreachable")
	}
}

func noEvent(t *testing.T, p *phone) {
	t.Helper()
	select {
	case e := <-p.ev:
		t.Fatalf("%s: unexpected event %T %+v", p.cfg.User, e, e)
	default:
	}
}

// establish runs A dials B, B rings, B answers, and returns the call ids.
func establish(t *testing.T, a, b *phone) (CallID, CallID) {
	t.Helper()
	return establishTo(t, a, b, b.target())
}

// establishTo is establish dialling target, which must reach b.
func establishTo(t *testing.T, a, b *phone, target string) (CallID, CallID) {
	t.Helper()
	id, err := a.Dial(target, media(4000, sdp.PCMU, sdp.PCMA))
	if err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, b)
	if in.ID != id {
		t.Fatalf("incoming id %s, dialed %s", in.ID, id)
	}
	if in.From.User != "1001" || in.From.DisplayName != "Alice" || in.From.URI != "sip:1001@example.test" {
		t.Fatalf("incoming From = %+v", in.From)
	}
	if in.Offer.Addr.Port() != 4000 || !in.Offer.Has(0) || !in.Offer.Has(8) || in.Offer.DTMF != 101 {
		t.Fatalf("incoming offer = %+v", in.Offer)
	}
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	if p := next[Progress](t, a); p.Code != 180 || p.ID != id {
		t.Fatalf("progress = %+v", p)
	}
	neg, err := b.Answer(in.ID, media(5000, sdp.PCMA, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	if neg.Codec != sdp.PCMA || neg.Remote.Port() != 4000 || neg.DTMF != 101 {
		t.Fatalf("callee negotiated %+v", neg)
	}
	ans := next[Answered](t, a)
	if ans.Media.Remote.String() != "127.0.0.1:5000" || ans.Media.Codec != sdp.PCMA || ans.Media.DTMF != 101 || ans.Media.Ptime != 20 {
		t.Fatalf("answered = %+v", ans)
	}
	return id, in.ID
}

func TestCallByeFromCaller(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	ida, idb := establish(t, a, b)
	if err := a.Hangup(ida); err != nil {
		t.Fatal(err)
	}
	if e := next[Ended](t, b); !e.Remote || e.ID != idb {
		t.Fatalf("callee ended = %+v", e)
	}
	if e := next[Ended](t, a); e.Remote || e.ID != ida {
		t.Fatalf("caller ended = %+v", e)
	}
	if err := a.Hangup(ida); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("second hangup: %v", err)
	}
}

func TestCallByeFromCallee(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	ida, idb := establish(t, a, b)
	if err := b.Hangup(idb); err != nil {
		t.Fatal(err)
	}
	if e := next[Ended](t, a); !e.Remote || e.ID != ida {
		t.Fatalf("caller ended = %+v", e)
	}
	if e := next[Ended](t, b); e.Remote {
		t.Fatalf("callee ended = %+v", e)
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	id, err := a.Dial(b.target(), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, b)
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	next[Progress](t, a)
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	if e := next[Ended](t, b); !e.Remote || e.Reason != "cancelled" {
		t.Fatalf("callee ended = %+v", e)
	}
	if f := next[Failed](t, a); f.Code != 487 {
		t.Fatalf("caller failed = %+v", f)
	}
	if _, err := b.Answer(in.ID, media(5000, sdp.PCMU)); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("answer after cancel: %v", err)
	}
}

func TestReject486(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	if _, err := a.Dial(b.target(), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, b)
	if err := b.Reject(in.ID, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, a); f.Code != 486 || f.Reason != "Busy Here" {
		t.Fatalf("failed = %+v", f)
	}
	if e := next[Ended](t, b); e.Remote {
		t.Fatalf("callee ended = %+v", e)
	}
}

func TestHangupIncomingDeclines(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	if _, err := a.Dial(b.target(), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, b)
	if err := b.Hangup(in.ID); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, a); f.Code != 603 {
		t.Fatalf("failed = %+v", f)
	}
	next[Ended](t, b)
}

func TestNoCommonCodecAtInvite(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	b := newPhone(t, "1002", "Bob", func(c *Config) { c.Codecs = []sdp.Codec{sdp.PCMU} })
	if _, err := a.Dial(b.target(), media(4000, sdp.PCMA)); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, a); f.Code != 488 {
		t.Fatalf("failed = %+v", f)
	}
	noEvent(t, b)
}

func TestNoCommonCodecAtAnswer(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	if _, err := a.Dial(b.target(), media(4000, sdp.PCMA)); err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, b)
	if _, err := b.Answer(in.ID, media(5000, sdp.PCMU)); !errors.Is(err, sdp.ErrNoCommonCodec) {
		t.Fatalf("answer: %v", err)
	}
	if f := next[Failed](t, a); f.Code != 488 {
		t.Fatalf("failed = %+v", f)
	}
	next[Ended](t, b)
}

func TestDialDeadPort(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	dead, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("sip:1002@%s", dead.LocalAddr())
	dead.Close()
	if _, err := a.Dial(target, media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, a); f.Code != 408 && f.Code != 503 {
		t.Fatalf("failed = %+v", f)
	}
}

func TestDialBadTarget(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	for _, target := range []string{"", "tel:+123", "1002", "sip:", "sips:1002@127.0.0.1"} {
		if _, err := a.Dial(target, media(4000, sdp.PCMU)); !errors.Is(err, ErrBadTarget) {
			t.Errorf("Dial(%q) = %v, want ErrBadTarget", target, err)
		}
	}
	if _, err := a.Dial("sip:1@127.0.0.1", sdp.Media{}); !errors.Is(err, ErrBadMedia) {
		t.Errorf("Dial with no media = %v", err)
	}
}

func TestListenInUse(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	_, err := New(Config{Listen: a.Addr(), User: "x"}, nil)
	if err == nil {
		t.Fatal("second UA on the same port succeeded")
	}
}

func TestCloseHangsUp(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	establish(t, a, b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if e := next[Ended](t, a); e.Remote {
		t.Fatalf("closer ended = %+v", e)
	}
	if e := next[Ended](t, b); !e.Remote {
		t.Fatalf("peer ended = %+v", e)
	}
}

func TestConcurrentIncoming(t *testing.T) {
	a, b, c := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob"), newPhone(t, "1003", "Carol")
	establish(t, a, b)
	if _, err := c.Dial(b.target(), media(6000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, b)
	if err := b.Reject(in.ID, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, c); f.Code != 486 {
		t.Fatalf("failed = %+v", f)
	}
}

// ---------------------------------------------------------------- raw peer

// rawPeer is a hand-driven SIP endpoint on a plain UDP socket, used to see
// the bytes on the wire and to provoke races sipgo would not.
type rawPeer struct {
	t    *testing.T
	conn *net.UDPConn
	p    *gosip.Parser
	// lenient skips what does not parse: the read filter's 400s to
	// garbage copy its broken headers (readfilter.go).
	lenient bool
}

type rawMsg struct {
	msg  gosip.Message
	raw  string
	from *net.UDPAddr
}

func newRawPeer(t *testing.T) *rawPeer {
	tier.Component(t, "SIP to a raw peer on a loopback socket")
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c, p: gosip.NewParser()}
}

func (r *rawPeer) addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// read returns the next message for which match is true, skipping others
// (retransmissions, 100 Trying...).
func (r *rawPeer) read(what string, match func(gosip.Message) bool) rawMsg {
	r.t.Helper()
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65535)
	for {
		r.conn.SetReadDeadline(deadline)
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			r.t.Fatalf("raw peer waiting for %s: %v", what, err)
		}
		raw := string(buf[:n])
		m, err := r.p.ParseSIP(buf[:n])
		if err != nil && r.lenient {
			continue
		}
		if err != nil {
			r.t.Fatalf("raw peer: unparsable message %v:\n%s", err, raw)
		}
		if strings.Contains(strings.ToLower(raw), "sipgo") || strings.Contains(raw, "localhost") {
			r.t.Errorf("default sipgo identity on the wire:\n%s", raw)
		}
		if match(m) {
			return rawMsg{msg: m, raw: raw, from: from}
		}
	}
}

func isReq(method gosip.RequestMethod) func(gosip.Message) bool {
	return func(m gosip.Message) bool {
		r, ok := m.(*gosip.Request)
		return ok && r.Method == method
	}
}

func isRes(code int) func(gosip.Message) bool {
	return func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.StatusCode == code
	}
}

func (r *rawPeer) send(to *net.UDPAddr, m gosip.Message) {
	r.t.Helper()
	if _, err := r.conn.WriteToUDP([]byte(m.String()), to); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawPeer) sendText(to netip.AddrPort, text string) {
	r.t.Helper()
	text = strings.ReplaceAll(strings.TrimPrefix(text, "\n"), "\n", "\r\n")
	if _, err := r.conn.WriteToUDPAddrPort([]byte(text), to); err != nil {
		r.t.Fatal(err)
	}
}

// reply answers req as the raw UAS with To tag "rawtag" and a Contact.
func (r *rawPeer) reply(req rawMsg, code int, reason string, body []byte) {
	res := gosip.NewResponseFromRequest(req.msg.(*gosip.Request), code, reason, nil)
	if code > 100 {
		res.To().Params.Add("tag", "rawtag")
		res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.1", Port: r.addr().Port}})
	}
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
	res.SetBody(body)
	r.send(req.from, res)
}

func checkSource(t *testing.T, what string, m rawMsg, ua *UA) {
	t.Helper()
	if got := m.from.AddrPort(); netip.AddrPortFrom(got.Addr().Unmap(), got.Port()) != ua.Addr() {
		t.Errorf("%s came from %v, want the listen socket %v", what, got, ua.Addr())
	}
}

func TestWireHeadersAndSourcePort(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw := newRawPeer(t)
	target := fmt.Sprintf("sip:1002@%s", raw.addr())
	id, err := a.Dial(target, media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	inv := raw.read("INVITE", isReq(gosip.INVITE))
	checkSource(t, "INVITE", inv, a.UA)
	req := inv.msg.(*gosip.Request)
	lp := a.Addr().Port()
	if got := req.From().Value(); !strings.HasPrefix(got, `"Alice" <sip:1001@example.test>;tag=`) {
		t.Errorf("From = %s", got)
	}
	if got, want := req.To().Value(), fmt.Sprintf("<sip:1002@%s>", raw.addr()); got != want {
		t.Errorf("To = %s, want %s", got, want)
	}
	if got, want := req.Contact().Value(), fmt.Sprintf("<sip:1001@127.0.0.1:%d>", lp); got != want {
		t.Errorf("Contact = %s, want %s", got, want)
	}
	if via := req.Via(); via.Host != "127.0.0.1" || via.Port != int(lp) {
		t.Errorf("Via sent-by = %s", via.SentBy())
	}
	if ua := req.GetHeader("User-Agent"); ua == nil || ua.Value() != "phoned-test/1.0" {
		t.Errorf("User-Agent = %v", ua)
	}
	if req.CSeq().MethodName != gosip.INVITE || req.MaxForwards() == nil || req.CallID().Value() != string(id) {
		t.Errorf("INVITE:\n%s", inv.raw)
	}

	raw.reply(inv, 180, "Ringing", nil)
	next[Progress](t, a)
	answer, _, err := sdp.Answer(mustParse(t, req.Body()), media(7000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	raw.reply(inv, 200, "OK", answer)
	ack := raw.read("ACK", isReq(gosip.ACK))
	checkSource(t, "ACK", ack, a.UA)
	ackReq := ack.msg.(*gosip.Request)
	if tag, _ := ackReq.To().Params.Get("tag"); tag != "rawtag" || ackReq.CSeq().SeqNo != req.CSeq().SeqNo {
		t.Errorf("ACK:\n%s", ack.raw)
	}
	if ackReq.Recipient.User != "raw" || ackReq.Via().Params.GetOr("branch", "") == req.Via().Params.GetOr("branch", "") {
		t.Errorf("ACK for 2xx must go to the Contact with a new branch:\n%s", ack.raw)
	}
	if ans := next[Answered](t, a); ans.Media.Remote.Port() != 7000 {
		t.Fatalf("answered = %+v", ans)
	}

	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	bye := raw.read("BYE", isReq(gosip.BYE))
	checkSource(t, "BYE", bye, a.UA)
	byeReq := bye.msg.(*gosip.Request)
	if byeReq.CSeq().SeqNo <= req.CSeq().SeqNo || byeReq.Recipient.User != "raw" {
		t.Errorf("BYE:\n%s", bye.raw)
	}
	raw.reply(bye, 200, "OK", nil)
	if e := next[Ended](t, a); e.Remote {
		t.Fatalf("ended = %+v", e)
	}
}

func mustParse(t *testing.T, body []byte) sdp.Session {
	t.Helper()
	s, err := sdp.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOKCrossesCancel: the callee answers 200 just as our CANCEL arrives
// (RFC 3261 §9.1): the UA must ACK the 200 and then BYE the call.
func TestOKCrossesCancel(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw := newRawPeer(t)
	id, err := a.Dial(fmt.Sprintf("sip:1002@%s", raw.addr()), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	inv := raw.read("INVITE", isReq(gosip.INVITE))
	req := inv.msg.(*gosip.Request)
	raw.reply(inv, 180, "Ringing", nil)
	next[Progress](t, a)
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	cancel := raw.read("CANCEL", isReq(gosip.CANCEL))
	checkSource(t, "CANCEL", cancel, a.UA)
	creq := cancel.msg.(*gosip.Request)
	// RFC 3261 §9.1: same branch, Call-ID, CSeq number, From, To as INVITE.
	if creq.Via().Params.GetOr("branch", "x") != req.Via().Params.GetOr("branch", "y") ||
		creq.CSeq().SeqNo != req.CSeq().SeqNo || creq.CSeq().MethodName != gosip.CANCEL ||
		creq.CallID().Value() != req.CallID().Value() || creq.From().Value() != req.From().Value() ||
		creq.To().Value() != req.To().Value() || creq.Recipient.String() != req.Recipient.String() {
		t.Errorf("CANCEL does not match INVITE:\n%s\nINVITE:\n%s", cancel.raw, inv.raw)
	}
	// The 200 to the INVITE was already on its way.
	answer, _, err := sdp.Answer(mustParse(t, req.Body()), media(7000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	raw.reply(inv, 200, "OK", answer)
	raw.reply(cancel, 200, "OK", nil)
	ack := raw.read("ACK", isReq(gosip.ACK))
	checkSource(t, "ACK", ack, a.UA)
	bye := raw.read("BYE", isReq(gosip.BYE))
	checkSource(t, "BYE", bye, a.UA)
	if tag, _ := bye.msg.(*gosip.Request).To().Params.Get("tag"); tag != "rawtag" {
		t.Errorf("BYE To tag = %q", tag)
	}
	raw.reply(bye, 200, "OK", nil)
	if f := next[Failed](t, a); f.Code != 487 {
		t.Fatalf("failed = %+v", f)
	}
	noEvent(t, a)
}

// inviteText is an INVITE from the raw peer to ua.
func inviteText(raw *rawPeer, ua *UA, callID string) string {
	return inviteWithBody(raw, ua, callID, string(sdp.Offer(media(9000, sdp.PCMU), 1)))
}

func inviteWithBody(raw *rawPeer, ua *UA, callID, body string) string {
	return fmt.Sprintf(`
INVITE sip:1002@%[1]s SIP/2.0
Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-%[3]s
Max-Forwards: 70
From: "Raw" <sip:raw@127.0.0.1>;tag=fromraw
To: <sip:1002@%[1]s>
Call-ID: %[3]s
CSeq: 1 INVITE
Contact: <sip:raw@%[2]s>
Content-Type: application/sdp
Content-Length: %[4]d

%[5]s`, ua.Addr(), raw.addr(), callID, len(body), strings.ReplaceAll(body, "\r\n", "\n"))
}

// TestAckTimeout: the caller never ACKs our 200; after 64*T1 the UA sends
// BYE and reports Ended (RFC 3261 §13.3.1.4).
func TestAckTimeout(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	raw.sendText(b.Addr(), inviteText(raw, b.UA, "acktimeout1"))
	trying := raw.read("100", isRes(100))
	checkSource(t, "100 Trying", trying, b.UA)
	in := next[Incoming](t, b)
	if in.From.User != "raw" || in.From.DisplayName != "Raw" {
		t.Fatalf("incoming = %+v", in)
	}
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	ringing := raw.read("180", isRes(180))
	res := ringing.msg.(*gosip.Response)
	if got, want := res.Contact().Value(), fmt.Sprintf("<sip:1002@%s>", b.Addr()); got != want {
		t.Errorf("180 Contact = %s, want %s", got, want)
	}
	tag, _ := res.To().Params.Get("tag")
	if _, err := b.Answer(in.ID, media(5000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	ok := raw.read("200", isRes(200))
	checkSource(t, "200 OK", ok, b.UA)
	if tag2, _ := ok.msg.(*gosip.Response).To().Params.Get("tag"); tag2 != tag || tag == "" {
		t.Errorf("To tag changed between 180 (%q) and 200 (%q)", tag, tag2)
	}
	// Do not ACK.
	bye := raw.read("BYE", isReq(gosip.BYE))
	checkSource(t, "BYE", bye, b.UA)
	byeReq := bye.msg.(*gosip.Request)
	if byeReq.Recipient.User != "raw" || byeReq.CallID().Value() != "acktimeout1" {
		t.Errorf("BYE:\n%s", bye.raw)
	}
	if ft, _ := byeReq.From().Params.Get("tag"); ft != tag {
		t.Errorf("BYE From tag %q, want our tag %q", ft, tag)
	}
	raw.reply(bye, 200, "OK", nil)
	if e := next[Ended](t, b); e.Remote || e.Reason != "no ACK received" {
		t.Fatalf("ended = %+v", e)
	}
}

func TestInviteWithBadSDPGets488(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	body := strings.Replace(string(sdp.Offer(media(9000, sdp.PCMU), 1)), "RTP/AVP 0", "RTP/AVP 0 x", 1)
	raw.sendText(b.Addr(), inviteWithBody(raw, b.UA, "badsdp1", body))
	res := raw.read("488", isRes(488))
	checkSource(t, "488", res, b.UA)
	raw.sendText(b.Addr(), `
ACK sip:1002@`+b.Addr().String()+` SIP/2.0
Via: SIP/2.0/UDP `+raw.addr().String()+`;branch=z9hG4bK-badsdp1
Max-Forwards: 70
From: "Raw" <sip:raw@127.0.0.1>;tag=fromraw
To: <sip:1002@`+b.Addr().String()+`>;tag=x
Call-ID: badsdp1
CSeq: 1 ACK
Content-Length: 0

`)
	noEvent(t, b)
}

func TestOutOfDialogRequests(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	req := func(method, callID, extra string) string {
		return fmt.Sprintf(`
%[1]s sip:1002@%[2]s SIP/2.0
Via: SIP/2.0/UDP %[3]s;branch=z9hG4bK-%[4]s
Max-Forwards: 70
From: <sip:raw@127.0.0.1>;tag=a
To: <sip:1002@%[2]s>%[5]s
Call-ID: %[4]s
CSeq: 7 %[1]s
Content-Length: 0

`, method, b.Addr(), raw.addr(), callID, extra)
	}
	tests := []struct {
		method, extra string
		code          int
		allow         bool
	}{
		{"BYE", ";tag=b", 481, false},
		{"CANCEL", "", 481, false},
		{"OPTIONS", "", 200, true},
		{"MESSAGE", "", 405, true},
		{"SUBSCRIBE", "", 405, true},
	}
	for i, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			raw.t = t
			raw.sendText(b.Addr(), req(tt.method, fmt.Sprintf("ood%d", i), tt.extra))
			m := raw.read(fmt.Sprint(tt.code), func(m gosip.Message) bool {
				r, ok := m.(*gosip.Response)
				return ok && r.CSeq().MethodName == gosip.RequestMethod(tt.method)
			})
			res := m.msg.(*gosip.Response)
			if res.StatusCode != tt.code {
				t.Fatalf("%s got %d, want %d", tt.method, res.StatusCode, tt.code)
			}
			if allow := res.GetHeader("Allow"); tt.allow && (allow == nil || !strings.Contains(allow.Value(), "INVITE")) {
				t.Errorf("%s: no Allow header:\n%s", tt.method, m.raw)
			}
			checkSource(t, tt.method, m, b.UA)
		})
	}
	noEvent(t, b)
}

// Alert-Info (RFC 3261 §20.4) reaches the firmware for a distinctive ring.
func TestAlertInfoReachesIncoming(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	text := inviteText(raw, b.UA, "alertinfo1")
	text = strings.Replace(text, "Max-Forwards: 70\n", "Max-Forwards: 70\nAlert-Info: <http://127.0.0.1/ring2.wav>;info=alert-internal\n", 1)
	raw.sendText(b.Addr(), text)
	in := next[Incoming](t, b)
	if in.AlertInfo != "<http://127.0.0.1/ring2.wav>;info=alert-internal" {
		t.Fatalf("AlertInfo = %q", in.AlertInfo)
	}
	if err := b.Reject(in.ID, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
}
