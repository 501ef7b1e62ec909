package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

// pacedDevice is a sound card on the real clock: each Read returns when
// its frame's time has passed (as a capture does), with the handset's mic
// tone; Writes are kept.
type pacedDevice struct {
	mic  []int16
	next time.Time

	mu     sync.Mutex
	played [][]int16
}

func (d *pacedDevice) Read(f []int16) error {
	now := time.Now()
	if d.next.IsZero() {
		d.next = now
	}
	d.next = d.next.Add(audio.Duration(len(f)))
	time.Sleep(time.Until(d.next))
	copy(f, d.mic)
	return nil
}

func (d *pacedDevice) Write(f []int16) error {
	d.mu.Lock()
	d.played = append(d.played, append([]int16(nil), f...))
	d.mu.Unlock()
	return nil
}

func (d *pacedDevice) Close() error { return nil }

// rtpPeer is a remote party made of a raw UDP socket: for each audio
// packet it receives it keeps the decoded audio and answers with one
// 20 ms PCMU packet of its own tone, so the phone's sound card paces it.
type rtpPeer struct {
	conn  *net.UDPConn
	gen   *tone.Generator
	ssrc  uint32
	seq   uint16
	ts    uint32
	mu    sync.Mutex
	heard []int16
}

func (p *rtpPeer) run() {
	buf := make([]byte, 2048)
	pcm := make([]int16, audio.FrameSamples)
	out := make([]byte, 12+audio.FrameSamples)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[0]>>6 != 2 || buf[1]&0x7F != codec.PayloadTypePCMU {
			continue
		}
		dec := make([]int16, n-12)
		codec.PCMU.DecodeFrame(dec, buf[12:n])
		p.mu.Lock()
		p.heard = append(p.heard, dec...)
		p.mu.Unlock()

		p.gen.Fill(pcm)
		out[0], out[1] = 0x80, codec.PayloadTypePCMU // RFC 3550 §5.1: V=2
		binary.BigEndian.PutUint16(out[2:], p.seq)
		binary.BigEndian.PutUint32(out[4:], p.ts)
		binary.BigEndian.PutUint32(out[8:], p.ssrc)
		codec.PCMU.EncodeFrame(out[12:], pcm)
		p.seq++
		p.ts += audio.FrameSamples
		if _, err := p.conn.WriteToUDPAddrPort(out, from); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func (p *rtpPeer) last(n int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.heard[max(len(p.heard)-n, 0):]...)
}

