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

// callControl is what the loop needs of the SIP user agent for calls.
type callControl interface {
	Dial(target string, local sdp.Media) (sip.CallID, error)
	DialWith(target string, local sdp.Media, o DialOptions) (sip.CallID, error)
	Ring(id sip.CallID) error
	Answer(id sip.CallID, local sdp.Media) (sdp.Negotiated, error)
	Reject(id sip.CallID, code int, reason string) error
	Hangup(id sip.CallID) error
}

// sessionControl changes an established call's session: hold and resume.
type sessionControl interface {
	Reinvite(id sip.CallID, local sdp.Media) error
}

// referControl transfers calls (RFC 3515) and reports being transferred.
type referControl interface {
	Refer(id sip.CallID, target string, replaces sip.CallID) error
	NotifyRefer(id sip.CallID, code int, reason string) error
}

// userAgent is the SIP user agent as the loop drives it.
type userAgent interface {
	callControl
	sessionControl
	referControl
}

// tonePlayer plays call-progress tones on the handset.
type tonePlayer interface {
	PlayTone(t tone.Tone)
	StopTone()
}

// legs runs the RTP legs of the calls, one per call with media, named by
// the call's phone.CallRef.
type legs interface {
	StartLeg(id string, p rtpstream.Params) error
	StopLeg(id string) (rtpstream.Stats, bool)
	LegStats(id string) (rtpstream.Stats, bool)
	RedirectLeg(id string, remote, rtcp netip.AddrPort, send bool) bool
}

// mixer says which legs the handset hears.
type mixer interface{ SetMix(m Mix) }

// dtmfMedia sends RFC 4733 telephone-events on one leg.
type dtmfMedia interface {
	StartDTMF(id string, digit byte) error
	StopDTMF(id string)
}

// MediaEngine is the media engine as the loop drives it: legs, the mix,
// DTMF (the issue 11 contract's *engine.Engine).
type MediaEngine interface {
	legs
	mixer
	dtmfMedia
}

// dtmfCalls sends DTMF by SIP INFO, for peers without telephone-event.
type dtmfCalls interface {
	SendDTMFInfo(id sip.CallID, digit byte, duration time.Duration) error
}

// ringAtOnce lets the SIP layer answer a new INVITE with 180 by itself
// while the phone is idle (it would ring for any call), sparing the 180
// the trip through this loop. The machine decides when (phone.RingAtOnce).
type ringAtOnce interface{ SetRingAtOnce(on bool) }

// infoDTMFDuration is the duration an INFO DTMF announces (the key's
// length is not known when it is sent).
const infoDTMFDuration = 160 * time.Millisecond

// Ringer is the board's ringer. pattern is the call's Alert-Info ("" for
// the default ring).
type Ringer interface{ SetRinger(on bool, pattern string) }

// Lamps are the board's indicators: name is a phone.Lamp ("led_line",
// "led_mute", "amp"), state a phone.LampState ("off", "on", "blink",
// "fast"). The machine decides them; a board without the lamp ignores it.
type Lamps interface{ SetLamp(name, state string) }

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
	// MediaTimeout is Machine.MediaTimeout when that is 0: hang up a call
	// that receives no RTP this long (a held call excepted); 0 never does.
	MediaTimeout time.Duration
	// DSCP marks RTP packets (46 = EF); 0 leaves them unmarked.
	DSCP int
	// Latch turns on symmetric RTP (send where the peer's RTP comes from).
	Latch bool
	// SRTP is the SRTP policy of our SDP (srtp.go); SRTPOff when keys may
	// not travel in this signalling.
	SRTP sdp.SRTPMode
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
	Calls     userAgent
	SIPEvents <-chan sip.Event
	Tones     tonePlayer
	Media     MediaEngine // nil: calls have no audio
	Ringer    Ringer
	Lamps     Lamps       // nil: no indicators
	Audio     AudioStatus // nil: no "audio" in Status
	Volume    Volume      // nil: one audio path, and the volume keys do nothing
	// CheckSync hears an authenticated check-sync NOTIFY (provisioning):
	// quick, on the loop.
	CheckSync func(reboot bool)
}

