package rtpstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/deskphone/phoned/audio/rtcp"
	"github.com/deskphone/phoned/firmware/clock"
)

func fixedKey(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// srtpTestStream is a handle-level stream with SRTP, and the peer's
// sending context (the stream's Remote key).
func srtpTestStream(t testing.TB, suite string) (*Stream, *srtp.Context) {
	t.Helper()
	n := 30
	if suite == "AEAD_AES_128_GCM" {
		n = 28
	}
	local, remote := fixedKey(n, 1), fixedKey(n, 2)
	s, err := newStream(Params{Remote: peer, PayloadType: 0, Clock: clock.NewFake(time.Unix(1000, 0)), Logger: quiet,
		SRTP: &SRTP{Suite: suite, Local: local, Remote: remote}})
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := profile(suite)
	kl, _ := prof.KeyLen()
	tx, err := srtp.CreateContext(remote[:kl], remote[kl:], prof)
	if err != nil {
		t.Fatal(err)
	}
	return s, tx
}

func protectWith(t testing.TB, tx *srtp.Context, plain []byte) []byte {
	t.Helper()
	b, err := tx.EncryptRTP(nil, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3711 §3.3: an authentic packet is played once; its replay, a
// tampered copy, a plain RTP packet and one made with another key are
// dropped and counted, never played.
func TestSRTPRejectsReplayTamperAndPlain(t *testing.T) {
	for _, suite := range []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"} {
		t.Run(suite, func(t *testing.T) {
			s, tx := srtpTestStream(t, suite)
			good := protectWith(t, tx, packet(t, 0, 10, 1600, 42, 1000, 160))
			s.handle(good, peer)
			s.handle(good, peer) // replay
			tampered := protectWith(t, tx, packet(t, 0, 11, 1760, 42, 1000, 160))
			tampered[20] ^= 1
			s.handle(tampered, peer)
			s.handle(packet(t, 0, 12, 1920, 42, 1000, 160), peer) // plain RTP
			forged, err := srtp.CreateContext(fixedKey(16, 9), fixedKey(14, 9), srtp.ProtectionProfileAes128CmHmacSha1_80)
			if err != nil {
				t.Fatal(err)
			}
			s.handle(protectWith(t, forged, packet(t, 0, 13, 2080, 42, 1000, 160)), peer) // another key
			st := s.Stats()
			if st.PacketsReceived != 1 || st.SRTPReplayed != 1 || st.SRTPAuthFailed != 3 || st.SRTP != suite {
				t.Fatalf("received %d, replayed %d, auth failed %d, suite %q; want 1, 1, 3",
					st.PacketsReceived, st.SRTPReplayed, st.SRTPAuthFailed, st.SRTP)
			}
			// What was played is the one authentic packet's audio.
			if st.Playout.Received != 1 {
				t.Fatalf("playout took %d packets", st.Playout.Received)
			}
		})
	}
}

// Unusable SRTP parameters are refused by New, and the keys never print.
func TestSRTPParams(t *testing.T) {
	for _, p := range []*SRTP{
		{Suite: "AES_256_CM_HMAC_SHA1_80", Local: fixedKey(30, 1), Remote: fixedKey(30, 2)},
		{Suite: "AES_CM_128_HMAC_SHA1_80", Local: fixedKey(28, 1), Remote: fixedKey(30, 2)},
		{Suite: "AEAD_AES_128_GCM", Local: fixedKey(28, 1), Remote: fixedKey(30, 2)},
		{Suite: "AES_CM_128_HMAC_SHA1_80"},
	} {
		if _, err := newStream(Params{Remote: peer, SRTP: p, Logger: quiet}); !errors.Is(err, ErrSRTP) {
			t.Errorf("%s with %d/%d-octet keys: err %v", p.Suite, len(p.Local), len(p.Remote), err)
		}
	}
	p := SRTP{Suite: "AES_CM_128_HMAC_SHA1_80", Local: fixedKey(30, 0xAB), Remote: fixedKey(30, 0xCD)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%s", "%d"} {
		for _, v := range []any{p, &p, Params{SRTP: &p}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), "abab") || strings.Contains(out, "171 171") || strings.Contains(out, "\xab\xab") {
				t.Fatalf("%s of %T shows the key: %s", verb, v, out)
			}
		}
	}
}

// The media loop and the receiver keep their no-allocation budget with
// SRTP on.
func TestSRTPNoAllocs(t *testing.T) {
	s, tx := srtpTestStream(t, "AES_CM_128_HMAC_SHA1_80")
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = protectWith(t, tx, packet(t, 0, uint16(i), uint32(i*160), 9, 100, 160))
	}
	f := make([]int16, 160)
	i := 0
	if a := testing.AllocsPerRun(50, func() {
		s.handle(pkts[i%64], peer)
		s.Receive(f)
		i++
	}); a != 0 {
		t.Fatalf("%v allocs per received packet", a)
	}
	if a := testing.AllocsPerRun(50, func() {
		if _, err := s.protect(len(s.out)); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("%v allocs per protected packet", a)
	}
}