// TestConferenceOverUDP: three real rtpstream legs on loopback, each to a
// raw RTP peer sending its own tone; in a 3-way conference each peer
// hears the other two and the handset, never itself, and the handset
// hears all three.
func TestConferenceOverUDP(t *testing.T) {
	tier.Component(t, "real UDP sockets and a sound card paced by the real clock")
	lo := netip.MustParseAddr("127.0.0.1")
	dev := &pacedDevice{mic: sine(micHz, maxFrame)}
	e := New(dev, clock.Real{}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	ids := []string{"a", "b", "c"}
	peers := map[string]*rtpPeer{}
	for i, id := range ids {
		raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
		if err != nil {
			t.Fatal(err)
		}
		p := &rtpPeer{conn: raw, ssrc: uint32(0x1000 + i),
			gen: tone.NewGenerator(tone.MustParse(strconv.Itoa(int(legHz[id])) + "/0"))}
		peers[id] = p
		go p.run()
		defer raw.Close()
		conn, err := rtpstream.Listen(lo, 30000, 39999)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.StartLeg(id, rtpstream.Params{Conn: conn, Remote: raw.LocalAddr().(*net.UDPAddr).AddrPort(),
			PayloadType: codec.PayloadTypePCMU, Clock: clock.Real{}}); err != nil {
			conn.Close()
			t.Fatal(err)
		}
	}
	e.SetMix(Mix{Conference: ids})

	// 1.2 s of call: the jitter buffers fill (40 ms minimum delay), then
	// judge the last 400 ms each party heard.
	const judge = 20 * audio.FrameSamples
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for len(peers[id].last(60*audio.FrameSamples)) < 60*audio.FrameSamples {
			if time.Now().After(deadline) {
				t.Fatalf("peer %s heard %d samples", id, len(peers[id].last(1<<20)))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, id := range ids {
		want := []float64{micHz}
		for _, other := range ids {
			if other != id {
				want = append(want, legHz[other])
			}
		}
		hearsExactly(t, "peer "+id, peers[id].last(judge), want...)
	}
	dev.mu.Lock()
	var handset []int16
	for _, f := range dev.played[max(len(dev.played)-20, 0):] {
		handset = append(handset, f...)
	}
	dev.mu.Unlock()
	hearsExactly(t, "handset", handset, legHz["a"], legHz["b"], legHz["c"])

	for _, id := range ids {
		st, ok := e.StopLeg(id)
		if !ok || st.PacketsReceived < 50 || st.PacketsSent < 50 {
			t.Errorf("leg %s: %v sent %d received %d", id, ok, st.PacketsSent, st.PacketsReceived)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReplaceLegKeepsPort: a re-INVITE changes the codec and keeps our
// port: StartLeg with the leg's own sockets hands them to the new stream,
// which sends the new codec from the same port and receives on it.
func TestReplaceLegKeepsPort(t *testing.T) {
	tier.Component(t, "real UDP sockets on loopback")
	lo := netip.MustParseAddr("127.0.0.1")
	peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, rtcpConn, err := rtpstream.ListenPair(lo, 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	dev := newFakeDevice(true)
	dev.mic = sine(micHz, maxFrame)
	h := start(t, dev)
	h.e.SetMix(Mix{Focus: "a"})
	p := rtpstream.Params{Conn: conn, RTCPConn: rtcpConn, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(),
		PayloadType: codec.PayloadTypePCMU, Clock: clock.Real{}}
	buf := make([]byte, 2048)
	// recv returns the payload type, source and decoded audio of the
	// next packet the peer receives.
	recv := func() (uint8, netip.AddrPort, []int16) {
		t.Helper()
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil || n != 12+audio.FrameSamples {
			t.Fatalf("peer read %d bytes: %v", n, err)
		}
		pt := buf[1] & 0x7F
		c, err := codec.ForPayloadType(pt)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, audio.FrameSamples)
		c.DecodeFrame(pcm, buf[12:n])
		return pt, from, pcm
	}
	for _, pt := range []uint8{codec.PayloadTypePCMU, codec.PayloadTypePCMA} {
		p.PayloadType = pt
		if err := h.e.StartLeg("a", p); err != nil {
			t.Fatal(err)
		}
		h.frame(t)
		got, from, pcm := recv()
		if got != pt || from.Port() != conn.LocalAddr().(*net.UDPAddr).AddrPort().Port() {
			t.Fatalf("packet of payload type %d from %v, want %d from our port %v", got, from, pt, conn.LocalAddr())
		}
		hearsExactly(t, "peer", pcm, micHz)
	}
	// The new stream receives on the handed-over socket.
	pkt := make([]byte, 12+audio.FrameSamples)
	pkt[0], pkt[1] = 0x80, codec.PayloadTypePCMA
	binary.BigEndian.PutUint32(pkt[8:], 42)
	deadline := time.Now().Add(10 * time.Second)
	for seq := uint16(1); ; seq++ {
		if st, _ := h.e.LegStats("a"); st.PacketsReceived > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replacement leg receives nothing on the kept port")
		}
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*audio.FrameSamples)
		if _, err := peer.WriteToUDPAddrPort(pkt, conn.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitUntil(t, "the loop in Read", func() bool { return dev.entered.Load() > dev.reads.Load() })
	if _, ok := h.e.StopLeg("a"); !ok {
		t.Fatal("no leg a")
	}
	h.frame(t)
}