// call is what the loop keeps per call besides the machine's view.
type call struct {
	ref      phone.CallRef
	id       sip.CallID
	uri      string // the far end's SIP URI (an attended transfer's target)
	remote   string // as the display shows it
	dir      phone.Direction
	sock     mediaSockets // our RTP and RTCP sockets until the leg owns them
	local    sdp.Media    // our SDP, the base of re-INVITEs
	localDir string       // the direction of our last re-INVITE ("" = sendrecv)
	media    sdp.Negotiated
	legKeys  sdp.SRTPKeys // the SRTP keys the running leg uses (srtp.go)
	answered time.Time
	streamed bool
	service  phone.Service // a local call to a service number (service.go): no SIP
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

// timerKey names a running timer: the machine's timers are per call.
type timerKey struct {
	id   phone.TimerID
	call phone.CallRef
}

type timerMsg struct {
	key timerKey
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
	infoQ  chan infoDTMF // digits to send by SIP INFO, in order
	dtmf   dtmfState     // presses waiting for the sender (dtmfq.go)
	// reconfC brings new configs (reconfig.go); next is one waiting for
	// the phone to be idle (owned by the loop).
	reconfC chan Reconfig
	next    *Reconfig

	media MediaEngine // Deps.Media, nil without one

	// Owned by the loop goroutine.
	state    phone.State
	calls    map[phone.CallRef]*call
	bySIP    map[sip.CallID]phone.CallRef
	timers   map[timerKey]clock.Timer
	timerGen map[timerKey]uint64
	pending  []phone.Event
	ctx      context.Context

	mu   sync.Mutex
	snap snapshot
	subs map[chan struct{}]struct{} // status subscribers (broadcast)
	disk *StorageStatus             // failed state directory writes (storage.go)
}

// New returns a loop; call Run to start it.
func New(opts Options, deps Deps) *Daemon {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Machine.MediaTimeout == 0 {
		opts.Machine.MediaTimeout = opts.MediaTimeout
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
		reconfC:  make(chan Reconfig, 4),
		calls:    map[phone.CallRef]*call{},
		bySIP:    map[sip.CallID]phone.CallRef{},
		timers:   map[timerKey]clock.Timer{},
		timerGen: map[timerKey]uint64{},
		subs:     map[chan struct{}]struct{}{},
		ctx:      context.Background(),
	}
	d.media = deps.Media
	d.dtmf.retry = make(chan struct{}, 1)
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

// Subscribe returns a channel signalled (without blocking, coalesced per
// subscriber) after every change of the status, and a function that ends
// the subscription. Every subscriber (display, lamps, API, web UI) gets
// every change: the status is a broadcast.
func (d *Daemon) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.mu.Unlock()
	return ch, func() {
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
	}
}

// Run handles events until ctx ends, then hangs up every call.
func (d *Daemon) Run(ctx context.Context) error {
	d.ctx = ctx
	go d.sendInfoDTMF(ctx)
	d.start()
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
			d.sipEvent(sev)
		case t := <-d.timerC:
			d.timerDue(t)
		case <-d.dtmf.retry:
			d.flushDTMF()
		case r := <-d.reconfC:
			d.reconfigure(r)
		}
		if d.next != nil {
			d.applyNext() // a config waiting for idle
		}
	}
}

// start applies the machine's outputs for the initial state (lamps,
// mix, ring-at-once); later steps emit only their changes.
func (d *Daemon) start() {
	for _, e := range phone.Outputs(d.state) {
		d.apply(e)
	}
	d.publish()
}

// sipEvent handles one event of the user agent.
func (d *Daemon) sipEvent(sev sip.Event) {
	if ev := d.translate(sev); ev != nil {
		d.handle(ev)
	}
}

