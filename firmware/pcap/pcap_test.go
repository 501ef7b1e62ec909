package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Unix(1700000000, 123456000)

func TestHeader(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewWriter(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != HeaderLen || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 ||
		binary.LittleEndian.Uint16(b[4:]) != 2 || binary.LittleEndian.Uint16(b[6:]) != 4 ||
		binary.LittleEndian.Uint32(b[20:]) != 101 {
		t.Fatalf("header % x", b)
	}
}

func TestRoundTrip(t *testing.T) {
	v4a, v4b := netip.MustParseAddrPort("127.0.0.1:5060"), netip.MustParseAddrPort("192.0.2.7:5070")
	v6a, v6b := netip.MustParseAddrPort("[::1]:40000"), netip.MustParseAddrPort("[2001:db8::1]:40002")
	mapped := netip.MustParseAddrPort("[::ffff:10.0.0.1]:1234")
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	if err := w.WriteUDP(t0, v4a, v4b, []byte("INVITE sip:x SIP/2.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteUDP(t0, v6a, v6b, []byte{0x80, 0, 0, 1, 'x'}); err != nil { // odd length
		t.Fatal(err)
	}
	if err := w.WriteUDP(t0, mapped, v4a, nil); err != nil {
		t.Fatal(err)
	}
	next, err := w.WriteTCP(t0, v4b, v4a, 1000, 1, []byte("SIP/2.0 200 OK\r\n"))
	if err != nil || next != 1016 {
		t.Fatalf("next %d, %v", next, err)
	}
	// v4 to v6: both written as IPv6 (the v4 one mapped).
	if err := w.WriteUDP(t0, v4a, v6b, []byte("m")); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.Len(), HeaderLen+UDPSize(v4a, 24)+UDPSize(v6a, 5)+UDPSize(v4a, 0)+TCPSize(v4a, 16)+UDPSize(v6a, 1); got != want {
		t.Fatalf("file is %d bytes, sizes say %d", got, want)
	}
	ps, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		proto, src, dst, payload string
	}{
		{"udp", "127.0.0.1:5060", "192.0.2.7:5070", "INVITE sip:x SIP/2.0\r\n\r\n"},
		{"udp", "[::1]:40000", "[2001:db8::1]:40002", "\x80\x00\x00\x01x"},
		{"udp", "10.0.0.1:1234", "127.0.0.1:5060", ""},
		{"tcp", "192.0.2.7:5070", "127.0.0.1:5060", "SIP/2.0 200 OK\r\n"},
		{"udp", "[::ffff:127.0.0.1]:5060", "[2001:db8::1]:40002", "m"},
	}
	if len(ps) != len(want) {
		t.Fatalf("%d packets, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		w := want[i]
		if p.Proto != w.proto || p.Src.String() != w.src || p.Dst.String() != w.dst || string(p.Payload) != w.payload || !p.ChecksumOK || !p.Time.Equal(t0) {
			t.Errorf("packet %d: %+v, want %+v", i, p, w)
		}
	}
	if ps[3].Seq != 1000 {
		t.Errorf("seq %d", ps[3].Seq)
	}
}

// A known IPv4 header checksum (RFC 1071's example style): a corrupted
// byte fails verification.
func TestChecksumCatchesCorruption(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	w.WriteUDP(t0, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.2:2"), []byte("hello"))
	b := buf.Bytes()
	b[len(b)-1] ^= 1
	ps, err := Read(b)
	if err != nil || len(ps) != 1 || ps[0].ChecksumOK {
		t.Fatalf("%+v %v: corrupt payload passed its checksum", ps, err)
	}
}

func TestLargeTCPSplits(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	big := bytes.Repeat([]byte("a"), MaxPayload+10)
	next, err := w.WriteTCP(t0, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.2:2"), 5, 0, big)
	if err != nil || next != uint32(5+len(big)) {
		t.Fatal(next, err)
	}
	ps, err := Read(buf.Bytes())
	if err != nil || len(ps) != 2 || len(ps[0].Payload) != MaxPayload || ps[1].Seq != 5+MaxPayload || len(ps[1].Payload) != 10 {
		t.Fatalf("%d packets, %v", len(ps), err)
	}
	if err := w.WriteUDP(t0, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.2:2"), big); err == nil {
		t.Fatal("an oversize UDP payload was written")
	}
}

func TestReadRefuses(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	w.WriteUDP(t0, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.2:2"), []byte("hello"))
	good := buf.Bytes()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"magic":     append([]byte{1, 2, 3, 4}, good[4:]...),
		"half rec":  good[:HeaderLen+8],
	} {
		if _, err := Read(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzRoundTrip: whatever the addresses and payload, what Writer frames
// Read gets back unchanged, checksums verifying.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1}, []byte{127, 0, 0, 2}, uint16(5060), uint16(5070), []byte("INVITE"), true)
	f.Add(bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{0xff}, 16), uint16(0), uint16(65535), []byte{1}, false)
	f.Add([]byte{1, 2, 3, 4}, bytes.Repeat([]byte{0xfe}, 16), uint16(1), uint16(2), []byte{}, false)
	f.Fuzz(func(t *testing.T, a, b []byte, pa, pb uint16, payload []byte, tcp bool) {
		src, ok1 := netip.AddrFromSlice(a)
		dst, ok2 := netip.AddrFromSlice(b)
		if !ok1 || !ok2 || len(payload) > MaxPayload {
			return
		}
		s, d := netip.AddrPortFrom(src, pa), netip.AddrPortFrom(dst, pb)
		var buf bytes.Buffer
		w, _ := NewWriter(&buf)
		var err error
		if tcp {
			_, err = w.WriteTCP(t0, s, d, 7, 0, payload)
		} else {
			err = w.WriteUDP(t0, s, d, payload)
		}
		if err != nil {
			t.Fatal(err)
		}
		ps, err := Read(buf.Bytes())
		if err != nil || len(ps) != 1 {
			t.Fatalf("%v, %d packets", err, len(ps))
		}
		p := ps[0]
		ws, wd := family(src, dst)
		if p.Src != netip.AddrPortFrom(ws, pa) || p.Dst != netip.AddrPortFrom(wd, pb) || !bytes.Equal(p.Payload, payload) || !p.ChecksumOK {
			t.Fatalf("got %+v", p)
		}
	})
}

// FuzzRead: any bytes are framed or refused, never a panic.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	w.WriteUDP(t0, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("[::1]:2"), []byte("x"))
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { Read(b) })
}
