package rtpstream

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/firmware/clock"
)

var (
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	peer  = netip.MustParseAddrPort("192.0.2.7:40000")
)

func testStream(t testing.TB, pt uint8) (*Stream, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Unix(1000, 0))
	s, err := newStream(Params{Remote: peer, PayloadType: pt, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// packet marshals an RTP packet whose payload encodes samples all equal to v.
func packet(t testing.TB, pt uint8, seq uint16, ts, ssrc uint32, v int16, n int) []byte {
	t.Helper()
	c, err := codec.ForPayloadType(pt)
	if err != nil {
		c = codec.PCMU
	}
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	payload := make([]byte, n)
	c.EncodeFrame(payload, s)
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleRejectsGarbage(t *testing.T) {
	good := packet(t, 0, 10, 1000, 42, 1000, 160)
	v1 := append([]byte(nil), good...)
	v1[0] = 1 << 6
	badPad := append([]byte(nil), good...)
	badPad[0] |= 0x20         // padding bit
	badPad[len(badPad)-1] = 0 // zero padding length
	hugePad := append([]byte(nil), good...)
	hugePad[0] |= 0x20
	hugePad[len(hugePad)-1] = 255
	csrcs := append([]byte(nil), good[:12]...)
	csrcs[0] |= 0x0F // 15 CSRCs promised, none there
	ext := append([]byte(nil), good[:12]...)
	ext[0] |= 0x10 // extension promised, none there
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0x80}},
		{"11 bytes", good[:11]},
		{"header only", good[:12]},
		{"version 1", v1},
		{"version 0 (STUN-like)", append([]byte{0x00, 0x01, 0x00, 0x00}, make([]byte, 20)...)},
		{"wrong payload type 18", packet(t, 18, 10, 1000, 42, 0, 160)},
		{"PCMA on a PCMU stream", packet(t, 8, 10, 1000, 42, 0, 160)},
		{"telephone-event 101 not negotiated", packet(t, 101, 10, 1000, 42, 0, 4)},
		{"zero padding length", badPad},
		{"padding longer than packet", hugePad},
		{"missing CSRCs", csrcs},
		{"missing extension", ext},
		{"RTCP receiver report", []byte{0x81, 201, 0, 1, 0, 0, 0, 42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := testStream(t, 0)
			s.handle(tt.b, peer)
			st := s.Stats()
			if st.PacketsReceived != 0 || st.PacketsInvalid != 1 {
				t.Fatalf("received %d invalid %d, want 0 and 1", st.PacketsReceived, st.PacketsInvalid)
			}
			f := make([]int16, 160)
			for i := 0; i < 4; i++ {
				s.Receive(f)
				for _, x := range f {
					if x != 0 {
						t.Fatal("garbage reached playout")
					}
				}
			}
		})
	}
}

func TestHandlePlaysOut(t *testing.T) {
	for _, pt := range []uint8{0, 8} {
		s, clk := testStream(t, pt)
		clk.Advance(time.Second)
		for i := 0; i < 3; i++ {
			s.handle(packet(t, pt, uint16(65534+i), uint32(4294967000)+uint32(160*i), 42, int16(1000*(i+1)), 160), peer)
		}
		st := s.Stats()
		if st.PacketsReceived != 3 || st.BytesReceived != 480 || st.PacketsLost != 0 || st.RemoteSSRC != 42 ||
			!st.LastReceived.Equal(time.Unix(1001, 0)) {
			t.Fatalf("PT %d stats %+v", pt, st)
		}
		f := make([]int16, 160)
		// Playout starts at the 40 ms minimum delay: one frame of prefill
		// before the first packet's 20 ms; concealment delays audio by a
		// further plc.Delay (30) samples, so f[80] is still packet i's.
		s.Receive(f)
		for i := 0; i < 3; i++ {
			s.Receive(f)
			want := float64(1000 * (i + 1))
			if got := float64(f[80]); got < want*0.95 || got > want*1.05 {
				t.Fatalf("PT %d frame %d: %v, want about %v", pt, i, got, want)
			}
		}
	}
}