// timerDue delivers a timer unless it was stopped or restarted since.
func (d *Daemon) timerDue(t timerMsg) {
	if d.timerGen[t.key] == t.gen {
		delete(d.timers, t.key)
		d.handle(phone.TimerFired{Timer: t.key.id, Call: t.key.call})
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
	case phone.StartService:
		d.startService(e)
	case phone.Hangup:
		if c := d.calls[e.Call]; c != nil && c.service == "" {
			d.check("hang up", d.deps.Calls.Hangup(c.id))
		}
	case phone.SendDTMF:
		d.pressDTMF(e)
	case phone.StopDTMF:
		if d.media != nil {
			d.releaseDTMF(e.Call)
		}
	case phone.StartMedia:
		d.startMedia(e.Call)
	case phone.StopMedia:
		d.stopMedia(e.Call)
	case phone.UpdateMedia:
		if c := d.calls[e.Call]; c != nil && c.streamed && c.service == "" {
			if d.rekey(c) {
				break
			}
			d.media.RedirectLeg(string(e.Call), c.media.Remote, c.media.RTCP, e.Send)
			d.log.Info("call media changed", "call", string(e.Call), "remote", c.media.Remote.String(), "send", e.Send)
		}
	case phone.CheckMedia:
		d.checkMedia(e.Call)
	case phone.Reinvite:
		d.reinvite(e)
	case phone.Refer:
		d.refer(e)
	case phone.NotifyRefer:
		if c := d.calls[e.Call]; c != nil {
			d.check("NOTIFY of the transfer", d.deps.Calls.NotifyRefer(c.id, e.Code, e.Reason))
		}
	case phone.SetMix:
		if d.media != nil {
			d.media.SetMix(mixOf(e))
		}
	case phone.SetLamp:
		if d.deps.Lamps != nil {
			d.deps.Lamps.SetLamp(string(e.Lamp), string(e.State))
		}
	case phone.RingAtOnce:
		if r, ok := d.deps.Calls.(ringAtOnce); ok {
			r.SetRingAtOnce(e.On)
		}
	case phone.StartTimer:
		d.startTimer(timerKey{e.Timer, e.Call}, e.After)
	case phone.StopTimer:
		d.stopTimer(timerKey{e.Timer, e.Call})
	case phone.SetAudioPath:
		if d.deps.Volume != nil {
			if err := d.deps.Volume.SetPath(e.Path); err != nil {
				d.log.Warn("audio path not switched; the audio stays where it is", "path", e.Path, "err", err)
			}
		}
	case phone.StepVolume:
		if d.deps.Volume != nil {
			d.deps.Volume.StepVolume(e.Up)
		}
	case phone.Ignored:
		d.log.Debug("event ignored", "event", fmt.Sprint(e.Event), "state", e.Mode.String())
	default:
		d.log.Error("unknown effect", "effect", fmt.Sprintf("%T", e))
	}
}

func mixOf(e phone.SetMix) Mix {
	m := Mix{Focus: string(e.Focus), Mute: e.Mute}
	for _, r := range e.Conference {
		m.Conference = append(m.Conference, string(r))
	}
	return m
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
	target := e.Target
	if target == "" {
		target = d.Target(e.Number)
	}
	var id sip.CallID
	if e.ReferredBy != "" || e.Replaces != "" {
		id, err = d.deps.Calls.DialWith(target, local, DialOptions{ReferredBy: e.ReferredBy, Replaces: e.Replaces})
	} else {
		id, err = d.deps.Calls.Dial(target, local)
	}
	if err != nil {
		sock.close()
		d.log.Warn("dial failed", "number", e.Number, "target", target, "err", err)
		reason := "cannot dial " + reasonOr(e.Number, target)
		if te := (*sip.TLSError)(nil); errors.As(err, &te) {
			reason += ": " + te.Error() // a bad certificate, in plain words
		}
		d.pending = append(d.pending, phone.CallFailed{Call: e.Call, Reason: reason})
		return
	}
	d.log.Info("dialling", "number", e.Number, "target", target, "call_id", string(id))
	remote := e.Number
	if remote == "" {
		remote = target
	}
	d.calls[e.Call] = &call{ref: e.Call, id: id, uri: target, sock: sock, local: local, remote: remote, dir: phone.Outgoing}
	d.bySIP[id] = e.Call
}

func reasonOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (d *Daemon) answer(e phone.Answer) {
	c := d.calls[e.Call]
	if c == nil {
		return
	}
	sock, local, err := d.openRTP()
	if err == nil {
		c.sock, c.local = sock, local
		c.media, err = d.deps.Calls.Answer(c.id, local)
	}
	if err != nil {
		d.log.Error("answer failed", "err", err)
		d.check("hang up", d.deps.Calls.Hangup(c.id))
		d.pending = append(d.pending, phone.CallEnded{Call: e.Call, Reason: "answer failed"})
	}
}

// reinvite sends a hold or resume (RFC 3264 §8.4). A re-INVITE that cannot
// be sent is answered at once as failed, so the machine undoes the hold.
func (d *Daemon) reinvite(e phone.Reinvite) {
	c := d.calls[e.Call]
	if c == nil {
		return
	}
	if c.service != "" {
		d.serviceReinvite(c, e) // service.go
		return
	}
	err := d.deps.Calls.Reinvite(c.id, withDirection(c.local, e.Direction))
	if err != nil {
		d.log.Warn("re-INVITE failed", "call", string(e.Call), "direction", e.Direction, "err", err)
		d.pending = append(d.pending, phone.Reinvited{Call: e.Call, Reason: err.Error()})
		return
	}
	c.localDir = e.Direction
	d.log.Info("re-INVITE", "call", string(e.Call), "direction", e.Direction)
}

// refer sends a transfer's REFER: to the dialled number (blind), or to the
// consultation call's far end with Replaces naming it (attended, RFC 5589
// §7). A REFER that cannot be sent fails the transfer at once.
func (d *Daemon) refer(e phone.Refer) {
	c := d.calls[e.Call]
	if c == nil {
		return
	}
	target, replaces := d.Target(e.Number), sip.CallID("")
	if c.service != "" {
		d.pending = append(d.pending, phone.TransferProgress{Call: e.Call, Reason: "a service call cannot be transferred", Final: true})
		return
	}
	if e.Consult != "" {
		k := d.calls[e.Consult]
		if k == nil || k.service != "" {
			d.pending = append(d.pending, phone.TransferProgress{Call: e.Call, Reason: "no consultation call", Final: true})
			return
		}
		target, replaces = k.uri, k.id
	}
	if err := d.deps.Calls.Refer(c.id, target, replaces); err != nil {
		d.log.Warn("REFER failed", "call", string(e.Call), "target", target, "err", err)
		d.pending = append(d.pending, phone.TransferProgress{Call: e.Call, Reason: err.Error(), Final: true})
		return
	}
	d.log.Info("transferring", "call", string(e.Call), "target", target, "attended", replaces != "")
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
	if err := d.srtpKeys(&local); err != nil {
		rtp.Close()
		rtcp.Close()
		return mediaSockets{}, sdp.Media{}, err
	}
	return mediaSockets{rtp, rtcp}, local, nil
}

