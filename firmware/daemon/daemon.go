package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

// ErrBusy is returned by Post when the event queue is full.
var ErrBusy = errors.New("phone is busy: event queue full")

// callControl is what the loop needs of the SIP user agent.
type callControl interface {
	Dial(target string, local sdp.Media) (sip.CallID, error)
	Ring(id sip.CallID) error
	Answer(id sip.CallID, local sdp.Media) (sdp.Negotiated, error)
	Reject(id sip.CallID, code int, reason string) error
	Hangup(id sip.CallID) error
}

// tonePlayer plays call-progress tones on the handset.
type tonePlayer interface {
	PlayTone(t tone.Tone)
	StopTone()
}

// streamer runs the RTP stream of the call.
type streamer interface {
	StartStream(p rtpstream.Params) error
	StopStream() (rtpstream.Stats, bool)
	Stats() (rtpstream.Stats, bool)
	RedirectStream(remote, rtcp netip.AddrPort, send bool) bool
}

// dtmfCalls sends DTMF by SIP INFO, for peers without telephone-event.
type dtmfCalls interface {
	SendDTMFInfo(id sip.CallID, digit byte, duration time.Duration) error
}

// ringAtOnce lets the SIP layer answer a new INVITE with 180 by itself
// while the phone is idle (it would ring for any call), sparing the 180
// the trip through this loop.
type ringAtOnce interface{ SetRingAtOnce(on bool) }

// dtmfMedia sends RFC 4733 telephone-events on the call's RTP stream.
type dtmfMedia interface {
	StartDTMF(leg string, digit byte) error
	StopDTMF(leg string)
}

// infoDTMFDuration is the duration an INFO DTMF announces (the key's
// length is not known when it is sent).
const infoDTMFDuration = 160 * time.Millisecond

// Ringer is the board's ringer. pattern is the call's Alert-Info ("" for
// the default ring).
type Ringer interface{ SetRinger(on bool, pattern string) }

// Options configure the loop.
type Options struct {
	Machine   phone.Config
	User      string            // our SIP user, shown on the display
	Domain    string            // host for numbers not in Directory
	Directory map[string]string // number -> SIP URI
	MediaIP   netip.Addr        // address RTP binds to and SDP announces
	RTPMin    int
	RTPMax    int
	Codecs    []sdp.Codec
	// MediaTimeout hangs up a call that receives no RTP this long (a
	// call the far end holds excepted); 0 never does.
	MediaTimeout time.Duration
	// DSCP marks RTP packets (46 = EF); 0 leaves them unmarked.
	DSCP int
	// Latch turns on symmetric RTP (send where the peer's RTP comes from).
	Latch bool
	// Ptime is the packet time our SDP asks for, in ms (0: 20).
	Ptime int
	// JitterMin and JitterMax bound the jitter buffer (0: its defaults).
	JitterMin, JitterMax time.Duration
	// Registering says a registrar is configured: the status starts as
	// "registering" instead of "none".
	Registering bool
	DTMF        uint8     // telephone-event payload type offered; 0 = none
	Tones       tone.Plan // phone.Tone names are tone.Plan names
	Clock       clock.Clock
	Logger      *slog.Logger
}

// Deps are the parts the loop drives.
type Deps struct {
	Calls     callControl
	SIPEvents <-chan sip.Event
	Tones     tonePlayer
	Media     streamer
	Ringer    Ringer
	Audio     AudioStatus // nil: no "audio" in Status
}

// call is what the loop keeps per call besides the machine's view.
type call struct {
	ref      phone.CallRef
	id       sip.CallID
	remote   string // as the display shows it
	dir      phone.Direction
	sock     mediaSockets // our RTP and RTCP sockets until the stream owns them
	media    sdp.Negotiated
	answered time.Time
	streamed bool
	held     bool // the far end holds the call (RFC 3264 §8.4)
}

// mediaSockets are a call's RTP socket and its RTCP partner on the next
// port (RFC 3550 §11).
type mediaSockets struct{ rtp, rtcp *net.UDPConn }

func (m *mediaSockets) close() {
	if m.rtp != nil {
		m.rtp.Close()
	}
	if m.rtcp != nil {
		m.rtcp.Close()
	}
	*m = mediaSockets{}
}

type timerMsg struct {
	id  phone.TimerID
	gen uint64
}

