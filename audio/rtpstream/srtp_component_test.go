package rtpstream_test

import (
	"bytes"
	"crypto/rand"
	"net"
	"sync"
	"testing"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

var srtpSuites = []struct {
	name   string
	keyLen int
	tagLen int // SRTP authentication tag, RFC 3711 §4.2 / RFC 7714 §7
}{
	{"AES_CM_128_HMAC_SHA1_80", 30, 10},
	{"AES_CM_128_HMAC_SHA1_32", 30, 4},
	{"AEAD_AES_128_GCM", 28, 16},
}

func randomKey(t testing.TB, n int) []byte {
	t.Helper()
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// Two SRTP streams on loopback, A's packets through a recording relay to
// B: B hears A's tone and A's DTMF digit, while what went over the wire
// is neither the G.711 of the tone nor anything a tone detector finds in
// it read as G.711 (RFC 3711 §3.1: the payload is encrypted), and each
// packet carries the suite's authentication tag.
func TestSRTPBetweenStreams(t *testing.T) {
	for _, suite := range srtpSuites {
		t.Run(suite.name, func(t *testing.T) {
			mid, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer mid.Close()
			ka, kb := randomKey(t, suite.keyLen), randomKey(t, suite.keyLen)
			ca, cb := listen(t), listen(t)
			var mu sync.Mutex
			var digits []byte
			b, err := rtpstream.New(rtpstream.Params{Conn: cb, Remote: addr(mid), PayloadType: 0, Clock: clock.Real{}, Logger: quiet,
				DTMFPayloadType: 101, OnDTMF: func(d byte) { mu.Lock(); digits = append(digits, d); mu.Unlock() },
				SRTP: &rtpstream.SRTP{Suite: suite.name, Local: kb, Remote: ka}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			a, err := rtpstream.New(rtpstream.Params{Conn: ca, Remote: addr(mid), PayloadType: 0, Clock: clock.Real{}, Logger: quiet,
				DTMFPayloadType: 101, SRTP: &rtpstream.SRTP{Suite: suite.name, Local: ka, Remote: kb}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()

			var wire [][]byte
			buf := make([]byte, 2048)
			relay := func() {
				t.Helper()
				n, err := mid.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				wire = append(wire, bytes.Clone(buf[:n]))
				if _, err := mid.WriteToUDPAddrPort(buf[:n], addr(cb)); err != nil {
					t.Fatal(err)
				}
			}
			gen := tone.NewGenerator(tone.MustParse("700/0"))
			f, clear := make([]int16, 160), make([][]byte, 0, 60)
			const frames = 30
			heard := 0
			for i := 0; i < frames; i++ {
				gen.Fill(f)
				g := make([]byte, 160)
				codec.PCMU.EncodeFrame(g, f)
				clear = append(clear, g)
				if err := a.Send(f); err != nil {
					t.Fatal(err)
				}
				relay()
				n := uint64(i + 1)
				waitFor(t, "B to take the packet", func() bool { return b.Stats().PacketsReceived == n })
				b.Receive(f)
				if freq, frac, ok := detect.Dominant(f, []float64{700, 1100}); ok && freq == 700 && frac > 0.9 {
					heard++
				}
			}
			if heard < frames-3 { // the jitter buffer's prefill
				t.Fatalf("B heard the tone in %d of %d frames", heard, frames)
			}
			// A key press goes out as protected RFC 4733 events.
			if err := a.StartDTMF('5'); err != nil {
				t.Fatal(err)
			}
			a.StopDTMF()
			for i := 0; i < 8; i++ {
				if err := a.Send(f); err != nil {
					t.Fatal(err)
				}
				relay()
			}
			waitFor(t, "the digit", func() bool { mu.Lock(); defer mu.Unlock(); return len(digits) == 1 && digits[0] == '5' })

			// The wire: every packet is RTP with an encrypted payload
			// and the suite's tag; no payload is the G.711 of its frame,
			// and the tone is not in the payloads read as G.711.
			pcm := make([]int16, 160)
			found := 0
			for i, w := range wire {
				var p rtp.Packet
				if err := p.Unmarshal(w); err != nil {
					t.Fatal(err)
				}
				if p.PayloadType == 101 {
					if len(p.Payload) != 4+suite.tagLen {
						t.Fatalf("event packet %d: payload %d octets, want 4 + the %d-octet tag", i, len(p.Payload), suite.tagLen)
					}
					continue
				}
				if len(p.Payload) != 160+suite.tagLen {
					t.Fatalf("packet %d: payload %d octets, want 160 + the %d-octet tag", i, len(p.Payload), suite.tagLen)
				}
				if i < len(clear) && bytes.Equal(p.Payload[:160], clear[i]) {
					t.Fatalf("packet %d went out in clear", i)
				}
				codec.PCMU.DecodeFrame(pcm, p.Payload[:160])
				if freq, _, ok := detect.Dominant(pcm, []float64{700}); ok && freq == 700 {
					found++
				}
			}
			if found > 0 {
				t.Fatalf("the tone is on the wire in %d packets", found)
			}
			st := b.Stats()
			if st.SRTP != suite.name || st.SRTPAuthFailed != 0 || st.SRTPReplayed != 0 || st.PacketsInvalid != 0 {
				t.Fatalf("B stats %+v", st)
			}
		})
	}
}

// BenchmarkSendSRTP is BenchmarkEncodeSend with AES_CM_128_HMAC_SHA1_80:
// the cost SRTP adds per packet sent.
func BenchmarkSendSRTP(b *testing.B) {
	for _, suite := range []string{"", "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"} {
		name := suite
		if name == "" {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			raw, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			p := rtpstream.Params{Conn: listen(b), Remote: addr(raw), PayloadType: 0, Logger: quiet}
			if suite != "" {
				n := 30
				if suite == "AEAD_AES_128_GCM" {
					n = 28
				}
				p.SRTP = &rtpstream.SRTP{Suite: suite, Local: randomKey(b, n), Remote: randomKey(b, n)}
			}
			s, err := rtpstream.New(p)
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
		})
	}
}