func (d *Daemon) startMedia(ref phone.CallRef) {
	c := d.calls[ref]
	if c != nil && c.streamed {
		if d.rekey(c) { // the final answer's keys differ from the early media's
			return
		}
		// Early media ran already: follow the final answer's media.
		d.media.RedirectLeg(string(ref), c.media.Remote, c.media.RTCP, true)
		c.answered = d.clk.Now()
		return
	}
	if c == nil || c.sock.rtp == nil || d.media == nil {
		return
	}
	err := d.media.StartLeg(string(ref), rtpstream.Params{
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
		SRTP:            legSRTP(c.media.SRTP),
		// From the leg's receive goroutine into the loop.
		OnDTMF: func(digit byte) {
			if err := d.Post(phone.DTMFReceived{Call: ref, Digit: digit}); err != nil {
				d.log.Warn("received DTMF dropped", "digit", string(digit), "err", err)
			}
		},
		Clock:  d.clk,
		Logger: d.log,
	})
	if err != nil {
		d.log.Error("media did not start", "call", string(ref), "err", err)
		return
	}
	c.streamed = true
	c.answered = d.clk.Now()
	c.legKeys = c.media.SRTP
	d.log.Info("call connected", "call", string(ref), "remote", c.media.Remote.String(), "codec", c.media.Codec.String(),
		"srtp", string(c.media.SRTP.Suite))
}

// checkMedia answers the machine's CheckMedia: how long the call has had
// no RTP (since it was answered, or since its last packet). The machine
// decides what that means (the RTP timeout, holds).
func (d *Daemon) checkMedia(ref phone.CallRef) {
	c := d.calls[ref]
	if c == nil || !c.streamed {
		return // no leg: nothing to watch
	}
	last := c.answered
	if st, ok := d.media.LegStats(string(ref)); ok && st.LastReceived.After(last) {
		last = st.LastReceived
	}
	silent := d.clk.Now().Sub(last)
	if silent >= d.m.MediaTimeout() {
		d.log.Warn("no RTP received", "call", string(ref), "silent", silent.Round(time.Millisecond).String())
	}
	d.pending = append(d.pending, phone.MediaSilence{Call: ref, Silent: silent})
}