// Daemon is the phone's event loop.
type Daemon struct {
	opts Options
	deps Deps
	m    phone.Machine
	log  *slog.Logger
	clk  clock.Clock

	events chan phone.Event
	timerC chan timerMsg
	infoQ  chan infoDTMF      // digits to send by SIP INFO, in order
	mediaC chan phone.CallRef // RTP inactivity checks falling due

	// Owned by the loop goroutine.
	state    phone.State
	calls    map[phone.CallRef]*call
	bySIP    map[sip.CallID]phone.CallRef
	timers   map[phone.TimerID]clock.Timer
	timerGen map[phone.TimerID]uint64
	pending  []phone.Event
	ctx      context.Context

	mu      sync.Mutex
	snap    snapshot
	changed chan struct{}
}

// New returns a loop; call Run to start it.
func New(opts Options, deps Deps) *Daemon {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Daemon{
		opts:     opts,
		deps:     deps,
		m:        phone.NewMachine(opts.Machine),
		log:      opts.Logger,
		clk:      opts.Clock,
		events:   make(chan phone.Event, 64),
		timerC:   make(chan timerMsg, 8),
		infoQ:    make(chan infoDTMF, 32),
		mediaC:   make(chan phone.CallRef, 4),
		calls:    map[phone.CallRef]*call{},
		bySIP:    map[sip.CallID]phone.CallRef{},
		timers:   map[phone.TimerID]clock.Timer{},
		timerGen: map[phone.TimerID]uint64{},
		changed:  make(chan struct{}, 1),
	}
	d.snap.reg.State = "none"
	if opts.Registering {
		d.snap.reg.State = string(sip.RegRegistering)
	}
	d.publish()
	return d
}

// Post queues an event from the board or the API. It does not block: a
// full queue is ErrBusy.
func (d *Daemon) Post(ev phone.Event) error {
	select {
	case d.events <- ev:
		return nil
	default:
		return ErrBusy
	}
}

// Changed is signalled (without blocking, coalesced) after every step.
func (d *Daemon) Changed() <-chan struct{} { return d.changed }

// Run handles events until ctx ends, then hangs up any call.
func (d *Daemon) Run(ctx context.Context) error {
	d.ctx = ctx
	go d.sendInfoDTMF(ctx)
	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case ev := <-d.events:
			d.handle(ev)
		case sev, ok := <-d.deps.SIPEvents:
			if !ok {
				d.deps.SIPEvents = nil
				continue
			}
			if ev := d.translate(sev); ev != nil {
				d.handle(ev)
			}
		case ref := <-d.mediaC:
			d.checkMedia(ref)
		case t := <-d.timerC:
			if d.timerGen[t.id] == t.gen {
				delete(d.timers, t.id)
				d.handle(phone.TimerFired{Timer: t.id})
			}
		}
	}
}

// handle steps the machine with ev and with every event its effects raise.
func (d *Daemon) handle(ev phone.Event) {
	d.pending = append(d.pending, ev)
	for len(d.pending) > 0 {
		ev := d.pending[0]
		d.pending = d.pending[1:]
		prev := d.state.Mode
		var fx []phone.Effect
		d.state, fx = d.m.Step(d.state, ev)
		if d.state.Mode != prev {
			d.log.Info("phone", "event", fmt.Sprint(ev), "from", prev.String(), "to", d.state.Mode.String())
		}
		for _, e := range fx {
			d.apply(e)
		}
		d.collect()
	}
	d.publish()
}

// apply carries out one effect.
func (d *Daemon) apply(e phone.Effect) {
	switch e := e.(type) {
	case phone.PlayTone:
		if e.Tone == phone.ToneNone {
			d.deps.Tones.StopTone()
		} else if t, ok := d.opts.Tones[tone.Name(e.Tone)]; ok {
			d.deps.Tones.PlayTone(t)
		} else {
			d.log.Warn("no such tone in the tone plan", "tone", string(e.Tone))
		}
	case phone.Ringer:
		if d.deps.Ringer != nil {
			d.deps.Ringer.SetRinger(e.On, e.Pattern)
		}
	case phone.Dial:
		d.dial(e)
	case phone.SendRinging:
		if c := d.calls[e.Call]; c != nil {
			d.check("send 180", d.deps.Calls.Ring(c.id))
		}
	case phone.Answer:
		d.answer(e)
	case phone.Reject:
		if c := d.calls[e.Call]; c != nil {
			d.check("reject", d.deps.Calls.Reject(c.id, e.Code, e.Reason))
		}
	case phone.Hangup:
		if c := d.calls[e.Call]; c != nil {
			d.check("hang up", d.deps.Calls.Hangup(c.id))
		}
	case phone.SendDTMF:
		d.sendDTMF(e)
	case phone.StopDTMF:
		if m, ok := d.deps.Media.(dtmfMedia); ok {
			m.StopDTMF("")
		}
	case phone.StartMedia:
		d.startMedia(e.Call)
	case phone.StopMedia:
		d.stopMedia(e.Call)
	case phone.StartTimer:
		d.startTimer(e.Timer, e.After)
	case phone.StopTimer:
		d.stopTimer(e.Timer)
	case phone.Ignored:
		d.log.Debug("event ignored", "event", fmt.Sprint(e.Event), "state", e.Mode.String())
	default:
		d.log.Error("unknown effect", "effect", fmt.Sprintf("%T", e))
	}
}

