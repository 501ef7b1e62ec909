package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
)

// lockedBuffer is a bytes.Buffer safe for the loop's and the test's use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Each side sends the packet time the other's SDP asks for (RFC 4566 §6
// a=ptime); RTCP reports flow both ways (RFC 3550 §6); the status shows
// the call's quality, jitter buffer and reports while it runs, and one
// log line sums the call up at its end.
func TestCallQualityPtimeAndRTCP(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e6, 0))
	logs := &lockedBuffer{}
	a := newPhoneLog(t, "1001", clk, phone.DefaultConfig(), slog.New(slog.NewTextHandler(logs, nil)))
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	a.d.opts.Ptime = 30 // A's offer asks B for 30 ms packets
	b.d.opts.Ptime = 10 // B's answer asks A for 10 ms packets
	ring(a, b)
	answer(a, b)
	for _, side := range []struct {
		p       *testPhone
		payload uint64
	}{{a, 80}, {b, 240}} {
		// The frame read as the stream started was 20 ms: count after it.
		side.p.waitFor("packets sent", func(Status) bool {
			st, ok := side.p.stats()
			return ok && st.PacketsSent >= 2
		})
		st0, _ := side.p.stats()
		side.p.waitFor("more packets sent", func(Status) bool {
			st, _ := side.p.stats()
			return st.PacketsSent >= st0.PacketsSent+5
		})
		st, _ := side.p.stats()
		if got := (st.BytesSent - st0.BytesSent) / (st.PacketsSent - st0.PacketsSent); got != side.payload {
			t.Fatalf("%s sends %d-octet packets, want %d", side.p.d.opts.User, got, side.payload)
		}
	}

	// A's reports run on the fake clock, B's on the real one (1-3 s).
	for i := 0; i < 70 && b.d.Status().Call.RTCP.Received == 0; i++ {
		clk.Advance(100 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	st := a.waitFor("B's report at A", func(s Status) bool {
		return s.Call != nil && s.Call.RTCP != nil && s.Call.RTCP.Received > 0 && s.Call.RTCP.RemoteLossPct != nil
	})
	c := st.Call
	if m := c.Media; m == nil || m.PtimeMs != 10 || !strings.HasPrefix(m.Local, "127.0.0.1:") ||
		!strings.HasPrefix(m.Remote, "127.0.0.1:") || m.RemoteRTCP == "" || m.Latched {
		t.Fatalf("A's media %+v, want 10 ms packets between loopback addresses, unlatched", c.Media)
	}
	if c.RTCP.Sent == 0 || *c.RTCP.RemoteLossPct != 0 {
		t.Fatalf("A's RTCP %+v", *c.RTCP)
	}
	if c.Quality == nil || c.Quality.PacketsReceived == 0 || c.Quality.PacketsLost != 0 || c.Quality.MOS < 4 {
		t.Fatalf("A's quality %+v", c.Quality)
	}
	// The jitter buffer's delay within its bounds (A stamps arrivals on
	// the fake clock, so its estimate is the test's, not the network's).
	for _, p := range []*testPhone{a, b} {
		if pl := p.d.Status().Call.Playout; pl == nil || pl.TargetMs < 40 || pl.TargetMs > 200 {
			t.Fatalf("%s's playout %+v, want a target of 40-200 ms", p.d.opts.User, pl)
		}
	}

	a.post(phone.Hook{OffHook: false})
	a.waitState("idle")
	last := a.d.Status().LastCall
	if last == nil || last.Quality == nil || last.Quality.PacketsSent == 0 || last.Playout == nil {
		t.Fatalf("A's last call %+v", last)
	}
	var ended []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="call ended"`) {
			ended = append(ended, l)
		}
	}
	if len(ended) != 1 || !strings.Contains(ended[0], "quality.mos=") || !strings.Contains(ended[0], "quality.loss_pct=0") ||
		!strings.Contains(ended[0], "quality.jitter_ms=") || !strings.Contains(ended[0], "quality.rtt_ms=") {
		t.Fatalf("end-of-call log lines %q, want one with the quality", ended)
	}
}

// ringRecorder is the UA with its ring-at-once setting recorded.
type ringRecorder struct {
	*sip.UA
	on atomic.Bool
}

func (r *ringRecorder) SetRingAtOnce(on bool) {
	r.on.Store(on)
	r.UA.SetRingAtOnce(on)
}

// The SIP layer answers INVITEs with 180 by itself exactly while the phone
// is idle: not with the handset up, not during a call.
func TestRingAtOnceOnlyWhenIdle(t *testing.T) {
	var rec *ringRecorder
	a := newPhone(t, "1001", clock.Real{}, phone.DefaultConfig())
	b := newPhoneWith(t, "1002", clock.Real{}, phone.DefaultConfig(), quietLogger(), func(ua *sip.UA) userAgent {
		rec = &ringRecorder{UA: ua}
		return rec
	})
	b.post(phone.Hook{OffHook: true})
	b.waitState("dialtone")
	if rec.on.Load() {
		t.Fatal("ring at once with the handset up")
	}
	b.post(phone.Hook{OffHook: false})
	b.waitFor("ring at once when idle", func(Status) bool { return rec.on.Load() })
	ring(a, b)
	if rec.on.Load() {
		t.Fatal("ring at once while ringing")
	}
	answer(a, b)
	a.post(phone.Hook{OffHook: false})
	b.waitState("busy")
	b.post(phone.Hook{OffHook: false})
	b.waitFor("ring at once after the call", func(Status) bool { return rec.on.Load() })
}
