package rtpstream_test

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/dtmf"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

// TestDTMFBetweenStreams has stream A press "1" (held) and "#" (a quick
// press) towards stream B through a plain UDP socket in the middle that
// records every packet and forwards it. B must report exactly "1", "#",
// and the recording must be RFC 4733 on the wire.
func TestDTMFBetweenStreams(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	const pt = 101
	mid, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Close()
	ca, cb := listen(t), listen(t)
	var mu sync.Mutex
	var digits []byte
	// B's peer, as its SDP would say, is the relay A's packets come from.
	b, err := rtpstream.New(rtpstream.Params{Conn: cb, Remote: addr(mid), PayloadType: 0, Clock: clock.Real{}, Logger: quiet,
		DTMFPayloadType: pt, OnDTMF: func(d byte) { mu.Lock(); digits = append(digits, d); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := rtpstream.New(rtpstream.Params{Conn: ca, Remote: addr(mid), PayloadType: 0, Logger: quiet, DTMFPayloadType: pt})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// Each Send is exactly one datagram: relay it synchronously.
	var wire []rtp.Packet
	buf := make([]byte, 2048)
	frame := make([]int16, 160)
	for i := range frame {
		frame[i] = int16(1000 * (i % 4))
	}
	send := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if err := a.Send(frame); err != nil {
				t.Fatal(err)
			}
			mid.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := mid.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(buf[:m]); err != nil {
				t.Fatal(err)
			}
			wire = append(wire, *p.Clone())
			if _, err := mid.WriteToUDPAddrPort(buf[:m], addr(cb)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Key presses come from another goroutine (the phone's event loop).
	onOtherGoroutine := func(f func()) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
		wg.Wait()
	}

	send(3)
	onOtherGoroutine(func() {
		if err := a.StartDTMF('1'); err != nil {
			t.Error(err)
		}
	})
	send(10) // held for 200 ms
	onOtherGoroutine(a.StopDTMF)
	send(6)
	onOtherGoroutine(func() {
		if err := a.StartDTMF('#'); err != nil {
			t.Error(err)
		}
		a.StopDTMF() // a quick press: still 100 ms on the wire
	})
	send(12)

	waitFor(t, "B to receive every packet", func() bool { return b.Stats().PacketsReceived == uint64(len(wire)) })
	waitFor(t, "two digits", func() bool { mu.Lock(); defer mu.Unlock(); return len(digits) >= 2 })
	mu.Lock()
	got := string(digits)
	mu.Unlock()
	if got != "1#" {
		t.Fatalf("B reported %q, want \"1#\"", got)
	}

	// The wire: one SSRC, sequence numbers and the stream's timeline
	// continuing through the events.
	type event struct {
		code    uint8
		ts      uint32
		packets int
		ends    int
	}
	var events []*event
	var cur *event
	var lastDur uint16
	for i, p := range wire {
		if p.SSRC != wire[0].SSRC || p.SequenceNumber != wire[0].SequenceNumber+uint16(i) {
			t.Fatalf("packet %d: SSRC %#x seq %d", i, p.SSRC, p.SequenceNumber)
		}
		streamTS := wire[0].Timestamp + uint32(160*i)
		switch p.PayloadType {
		case pt:
			e, err := dtmf.Unmarshal(p.Payload)
			if err != nil || len(p.Payload) != 4 {
				t.Fatalf("packet %d: payload % x: %v", i, p.Payload, err)
			}
			if cur == nil {
				// RFC 4733 §2.5.1.1: marker on the first packet; the
				// timestamp is the event's start on the stream's timeline.
				if !p.Marker || p.Timestamp != streamTS || e.End || e.Duration != 160 {
					t.Fatalf("packet %d: first of an event: marker %v ts %d (want %d) %+v", i, p.Marker, p.Timestamp, streamTS, e)
				}
				cur = &event{code: e.Code, ts: p.Timestamp}
				events = append(events, cur)
				lastDur = 0
			} else {
				if p.Marker || p.Timestamp != cur.ts || e.Code != cur.code {
					t.Fatalf("packet %d: within an event: marker %v ts %d code %d", i, p.Marker, p.Timestamp, e.Code)
				}
			}
			switch {
			case cur.ends > 0:
				// §2.5.1.4: the retransmitted ends keep the final duration.
				if !e.End || e.Duration != lastDur {
					t.Fatalf("packet %d: after an end: %+v", i, e)
				}
			case e.Duration != lastDur+160:
				t.Fatalf("packet %d: duration %d after %d", i, e.Duration, lastDur)
			}
			if e.End {
				cur.ends++
			}
			if e.Volume != dtmf.DefaultVolume {
				t.Fatalf("packet %d: volume %d", i, e.Volume)
			}
			lastDur = e.Duration
			cur.packets++
		case 0:
			first := i == 0 || wire[i-1].PayloadType == pt
			if p.Marker != first || len(p.Payload) != 160 {
				t.Fatalf("packet %d: audio marker %v, want %v (new talkspurt after an event)", i, p.Marker, first)
			}
			if p.Timestamp != streamTS {
				t.Fatalf("packet %d: audio ts %d, want %d", i, p.Timestamp, streamTS)
			}
			if cur != nil && cur.ends != 3 {
				t.Fatalf("packet %d: audio after %d end packets", i, cur.ends)
			}
			cur = nil
		default:
			t.Fatalf("packet %d: payload type %d", i, p.PayloadType)
		}
	}
	// '1' held 10 frames, then released: 11 updates and ends...
	if len(events) != 2 || events[0].code != 1 || events[0].packets != 10+1+2 || events[0].ends != 3 ||
		events[1].code != 11 || events[1].packets != 5+2 || events[1].ends != 3 {
		for _, e := range events {
			t.Logf("%+v", *e)
		}
		t.Fatal("unexpected events")
	}
	if sa, sb := a.Stats(), b.Stats(); sa.DTMFSent != 2 || sa.DTMFPacketsSent != 20 || sa.PacketsSent != uint64(len(wire)) ||
		sb.DTMFReceived != 2 || sb.DTMFPacketsReceived != 20 || sb.PacketsLost != 0 || sb.PacketsInvalid != 0 {
		t.Fatalf("stats A %+v B %+v", sa, sb)
	}
}

// TestSendWithDTMFNoAllocs: pressing keys adds no allocation per frame.
func TestSendWithDTMFNoAllocs(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	s, err := rtpstream.New(rtpstream.Params{Conn: listen(t), Remote: addr(raw), PayloadType: 0, Logger: quiet, DTMFPayloadType: 96})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := make([]int16, 160)
	i := 0
	if a := testing.AllocsPerRun(100, func() {
		switch i % 20 {
		case 0:
			s.StartDTMF('5')
		case 2:
			s.StopDTMF()
		}
		if err := s.Send(f); err != nil {
			t.Fatal(err)
		}
		i++
	}); a != 0 {
		t.Fatalf("%v allocs per frame", a)
	}
	if st := s.Stats(); st.DTMFSent == 0 {
		t.Fatalf("no events sent: %+v", st)
	}
}
