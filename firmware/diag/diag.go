// Package diag is the technician's diagnostics: a SIP message trace in the
// log and an on-demand packet capture of SIP, RTP and RTCP as a pcap file.
//
// Both hang off process-wide hooks, installed once at start (Install):
// sipgo's SIP tracer (every message its UDP and TCP/TLS connections read
// and write; sipgo's SIPDebug switch, read without synchronisation, is
// set once before any transport exists) and rtpstream's Tap, set only
// while a capture runs. With the trace and the capture off, a SIP message
// costs sipgo two address strings and this package two atomic loads; an
// RTP packet costs one atomic load.
//
// The trace logs each message (direction, transport, local and remote
// address) with its credentials masked (Mask), cut to TraceMax bytes, at
// most TraceBurst messages a second (the rest counted in the next line).
// TCP reads are stream chunks: they are cut into messages first (frame.go).
//
// The capture (capture.go) runs for a given time or until stopped, one at
// a time, at most MaxCaptureBytes; its file stays for download until the
// next capture starts.
package diag

import (
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/clock"
)

// TraceMax is the most of one message the trace logs.
const TraceMax = 2048

// TraceBurst is the most messages the trace logs per second.
const TraceBurst = 50

// Diag is the diagnostics hub. Use New.
type Diag struct {
	clk     clock.Clock
	log     atomic.Pointer[slog.Logger]
	secrets atomic.Pointer[[]string]
	trace   atomic.Bool
	active  atomic.Bool // trace on or a capture running: the SIP hook does work
	tls     atomic.Bool // SIP runs over TLS: sipgo's "TCP" connections are TLS

	mu      sync.Mutex
	streams map[streamKey]*splitter // TCP connections being cut into messages
	second  time.Time               // the rate limit's current second
	logged  int                     // messages logged in it
	held    int                     // messages not logged since the last one logged
	cap     *capture                // the current or last capture
	gen     int                     // capture generation, for its timer
}

type streamKey struct {
	write         bool
	local, remote string
}

// New returns a hub logging to log.
func New(clk clock.Clock, log *slog.Logger) *Diag {
	d := &Diag{clk: clk, streams: map[streamKey]*splitter{}}
	d.log.Store(log)
	d.secrets.Store(&[]string{})
	return d
}

// Install makes d sipgo's SIP tracer for the whole process. Call it once,
// before any SIP transport is created.
func (d *Diag) Install() {
	gosip.SIPDebugTracer(d)
	gosip.SIPDebug = true
}

// SetLogger changes where the trace goes (a restart builds a new log).
func (d *Diag) SetLogger(l *slog.Logger) { d.log.Store(l) }

// SetSecrets gives the configured passwords, masked wherever they appear
// in a traced message.
func (d *Diag) SetSecrets(s ...string) {
	c := append([]string(nil), s...)
	d.secrets.Store(&c)
}

// SetTLS says SIP runs over TLS (sip.transport = "tls"): sipgo names its
// TLS connections "TCP"; the trace names them "TLS" (their plain text).
func (d *Diag) SetTLS(on bool) { d.tls.Store(on) }

// SetSIPTrace turns the SIP trace on or off.
func (d *Diag) SetSIPTrace(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.trace.Swap(on) != on {
		d.log.Load().Info("sip trace switched", "on", on)
	}
	d.updateActive()
	if !on {
		clear(d.streams)
	}
}

// SIPTrace reports whether the SIP trace is on.
func (d *Diag) SIPTrace() bool { return d.trace.Load() }

// updateActive recomputes active; d.mu held.
func (d *Diag) updateActive() {
	d.active.Store(d.trace.Load() || (d.cap != nil && d.cap.running))
}

// SIPTraceRead implements sipgo's SIPTracer: a read from a connection.
func (d *Diag) SIPTraceRead(transport, laddr, raddr string, b []byte) {
	if d.active.Load() {
		d.sip(false, transport, laddr, raddr, b)
	}
}

// SIPTraceWrite implements sipgo's SIPTracer: a write to a connection.
func (d *Diag) SIPTraceWrite(transport, laddr, raddr string, b []byte) {
	if d.active.Load() {
		d.sip(true, transport, laddr, raddr, b)
	}
}

func (d *Diag) sip(write bool, transport, laddr, raddr string, b []byte) {
	if len(b) == 0 {
		return
	}
	// Masking and logging happen after the lock is let go: a slow log
	// never holds up the capture's RTP.
	for _, l := range d.sipLocked(write, transport, laddr, raddr, b) {
		d.logTrace(l)
	}
}

// traceLine is one message to log.
type traceLine struct {
	write           bool
	transport, l, r string
	msg             []byte
	unframed        bool
	held            int // messages not logged before it
}

func (d *Diag) sipLocked(write bool, transport, laddr, raddr string, b []byte) []traceLine {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clk.Now()
	if d.cap != nil && d.cap.running {
		d.capSIP(now, write, transport, laddr, raddr, b)
	}
	if !d.trace.Load() {
		return nil
	}
	var out []traceLine
	add := func(m []byte, unframed bool) {
		if sec := now.Truncate(time.Second); !sec.Equal(d.second) {
			d.second, d.logged = sec, 0
		}
		if d.logged >= TraceBurst {
			d.held++
			return
		}
		d.logged++
		out = append(out, traceLine{write, transport, laddr, raddr, m, unframed, d.held})
		d.held = 0
	}
	if transport == "UDP" {
		add(b, false)
		return out
	}
	if transport == "TCP" && d.tls.Load() {
		transport = "TLS"
	}
	k := streamKey{write, laddr, raddr}
	s := d.streams[k]
	if s == nil {
		if len(d.streams) >= maxStreams {
			clear(d.streams) // rare: many connections at once; restart the cutting
		}
		s = &splitter{}
		d.streams[k] = s
	}
	msgs, over := s.feed(b)
	for _, m := range msgs {
		add(m, false)
	}
	if over != nil {
		add(over, true)
	}
	return out
}

// logTrace logs one message, masked and cut.
func (d *Diag) logTrace(l traceLine) {
	dir := "recv"
	if l.write {
		dir = "sent"
	}
	text := Mask(l.msg, *d.secrets.Load())
	attrs := []any{"dir", dir, "transport", l.transport, "local", l.l, "remote", l.r, "bytes", len(l.msg)}
	if len(text) > TraceMax {
		text = append(text[:TraceMax:TraceMax], "…(cut, "+strconv.Itoa(len(text)-TraceMax)+" bytes more)"...)
	}
	if l.unframed {
		attrs = append(attrs, "unframed", true)
	}
	if l.held > 0 {
		attrs = append(attrs, "not_logged", l.held)
	}
	attrs = append(attrs, "sip", string(text))
	d.log.Load().Info("sip trace", attrs...)
}

// addrPort parses a sipgo address string; an unparsable one (never
// expected) becomes the unspecified address, port 0.
func addrPort(s string) netip.AddrPort {
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	return a
}

var _ gosip.SIPTracer = (*Diag)(nil)
var _ rtpstream.Tap = (*rtpTap)(nil)