func (d *Daemon) check(what string, err error) {
	if err != nil {
		d.log.Warn(what+" failed", "err", err)
	}
}

// Target turns a dialled number into a request URI: the directory entry if
// there is one, else sip:NUMBER@DOMAIN.
func (d *Daemon) Target(number string) string {
	if uri, ok := d.opts.Directory[number]; ok {
		return uri
	}
	return "sip:" + number + "@" + d.opts.Domain
}

func (d *Daemon) dial(e phone.Dial) {
	sock, local, err := d.openRTP()
	if err != nil {
		d.log.Error("no RTP port for the call", "err", err)
		d.pending = append(d.pending, phone.CallFailed{Call: e.Call, Reason: "no RTP port"})
		return
	}
	target := d.Target(e.Number)
	id, err := d.deps.Calls.Dial(target, local)
	if err != nil {
		sock.close()
		d.log.Warn("dial failed", "number", e.Number, "target", target, "err", err)
		d.pending = append(d.pending, phone.CallFailed{Call: e.Call, Reason: "cannot dial " + e.Number})
		return
	}
	d.log.Info("dialling", "number", e.Number, "target", target, "call_id", string(id))
	d.calls[e.Call] = &call{ref: e.Call, id: id, sock: sock, remote: e.Number, dir: phone.Outgoing}
	d.bySIP[id] = e.Call
}

func (d *Daemon) answer(e phone.Answer) {
	c := d.calls[e.Call]
	if c == nil {
		return
	}
	sock, local, err := d.openRTP()
	if err == nil {
		c.sock = sock
		c.media, err = d.deps.Calls.Answer(c.id, local)
	}
	if err != nil {
		d.log.Error("answer failed", "err", err)
		d.check("hang up", d.deps.Calls.Hangup(c.id))
		d.pending = append(d.pending, phone.CallEnded{Call: e.Call, Reason: "answer failed"})
	}
}

// sendDTMF sends a key pressed in a call: as an RFC 4733 event on the RTP
// stream when telephone-event was negotiated, else by SIP INFO (off the
// loop: it waits for the INFO's answer).
func (d *Daemon) sendDTMF(e phone.SendDTMF) {
	c := d.calls[e.Call]
	if c == nil || !c.streamed {
		return
	}
	if m, ok := d.deps.Media.(dtmfMedia); ok && c.media.DTMF != 0 {
		d.check("DTMF", m.StartDTMF("", e.Key))
		return
	}
	select {
	case d.infoQ <- infoDTMF{id: c.id, digit: e.Key}:
	default:
		d.log.Warn("DTMF by INFO dropped: queue full", "digit", string(e.Key))
	}
}

type infoDTMF struct {
	id    sip.CallID
	digit byte
}

// sendInfoDTMF sends queued INFO digits one after the other, so they
// arrive in the order they were pressed (each waits for its answer).
func (d *Daemon) sendInfoDTMF(ctx context.Context) {
	info, ok := d.deps.Calls.(dtmfCalls)
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-d.infoQ:
			if !ok {
				d.log.Warn("no DTMF by INFO in this user agent", "digit", string(q.digit))
				continue
			}
			if err := info.SendDTMFInfo(q.id, q.digit, infoDTMFDuration); err != nil {
				d.log.Warn("DTMF by INFO failed", "err", err)
			}
		}
	}
}

func (d *Daemon) openRTP() (mediaSockets, sdp.Media, error) {
	rtp, rtcp, err := rtpstream.ListenPair(d.opts.MediaIP, d.opts.RTPMin, d.opts.RTPMax)
	if err != nil {
		return mediaSockets{}, sdp.Media{}, err
	}
	if d.opts.DSCP > 0 {
		// A network that ignores or refuses the mark still carries the call.
		d.check("mark RTP with DSCP", rtpstream.SetDSCP(rtp, d.opts.DSCP))
		d.check("mark RTCP with DSCP", rtpstream.SetDSCP(rtcp, d.opts.DSCP))
	}
	addr := rtp.LocalAddr().(*net.UDPAddr).AddrPort()
	local := sdp.Media{
		Addr:   netip.AddrPortFrom(d.opts.MediaIP, addr.Port()),
		Codecs: d.opts.Codecs,
		DTMF:   d.opts.DTMF,
		Ptime:  d.opts.Ptime,
	}
	return mediaSockets{rtp, rtcp}, local, nil
}

