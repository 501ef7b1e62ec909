package engine

import (
	"context"
	"errors"
	"math"
	"net"
	"slices"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
)

// maxFrame is the longest device frame and leg packet, 40 ms.
const maxFrame = rtpstream.MaxFrameSamples

// role is a leg's part in the mix.
type role uint8

const (
	held   role = iota // read, its audio dropped; sent silence
	focus              // the handset hears it and talks to it
	member             // in a conference: heard with the others, hears the others
)

// leg is one call's stream and the media loop's buffers for it. Only the
// loop touches the buffers and role; the control methods only add and
// remove legs (under Engine.mu) and call the stream's own safe methods.
type leg struct {
	id    string
	st    stream
	frame int // samples per packet
	// The sockets the stream was given, to tell a replacement that takes
	// them over.
	conn, rtcpConn *net.UDPConn

	role role

	// rx holds the packet last taken from the stream's jitter buffer;
	// rxPos is the next sample to play (len(rx): empty). tx collects the
	// packet being assembled; txN samples so far.
	rx    []int16
	rxPos int
	tx    []int16
	txN   int
	cur   []int16 // this device frame's received audio
	fails int     // consecutive send failures, logged once per run
}

func newLeg(id string, s stream, p rtpstream.Params) *leg {
	f := min(max(s.FrameSamples(), 1), maxFrame)
	return &leg{
		id: id, st: s, frame: f, conn: p.Conn, rtcpConn: p.RTCPConn,
		rx: make([]int16, f), rxPos: f,
		tx:  make([]int16, f),
		cur: make([]int16, maxFrame),
	}
}

// shares reports whether p hands the leg's own sockets to a new stream.
func (l *leg) shares(p rtpstream.Params) bool {
	return p.Conn != nil && p.Conn == l.conn || p.RTCPConn != nil && p.RTCPConn == l.rtcpConn
}

// pull fills dst with the leg's next received samples, taking a whole
// packet from the stream each time the last one is used up, so the
// stream's jitter buffer, PLC and DTMF reception always see whole packets.
func (l *leg) pull(dst []int16) {
	for len(dst) > 0 {
		if l.rxPos == len(l.rx) {
			l.st.Receive(l.rx)
			l.rxPos = 0
		}
		n := copy(dst, l.rx[l.rxPos:])
		l.rxPos += n
		dst = dst[n:]
	}
}

// push appends src to the packet being assembled and sends each packet
// that completes; it reports whether it sent any and the last send error.
func (l *leg) push(src []int16) (sent bool, err error) {
	for len(src) > 0 {
		n := copy(l.tx[l.txN:], src)
		l.txN += n
		src = src[n:]
		if l.txN == len(l.tx) {
			l.txN = 0
			sent = true
			if e := l.st.Send(l.tx); e != nil {
				err = e
			}
		}
	}
	return sent, err
}

// loop is the media loop's own state: a snapshot of the legs and mix,
// taken under Engine.mu only when they changed, and the buffers every
// frame reuses.
type loop struct {
	e       *Engine
	version uint64
	legs    []*leg
	frame   int // device frame, samples
	gen     *tone.Generator
	mute    bool

	mic, spk, out, tone []int16
	handset, conf       []int32
	dev                 failures
}

func newLoop(e *Engine) *loop {
	return &loop{
		e: e, version: math.MaxUint64, frame: audio.FrameSamples,
		mic: make([]int16, maxFrame), spk: make([]int16, maxFrame),
		out: make([]int16, maxFrame), tone: make([]int16, maxFrame),
		handset: make([]int32, maxFrame), conf: make([]int32, maxFrame),
	}
}

