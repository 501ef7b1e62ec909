package rtpstream_test

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	quiet    = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	tier.Component(t, "RTP between streams on loopback sockets, in real time")
	c, err := rtpstream.Listen(loopback, 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addr(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// waitFor polls cond until it holds or a generous deadline passes. It is
// for waiting on the network, never for asserting timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestTwoStreamsExchangeTones runs two Streams on loopback sockets, one
// sending 700 Hz and the other 1100 Hz, and checks each hears the other.
func TestTwoStreamsExchangeTones(t *testing.T) {
	for _, c := range []codec.Codec{codec.PCMU, codec.PCMA} {
		t.Run(c.Name, func(t *testing.T) {
			ca, cb := listen(t), listen(t)
			a, err := rtpstream.New(rtpstream.Params{Conn: ca, Remote: addr(cb), PayloadType: c.PayloadType, Clock: clock.Real{}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := rtpstream.New(rtpstream.Params{Conn: cb, Remote: addr(ca), PayloadType: c.PayloadType, Clock: clock.Real{}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()

			// Lock-step: each frame is sent both ways and has arrived before
			// both sides play a frame, as a 20 ms loop on a quiet network.
			// Playout starts at the 40 ms minimum delay: one frame of
			// prefill (the delay less the packet's own 20 ms), then the
			// frames in order.
			const frames = 50
			ga, gb := tone.NewGenerator(tone.MustParse("700/0")), tone.NewGenerator(tone.MustParse("1100/0"))
			fa, fb := make([]int16, 160), make([]int16, 160)
			sides := []struct {
				name  string
				s     *rtpstream.Stream
				want  float64
				heard int
			}{{"A hears B", a, 1100, 0}, {"B hears A", b, 700, 0}}
			f := make([]int16, 160)
			for i := 0; i <= frames; i++ {
				if i < frames {
					ga.Fill(fa)
					gb.Fill(fb)
					if err := a.Send(fa); err != nil {
						t.Fatal(err)
					}
					if err := b.Send(fb); err != nil {
						t.Fatal(err)
					}
					n := uint64(i + 1)
					waitFor(t, "the packets", func() bool {
						return a.Stats().PacketsReceived == n && b.Stats().PacketsReceived == n
					})
				}
				for k := range sides {
					side := &sides[k]
					side.s.Receive(f)
					freq, frac, ok := detect.Dominant(f, []float64{700, 1100})
					if i < 1 {
						if ok {
							t.Fatalf("%s: audio during the prefill (frame %d)", side.name, i)
						}
						continue
					}
					minFrac := 0.9
					if i == 1 {
						minFrac = 0.7 // its first plc.Delay samples are still prefill
					}
					if !ok || freq != side.want || frac < minFrac {
						t.Fatalf("%s: frame %d dominant %v Hz (%.2f, ok=%v), want %v Hz", side.name, i, freq, frac, ok, side.want)
					}
					side.heard++
				}
			}
			for _, side := range sides {
				heard := side.heard
				st := side.s.Stats()
				if heard != frames || st.PacketsLost != 0 || st.PacketsSent != frames || st.BytesSent != frames*160 ||
					st.BytesReceived != frames*160 || st.LastReceived.IsZero() || st.PacketsInvalid != 0 {
					t.Fatalf("%s: heard %d frames, stats %+v", side.name, heard, st)
				}
			}
			if err := a.Send(fa); err != nil {
				t.Fatal(err)
			}
			a.Close()
			if err := a.Send(fa); err == nil {
				t.Fatal("Send after Close succeeded")
			}
		})
	}
}

// TestWireFormat captures a Stream's packets with a plain UDP socket.
func TestWireFormat(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	for _, c := range []codec.Codec{codec.PCMU, codec.PCMA} {
		t.Run(c.Name, func(t *testing.T) {
			raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			s, err := rtpstream.New(rtpstream.Params{Conn: listen(t), Remote: addr(raw), PayloadType: c.PayloadType, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			g := tone.NewGenerator(tone.MustParse("700/0"))
			f := make([]int16, 160)
			const n = 30
			for i := 0; i < n; i++ {
				g.Fill(f)
				if err := s.Send(f); err != nil {
					t.Fatal(err)
				}
			}
			raw.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 2048)
			var first rtp.Packet
			for i := 0; i < n; i++ {
				m, err := raw.Read(buf)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				var p rtp.Packet
				if err := p.Unmarshal(buf[:m]); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if m != 12+160 || p.Version != 2 || p.PayloadType != c.PayloadType || p.Padding || p.Extension || len(p.CSRC) != 0 {
					t.Fatalf("packet %d: %d bytes, header %+v", i, m, p.Header)
				}
				if p.Marker != (i == 0) {
					t.Fatalf("packet %d: marker %v", i, p.Marker)
				}
				if i == 0 {
					first = *p.Clone()
				} else {
					if p.SSRC != first.SSRC {
						t.Fatalf("packet %d: SSRC %#x, want %#x", i, p.SSRC, first.SSRC)
					}
					if p.SequenceNumber != first.SequenceNumber+uint16(i) {
						t.Fatalf("packet %d: seq %d, want %d", i, p.SequenceNumber, first.SequenceNumber+uint16(i))
					}
					if p.Timestamp != first.Timestamp+uint32(160*i) {
						t.Fatalf("packet %d: ts %d, want %d", i, p.Timestamp, first.Timestamp+uint32(160*i))
					}
				}
				dec := make([]int16, 160)
				c.DecodeFrame(dec, p.Payload)
				if !detect.Present(dec, 700) {
					t.Fatalf("packet %d: payload is not the 700 Hz tone", i)
				}
			}
			if st := s.Stats(); st.SSRC != first.SSRC || st.PacketsSent != n {
				t.Fatalf("stats %+v", st)
			}
			// A new talkspurt sets the marker again.
			s.StartTalkspurt()
			s.Send(f)
			s.Send(f)
			for _, want := range []bool{true, false} {
				m, err := raw.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				if got := buf[1]&0x80 != 0; got != want || m != 172 {
					t.Fatalf("after StartTalkspurt marker %v, want %v", got, want)
				}
			}
		})
	}
}

func TestRandomStart(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	// Two streams start from different random sequence numbers,
	// timestamps and SSRCs (RFC 3550 §5.1); equal all three would be a
	// 2^-64 coincidence.
	raw, _ := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	defer raw.Close()
	var heads [2]rtp.Header
	for i := range heads {
		s, err := rtpstream.New(rtpstream.Params{Conn: listen(t), Remote: addr(raw), PayloadType: 0, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		s.Send(make([]int16, 160))
		s.Close()
		buf := make([]byte, 2048)
		raw.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := raw.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		heads[i].Unmarshal(buf[:m])
	}
	if heads[0].SSRC == heads[1].SSRC && heads[0].SequenceNumber == heads[1].SequenceNumber && heads[0].Timestamp == heads[1].Timestamp {
		t.Fatal("two streams started identically")
	}
}

func TestNewErrors(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	c := listen(t)
	defer c.Close()
	for _, p := range []rtpstream.Params{
		{Remote: addr(c)},
		{Conn: c},
		{Conn: c, Remote: addr(c), PayloadType: 18},
	} {
		if _, err := rtpstream.New(p); err == nil {
			t.Errorf("New(%+v) succeeded", p)
		}
	}
}

func BenchmarkEncodeSend(b *testing.B) {
	raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	s, err := rtpstream.New(rtpstream.Params{Conn: listen(b), Remote: addr(raw), PayloadType: 0, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f := make([]int16, 160)
	tone.NewGenerator(tone.US[tone.Dial]).Fill(f)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(f); err != nil {
			b.Fatal(err)
		}
	}
}