func (d *Daemon) startMedia(ref phone.CallRef) {
	c := d.calls[ref]
	if c != nil && c.streamed {
		// Early media ran already: follow the final answer's media.
		d.deps.Media.RedirectStream(c.media.Remote, c.media.RTCP, true)
		c.answered = d.clk.Now()
		return
	}
	if c == nil || c.sock.rtp == nil {
		return
	}
	err := d.deps.Media.StartStream(rtpstream.Params{
		Conn:            c.sock.rtp,
		RTCPConn:        c.sock.rtcp,
		Remote:          c.media.Remote,
		RemoteRTCP:      c.media.RTCP,
		Ptime:           time.Duration(c.media.Ptime) * time.Millisecond,
		JitterMin:       d.opts.JitterMin,
		JitterMax:       d.opts.JitterMax,
		CNAME:           d.opts.User + "@" + d.opts.MediaIP.String(),
		PayloadType:     uint8(c.media.Codec),
		DTMFPayloadType: c.media.DTMF,
		Latch:           d.opts.Latch,
		// From the stream's receive goroutine into the loop.
		OnDTMF: func(digit byte) {
			if err := d.Post(phone.DTMFReceived{Call: ref, Digit: digit}); err != nil {
				d.log.Warn("received DTMF dropped", "digit", string(digit), "err", err)
			}
		},
		Clock:  d.clk,
		Logger: d.log,
	})
	if err != nil {
		d.log.Error("media did not start", "err", err)
		return
	}
	c.streamed = true
	c.answered = d.clk.Now()
	d.watchMedia(ref, d.opts.MediaTimeout)
	d.log.Info("call connected", "remote", c.media.Remote.String(), "codec", c.media.Codec.String())
}

// watchMedia checks the call's RTP after d, on the clock: one timer per
// check, none while packets keep coming inside the timeout.
func (d *Daemon) watchMedia(ref phone.CallRef, after time.Duration) {
	if d.opts.MediaTimeout <= 0 {
		return
	}
	ctx := d.ctx
	d.clk.AfterFunc(after, func() {
		select {
		case d.mediaC <- ref:
		case <-ctx.Done():
		}
	})
}

// checkMedia turns a call that has received no RTP for MediaTimeout into a
// MediaTimeout event, unless the far end holds it (then no RTP is due);
// otherwise it checks again when the timeout could next run out.
func (d *Daemon) checkMedia(ref phone.CallRef) {
	c := d.calls[ref]
	if c == nil || !c.streamed {
		return // the call ended meanwhile
	}
	last := c.answered
	if st, ok := d.deps.Media.Stats(); ok && st.LastReceived.After(last) {
		last = st.LastReceived
	}
	silent := d.clk.Now().Sub(last)
	switch {
	case c.held:
		d.watchMedia(ref, d.opts.MediaTimeout)
	case silent < d.opts.MediaTimeout:
		d.watchMedia(ref, d.opts.MediaTimeout-silent)
	default:
		d.log.Warn("no RTP received: hanging up", "silent", silent.Round(time.Millisecond).String())
		d.handle(phone.MediaTimeout{Call: ref})
	}
}

func (d *Daemon) stopMedia(ref phone.CallRef) {
	c := d.calls[ref]
	if c == nil || !c.streamed {
		return
	}
	st, _ := d.deps.Media.StopStream()
	c.streamed = false
	c.sock = mediaSockets{} // closed with the stream
	d.mu.Lock()
	last := &CallStatus{
		Remote: c.remote, Direction: string(c.dir), Codec: c.media.Codec.String(),
		Duration: d.clk.Now().Sub(c.answered).Round(time.Millisecond).Seconds(),
	}
	last.fillMedia(st)
	d.snap.last = last
	d.mu.Unlock()
	// One line per call with its quality (RFC 3550 figures, G.107 MOS).
	d.log.Info("call ended", "remote", last.Remote, "codec", last.Codec, "duration_s", last.Duration,
		"quality", *last.Quality, "concealed", st.Playout.Concealed, "playout_ms", last.Playout.CurrentMs)
}