// RFC 3711 §3.4: reports go out as SRTCP (the peer's context
// authenticates and decrypts them), and a plain report, or a replayed
// SRTCP one, is dropped and counted.
func TestSRTCP(t *testing.T) {
	conn, rc, err := ListenPair(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	peerRTP, peerRTCP := udpPeer(t), udpPeer(t)
	clk := clock.NewFake(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	local, remote := fixedKey(30, 3), fixedKey(30, 4)
	s, err := New(Params{Conn: conn, RTCPConn: rc, PayloadType: 0, Clock: clk, Logger: quiet, Latch: true,
		Remote:     peerRTP.LocalAddr().(*net.UDPAddr).AddrPort(),
		RemoteRTCP: peerRTCP.LocalAddr().(*net.UDPAddr).AddrPort(),
		SRTP:       &SRTP{Suite: "AES_CM_128_HMAC_SHA1_32", Local: local, Remote: remote}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Our report, as the peer's SRTCP context reads it.
	peerRx, _ := srtp.CreateContext(local[:16], local[16:], srtp.ProtectionProfileAes128CmHmacSha1_32)
	clk.Advance(10 * time.Second)
	peerRTCP.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, err := peerRTCP.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rtcp.Parse(buf[:n]); err == nil && bytes.Contains(buf[:n], []byte("phoned@")) {
		t.Fatal("the report went out in clear (its CNAME is readable)")
	}
	plain, err := peerRx.DecryptRTCP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("the peer cannot authenticate our report: %v", err)
	}
	if _, err := rtcp.Parse(plain); err != nil || !bytes.Contains(plain, []byte("phoned@")) {
		t.Fatalf("decrypted report %x: %v", plain, err)
	}

	// The peer's reports: a plain one is dropped, an SRTCP one counts,
	// its replay is dropped.
	rr, err := rtcp.MarshalReport(&rtcp.ReceiverReport{SSRC: 7}, "peer")
	if err != nil {
		t.Fatal(err)
	}
	to := rc.LocalAddr().(*net.UDPAddr)
	peerRTCP.WriteToUDP(rr, to)
	waitStats(t, s, "the plain report dropped", func(st Stats) bool { return st.SRTCPFailed == 1 })
	peerTx, _ := srtp.CreateContext(remote[:16], remote[16:], srtp.ProtectionProfileAes128CmHmacSha1_32)
	sr, err := peerTx.EncryptRTCP(nil, rr, nil)
	if err != nil {
		t.Fatal(err)
	}
	peerRTCP.WriteToUDP(sr, to)
	waitStats(t, s, "the SRTCP report", func(st Stats) bool { return st.RTCPReceived == 1 })
	peerRTCP.WriteToUDP(sr, to)
	waitStats(t, s, "the replayed report dropped", func(st Stats) bool { return st.SRTCPFailed == 2 && st.RTCPReceived == 1 })
}

// BenchmarkProtect is what SRTP adds per packet sent: protecting one
// 20 ms G.711 packet (no socket).
func BenchmarkProtect(b *testing.B) {
	for _, suite := range []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"} {
		b.Run(suite, func(b *testing.B) {
			s, _ := srtpTestStream(b, suite)
			n := copy(s.out[:], packet(b, 0, 1, 160, 5, 300, 160))
			b.ReportAllocs()
			for b.Loop() {
				s.hdr.SequenceNumber++
				binary.BigEndian.PutUint16(s.out[2:], s.hdr.SequenceNumber)
				if _, err := s.protect(n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReceiveDecodeSRTP is BenchmarkReceiveDecode with SRTP: each op
// is the peer protecting a packet (BenchmarkProtect's cost) plus our
// authenticating, decrypting, decoding and playing it out.
func BenchmarkReceiveDecodeSRTP(b *testing.B) {
	for _, suite := range []string{"", "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"} {
		name := suite
		if name == "" {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			var s *Stream
			var tx *srtp.Context
			if suite == "" {
				s, _ = testStream(b, 0)
			} else {
				s, tx = srtpTestStream(b, suite)
			}
			p := packet(b, 0, 0, 0, 9, 100, 160)
			out := make([]byte, 0, 256)
			var hdr rtp.Header
			f := make([]int16, 160)
			b.ReportAllocs()
			var seq uint16
			var ts uint32
			for b.Loop() {
				binary.BigEndian.PutUint16(p[2:], seq)
				binary.BigEndian.PutUint32(p[4:], ts)
				wire := p
				if tx != nil {
					var err error
					if wire, err = tx.EncryptRTP(out[:0], p, &hdr); err != nil {
						b.Fatal(err)
					}
				}
				s.handle(wire, peer)
				s.Receive(f)
				seq++
				ts += 160
			}
			if st := s.Stats(); st.SRTPAuthFailed != 0 || st.SRTPReplayed != 0 || st.PacketsInvalid != 0 {
				b.Fatalf("%+v", st)
			}
		})
	}
}

// Whatever arrives on an SRTP stream, nothing unauthenticated is taken:
// no packet is received or played, and nothing panics.
func FuzzHandleSRTP(f *testing.F) {
	// Seeds are SRTP under another key: the fuzzer can only reach the
	// stream's key by forging its tag.
	other, err := srtp.CreateContext(fixedKey(16, 9), fixedKey(14, 9), srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(protectWith(f, other, packet(f, 0, 1, 160, 5, 300, 160)))
	f.Add(packet(f, 0, 2, 320, 5, 300, 160))
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, suite := range []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"} {
			s, _ := srtpTestStream(t, suite)
			s.handle(b, peer)
			s.Receive(make([]int16, 160))
			if st := s.Stats(); st.PacketsReceived != 0 || st.Playout.Received != 0 {
				t.Fatalf("%s took an unauthenticated packet: %+v", suite, st)
			}
		}
	})
}