func (d *Daemon) stopMedia(ref phone.CallRef) {
	c := d.calls[ref]
	if c == nil || !c.streamed {
		return
	}
	st, _ := d.media.StopLeg(string(ref))
	c.streamed = false
	c.sock = mediaSockets{} // closed with the leg
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

func (d *Daemon) startTimer(k timerKey, after time.Duration) {
	d.stopTimer(k)
	gen := d.timerGen[k]
	ctx := d.ctx
	d.timers[k] = d.clk.AfterFunc(after, func() {
		select {
		case d.timerC <- timerMsg{k, gen}:
		case <-ctx.Done():
		}
	})
}

func (d *Daemon) stopTimer(k timerKey) {
	d.timerGen[k]++
	if t := d.timers[k]; t != nil {
		t.Stop()
		delete(d.timers, k)
	}
}

// collect forgets every call the machine no longer has.
func (d *Daemon) collect() {
	for ref, c := range d.calls {
		if d.state.Get(ref) != nil {
			continue
		}
		if c.streamed {
			d.stopMedia(ref)
		}
		c.sock.close()
		delete(d.bySIP, c.id)
		delete(d.calls, ref)
		for k := range d.timerGen {
			if k.call == ref {
				d.stopTimer(k)
				delete(d.timerGen, k)
			}
		}
	}
}

// translate turns a SIP event into a phone event, or nil when it is about a
// call the phone has already forgotten (or is no phone event at all).
func (d *Daemon) translate(ev sip.Event) phone.Event {
	switch e := ev.(type) {
	case sip.CheckSync:
		if d.deps.CheckSync != nil {
			d.deps.CheckSync(e.Reboot)
		}
		return nil
	case sip.Registration:
		d.mu.Lock()
		prev := d.snap.reg.Hint
		d.snap.reg = Registration{
			State: string(e.State), Registrar: e.Registrar, Code: e.Code, Reason: e.Reason,
			Expires: e.Expires.Seconds(), RetryIn: e.RetryIn.Seconds(),
			Hint: registrationHint(string(e.State), e.Code, e.Reason),
		}
		hint := d.snap.reg.Hint
		d.mu.Unlock()
		if hint != "" && hint != prev {
			d.log.Warn("registration: "+hint, "registrar", e.Registrar, "code", e.Code, "reason", e.Reason)
		}
		d.publish()
		return nil
	case sip.Incoming:
		return d.incoming(e, replacesOf(e))
	}
	ref, ok := d.bySIP[ev.CallID()]
	if !ok {
		d.log.Debug("SIP event for a forgotten call", "event", fmt.Sprintf("%T", ev), "call_id", string(ev.CallID()))
		return nil
	}
	c := d.calls[ref]
	switch e := ev.(type) {
	case sip.Progress:
		if e.Media != nil {
			c.media = *e.Media
		}
		return phone.CallProgress{Call: ref, Code: e.Code, EarlyMedia: e.Media != nil}
	case sip.Answered:
		c.media = e.Media
		return phone.CallAnswered{Call: ref}
	case sip.Failed:
		d.log.Info("call failed", "code", e.Code, "reason", e.Reason)
		return phone.CallFailed{Call: ref, Code: e.Code, Reason: e.Reason}
	case sip.Modified:
		// A re-INVITE or UPDATE changed the media: the machine decides
		// what the far end's hold means (RFC 3264 §8.4).
		c.media = e.Media
		held := e.Media.Direction == "recvonly" || e.Media.Direction == "inactive"
		d.log.Info("call media changed by the far end", "remote", e.Media.Remote.String(), "direction", e.Media.Direction, "held", held)
		return phone.RemoteHold{Call: ref, Held: held}
	case Reinvited:
		if e.Code >= 200 && e.Code <= 299 && e.Media != nil {
			c.media = *e.Media
		}
		return phone.Reinvited{Call: ref, Code: e.Code, Reason: e.Reason}
	case TransferProgress:
		d.log.Info("transfer progress", "call", string(ref), "code", e.Code, "reason", e.Reason, "final", e.Final)
		return phone.TransferProgress{Call: ref, Code: e.Code, Reason: e.Reason, Final: e.Final}
	case Referred:
		d.log.Info("transferred by the far end", "call", string(ref), "target", e.Target)
		return phone.Referred{Call: ref, Target: e.Target, ReferredBy: e.ReferredBy, Replaces: e.Replaces}
	case sip.DTMF:
		return phone.DTMFReceived{Call: ref, Digit: e.Digit}
	case sip.Ended:
		d.log.Info("call ended by the network", "reason", e.Reason, "remote", e.Remote)
		return phone.CallEnded{Call: ref, Reason: e.Reason}
	}
	return nil
}

// incoming registers a new INVITE's call; replaces names the dialog it
// replaces (RFC 3891), if any.
func (d *Daemon) incoming(in sip.Incoming, replaces sip.CallID) phone.Event {
	ref := phone.CallRef("in-" + string(in.ID))
	from := partyName(in.From)
	d.calls[ref] = &call{ref: ref, id: in.ID, uri: in.From.URI, remote: from, dir: phone.Incoming}
	d.bySIP[in.ID] = ref
	d.log.Info("incoming call", "from", in.From.URI, "call_id", string(in.ID), "replaces", string(replaces))
	ev := phone.IncomingCall{Call: ref, From: from, AlertInfo: in.AlertInfo}
	if replaces != "" {
		ev.Replaces = d.bySIP[replaces]
		if ev.Replaces == "" {
			ev.Replaces = phone.CallRef("unknown-" + string(replaces)) // the machine answers 481
		}
	}
	return ev
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
	for _, c := range d.state.Calls {
		if dc := d.calls[c.Ref]; dc != nil && dc.service == "" {
			d.check("hang up", d.deps.Calls.Hangup(dc.id))
		}
	}
	d.state = phone.State{}
	if d.deps.Tones != nil {
		d.deps.Tones.StopTone()
	}
	if d.deps.Ringer != nil {
		d.deps.Ringer.SetRinger(false, "")
	}
	d.collect()
	d.publish()
}