func (d *Daemon) startTimer(id phone.TimerID, after time.Duration) {
	d.stopTimer(id)
	gen := d.timerGen[id]
	ctx := d.ctx
	d.timers[id] = d.clk.AfterFunc(after, func() {
		select {
		case d.timerC <- timerMsg{id, gen}:
		case <-ctx.Done():
		}
	})
}

func (d *Daemon) stopTimer(id phone.TimerID) {
	d.timerGen[id]++
	if t := d.timers[id]; t != nil {
		t.Stop()
		delete(d.timers, id)
	}
}

// collect forgets every call the machine no longer has.
func (d *Daemon) collect() {
	for ref, c := range d.calls {
		if d.state.Call != nil && d.state.Call.Ref == ref {
			continue
		}
		if c.streamed {
			d.stopMedia(ref)
		}
		c.sock.close()
		delete(d.bySIP, c.id)
		delete(d.calls, ref)
	}
}

// translate turns a SIP event into a phone event, or nil when it is about a
// call the phone has already forgotten.
func (d *Daemon) translate(ev sip.Event) phone.Event {
	if r, ok := ev.(sip.Registration); ok {
		d.mu.Lock()
		d.snap.reg = Registration{
			State: string(r.State), Registrar: r.Registrar, Code: r.Code, Reason: r.Reason,
			Expires: r.Expires.Seconds(), RetryIn: r.RetryIn.Seconds(),
		}
		d.mu.Unlock()
		d.publish()
		return nil
	}
	if in, ok := ev.(sip.Incoming); ok {
		ref := phone.CallRef("in-" + string(in.ID))
		from := partyName(in.From)
		d.calls[ref] = &call{ref: ref, id: in.ID, remote: from, dir: phone.Incoming}
		d.bySIP[in.ID] = ref
		d.log.Info("incoming call", "from", in.From.URI, "call_id", string(in.ID))
		return phone.IncomingCall{Call: ref, From: from, AlertInfo: in.AlertInfo}
	}
	ref, ok := d.bySIP[ev.CallID()]
	if !ok {
		d.log.Debug("SIP event for a forgotten call", "event", fmt.Sprintf("%T", ev), "call_id", string(ev.CallID()))
		return nil
	}
	switch e := ev.(type) {
	case sip.Progress:
		if e.Media != nil {
			d.calls[ref].media = *e.Media
		}
		return phone.CallProgress{Call: ref, Code: e.Code, EarlyMedia: e.Media != nil}
	case sip.Answered:
		d.calls[ref].media = e.Media
		return phone.CallAnswered{Call: ref}
	case sip.Failed:
		d.log.Info("call failed", "code", e.Code, "reason", e.Reason)
		return phone.CallFailed{Call: ref, Code: e.Code, Reason: e.Reason}
	case sip.Modified:
		// A re-INVITE or UPDATE changed the media: follow it. Being held
		// changes nothing the phone's state machine decides; it shows on
		// the display and in the status.
		c := d.calls[ref]
		c.media = e.Media
		c.held = e.Media.Direction == "recvonly" || e.Media.Direction == "inactive"
		if c.streamed {
			d.deps.Media.RedirectStream(e.Media.Remote, e.Media.RTCP, !c.held)
		}
		d.log.Info("call media changed by the far end", "remote", e.Media.Remote.String(), "direction", e.Media.Direction, "held", c.held)
		d.publish()
		return nil
	case sip.DTMF:
		return phone.DTMFReceived{Call: ref, Digit: e.Digit}
	case sip.Ended:
		d.log.Info("call ended by the network", "reason", e.Reason, "remote", e.Remote)
		return phone.CallEnded{Call: ref, Reason: e.Reason}
	}
	return nil
}

func partyName(p sip.Party) string {
	switch {
	case p.DisplayName != "" && p.User != "":
		return p.DisplayName + " <" + p.User + ">"
	case p.User != "":
		return p.User
	case p.DisplayName != "":
		return p.DisplayName
	}
	return strings.TrimPrefix(p.URI, "sip:")
}

func (d *Daemon) shutdown() {
	for _, t := range d.timers {
		t.Stop()
	}
	if c := d.state.Call; c != nil {
		if dc := d.calls[c.Ref]; dc != nil {
			d.check("hang up", d.deps.Calls.Hangup(dc.id))
		}
	}
	d.state = phone.State{}
	d.deps.Tones.StopTone()
	if d.deps.Ringer != nil {
		d.deps.Ringer.SetRinger(false, "")
	}
	d.collect()
	d.publish()
}