func TestLossAccounting(t *testing.T) {
	// Each step: sequence numbers received; expected cumulative loss after.
	tests := []struct {
		name string
		seqs []uint16
		lost uint64
		recv uint64
	}{
		{"in order", []uint16{1, 2, 3, 4}, 0, 4},
		{"one gap", []uint16{1, 2, 4, 5}, 1, 4},
		{"gap later filled (reorder)", []uint16{1, 2, 4, 3, 5}, 0, 5},
		{"duplicates never make loss negative", []uint16{1, 2, 2, 2, 3}, 0, 5},
		{"across the wrap", []uint16{65534, 65535, 1, 2}, 1, 4},
		{"big jump believed after two", []uint16{1, 2, 30000, 30001, 30002}, 0, 4},
		{"single wild packet dropped", []uint16{1, 2, 30000, 3, 4}, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := testStream(t, 0)
			for i, q := range tt.seqs {
				s.handle(packet(t, 0, q, uint32(160*i), 7, 0, 160), peer)
			}
			st := s.Stats()
			if st.PacketsLost != tt.lost || st.PacketsReceived != tt.recv {
				t.Fatalf("lost %d received %d, want %d %d", st.PacketsLost, st.PacketsReceived, tt.lost, tt.recv)
			}
		})
	}
}

func TestSSRCChangeRestarts(t *testing.T) {
	s, _ := testStream(t, 0)
	s.handle(packet(t, 0, 100, 0, 1, 500, 160), peer)
	s.handle(packet(t, 0, 9000, 777777, 2, 900, 160), peer) // new source
	s.handle(packet(t, 0, 9002, 777777+320, 2, 900, 160), peer)
	st := s.Stats()
	if st.RemoteSSRC != 2 || st.PacketsLost != 1 || st.PacketsReceived != 3 {
		t.Fatalf("%+v", st)
	}
	f := make([]int16, 160)
	s.Receive(f)
	s.Receive(f)
	s.Receive(f)
	if f[10] < 800 {
		t.Fatalf("new source not played: %d", f[10])
	}
}

func TestHandleNoAllocs(t *testing.T) {
	s, _ := testStream(t, 0)
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = packet(t, 0, uint16(i), uint32(i*160), 9, 100, 160)
	}
	f := make([]int16, 160)
	i := 0
	if a := testing.AllocsPerRun(50, func() {
		s.handle(pkts[i%64], peer)
		s.Receive(f)
		i++
	}); a != 0 {
		t.Fatalf("%v allocs per packet", a)
	}
}

func FuzzHandle(f *testing.F) {
	f.Add(packet(f, 0, 1, 160, 5, 300, 160))
	f.Add(packet(f, 0, 65535, 0xFFFFFF00, 5, -300, 1))
	f.Add(packet(f, 8, 1, 160, 5, 300, 160))
	f.Add(append([]byte{0xBF, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 60)...)) // CSRCs+ext+pad bits
	f.Add([]byte{0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 0xFF})
	f.Add([]byte{0xA0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := testStream(t, 0)
		s.handle(b, peer)
		s.handle(b, peer) // and again, as a duplicate
		frame := make([]int16, 160)
		for i := 0; i < 4; i++ {
			s.Receive(frame)
		}
		st := s.Stats()
		if st.PacketsReceived+st.PacketsInvalid != 2 {
			t.Fatalf("packets unaccounted for: %+v", st)
		}
		if st.PacketsLost > 1<<16 {
			t.Fatalf("absurd loss %d", st.PacketsLost)
		}
	})
}

func BenchmarkReceiveDecode(b *testing.B) {
	s, _ := testStream(b, 0)
	p := packet(b, 0, 0, 0, 9, 100, 160)
	f := make([]int16, 160)
	b.ReportAllocs()
	var seq uint16
	var ts uint32
	for b.Loop() {
		binary.BigEndian.PutUint16(p[2:], seq)
		binary.BigEndian.PutUint32(p[4:], ts)
		s.handle(p, peer)
		s.Receive(f)
		seq++
		ts += 160
	}
	if st := s.Stats(); st.PacketsInvalid != 0 || st.Playout.Late != 0 || st.PacketsLost != 0 {
		b.Fatalf("%+v", st)
	}
}