// sync takes the tone and mute every frame and, when the legs or the mix
// changed, a new snapshot of them with each leg's role and the device
// frame. It allocates only when the number of legs outgrows the snapshot.
func (lp *loop) sync() {
	e := lp.e
	e.mu.Lock()
	defer e.mu.Unlock()
	lp.gen, lp.mute = e.gen, e.mix.Mute
	if e.version == lp.version {
		return
	}
	lp.version = e.version
	clear(lp.legs)
	lp.legs = lp.legs[:0]
	conference := len(e.mix.Conference) >= 2
	g := 0
	for id, l := range e.legs {
		switch {
		case conference && slices.Contains(e.mix.Conference, id):
			l.role = member
		case !conference && id == e.mix.Focus:
			l.role = focus
		default:
			l.role = held
		}
		lp.legs = append(lp.legs, l)
		g = gcd(g, l.frame)
	}
	// The device runs at the legs' greatest common packet time (20 ms for
	// tones alone), so each leg's packets are whole device frames.
	lp.frame = audio.FrameSamples
	if g > 0 {
		lp.frame = g
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// step reads one device frame, mixes it and plays it; false when ctx
// ended during a device back-off.
func (lp *loop) step(ctx context.Context) bool {
	e := lp.e
	n := lp.frame
	mic, spk := lp.mic[:n], lp.spk[:n]
	if err := e.dev.Read(mic); err != nil {
		return e.deviceFailed(ctx, &lp.dev, "read", err)
	}
	// Take the legs and tone again after Read, so a change made while the
	// device was capturing applies to this very frame.
	lp.sync()
	lp.mix(mic, spk)
	if err := e.dev.Write(spk); err != nil {
		return e.deviceFailed(ctx, &lp.dev, "write", err)
	}
	if lp.dev.n > 0 {
		e.log.Info("sound device recovered", "failures", lp.dev.n)
		lp.dev = failures{}
	}
	return true
}

// mix reads every leg's audio for this frame, sends each leg what it is to
// hear and fills spk with what the handset hears. Sums are taken in int32
// and saturate at the int16 limits once, at the end. It allocates nothing.
func (lp *loop) mix(mic, spk []int16) {
	n := len(mic)
	hs, conf := lp.handset[:n], lp.conf[:n]
	clear(hs)
	clear(conf)
	for _, l := range lp.legs {
		cur := l.cur[:n]
		l.pull(cur) // held legs too: jitter buffer, PLC and DTMF keep running
		switch l.role {
		case focus:
			add(hs, cur)
		case member:
			add(hs, cur)
			add(conf, cur)
		}
	}
	out := lp.out[:n]
	for _, l := range lp.legs {
		switch l.role {
		case held:
			clear(out)
		case focus:
			if lp.mute {
				clear(out)
			} else {
				copy(out, mic)
			}
		case member:
			// The handset and the other members: the sum less its own.
			cur := l.cur[:n]
			if lp.mute {
				for i := range out {
					out[i] = saturate(conf[i] - int32(cur[i]))
				}
			} else {
				for i := range out {
					out[i] = saturate(conf[i] - int32(cur[i]) + int32(mic[i]))
				}
			}
		}
		lp.send(l, out)
	}
	if lp.gen != nil {
		t := lp.tone[:n]
		lp.gen.Fill(t)
		add(hs, t)
	}
	for i := range spk {
		spk[i] = saturate(hs[i])
	}
}

func (lp *loop) send(l *leg, out []int16) {
	sent, err := l.push(out)
	switch {
	case !sent:
	case err != nil && !errors.Is(err, rtpstream.ErrClosed):
		if l.fails == 0 {
			lp.e.log.Warn("rtp send failed", "leg", l.id, "err", err)
		}
		l.fails++
	case err == nil && l.fails > 0:
		lp.e.log.Info("rtp send recovered", "leg", l.id, "failures", l.fails)
		l.fails = 0
	}
}

func add(acc []int32, x []int16) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += int32(x[i])
	}
}

// saturate clamps a sum to the int16 range, as a sound card clips, rather
// than letting it wrap around.
func saturate(v int32) int16 {
	return int16(min(max(v, math.MinInt16), math.MaxInt16))
}
