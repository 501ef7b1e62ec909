package rtcp

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// rrByeFixture is a compound packet written out from the layouts of RFC
// 3550 §6.4.2, §6.5.1 and §6.6: an RR with one block, an SDES CNAME "ab"
// and a BYE with the reason "bye".
var rrByeFixture = []byte{
	// RR: V=2 P=0 RC=1, PT=201, length 7 (32 octets).
	0x81, 201, 0x00, 0x07,
	0x11, 0x22, 0x33, 0x44, // SSRC of the sender
	0x55, 0x66, 0x77, 0x88, // SSRC_1, the source reported on
	0x40, 0x00, 0x00, 0x05, // fraction lost 64/256, cumulative lost 5
	0x00, 0x01, 0x00, 0x10, // extended highest sequence number: 1 cycle, 16
	0x00, 0x00, 0x00, 0x20, // interarrival jitter 32
	0xAA, 0xBB, 0xCC, 0xDD, // LSR
	0x00, 0x01, 0x80, 0x00, // DLSR 1.5 s
	// SDES: V=2 P=0 SC=1, PT=202, length 3 (16 octets).
	0x81, 202, 0x00, 0x03,
	0x11, 0x22, 0x33, 0x44, // SSRC/CSRC_1
	0x01, 0x02, 'a', 'b', // CNAME, length 2, "ab"
	0x00, 0x00, 0x00, 0x00, // end of list, padding to 32 bits
	// BYE: V=2 P=0 SC=1, PT=203, length 2 (12 octets).
	0x81, 203, 0x00, 0x02,
	0x11, 0x22, 0x33, 0x44, // SSRC
	0x03, 'b', 'y', 'e', // reason: length 3, "bye" (no padding needed)
}

var rrByePackets = []Packet{
	&ReceiverReport{SSRC: 0x11223344, Reports: []ReceptionReport{{
		SSRC: 0x55667788, FractionLost: 64, TotalLost: 5, LastSequenceNumber: 0x00010010,
		Jitter: 32, LastSenderReport: 0xAABBCCDD, Delay: 0x00018000,
	}}},
	&SourceDescription{Chunks: []SourceDescriptionChunk{{
		Source: 0x11223344, Items: []SourceDescriptionItem{{Type: SDESCNAME, Text: "ab"}},
	}}},
	&Goodbye{Sources: []uint32{0x11223344}, Reason: "bye"},
}

// srFixture is an SR without blocks (RFC 3550 §6.4.1), then an SDES
// whose one chunk has no items.
var srFixture = []byte{
	0x80, 200, 0x00, 0x06, // V=2 RC=0, PT=200, length 6 (28 octets)
	0xDE, 0xAD, 0xBE, 0xEF, // SSRC
	0xE1, 0x23, 0x45, 0x67, // NTP timestamp, seconds
	0x89, 0xAB, 0xCD, 0xEF, // NTP timestamp, fraction
	0x00, 0x00, 0x1F, 0x40, // RTP timestamp 8000
	0x00, 0x00, 0x00, 0x32, // sender's packet count 50
	0x00, 0x00, 0x1F, 0x40, // sender's octet count 8000
	0x81, 202, 0x00, 0x02, // SDES, SC=1, length 2 (12 octets)
	0xDE, 0xAD, 0xBE, 0xEF, // SSRC
	0x00, 0x00, 0x00, 0x00, // no items: the end octet and padding
}

var srPackets = []Packet{
	&SenderReport{SSRC: 0xDEADBEEF, NTPTime: 0xE1234567_89ABCDEF, RTPTime: 8000, PacketCount: 50, OctetCount: 8000},
	&SourceDescription{Chunks: []SourceDescriptionChunk{{Source: 0xDEADBEEF}}},
}

func TestMarshalFixtures(t *testing.T) {
	for name, tc := range map[string]struct {
		pkts []Packet
		wire []byte
	}{
		"RR SDES BYE": {rrByePackets, rrByeFixture},
		"SR SDES":     {srPackets, srFixture},
	} {
		got, err := Marshal(tc.pkts...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, tc.wire) {
			t.Errorf("%s: Marshal\n got % x\nwant % x", name, got, tc.wire)
		}
		back, err := Unmarshal(tc.wire)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(back, tc.pkts) {
			t.Errorf("%s: Unmarshal = %s, want %s", name, dump(back), dump(tc.pkts))
		}
		size := 0
		for _, p := range tc.pkts {
			size += p.MarshalSize()
		}
		if size != len(tc.wire) {
			t.Errorf("%s: MarshalSize adds up to %d, want %d", name, size, len(tc.wire))
		}
	}
	// MarshalBye builds the same packet from the RR and the CNAME.
	got, err := MarshalBye(rrByePackets[0], "ab", "bye")
	if err != nil || !bytes.Equal(got, rrByeFixture) {
		t.Fatalf("MarshalBye = % x, %v", got, err)
	}
}

func dump(pkts []Packet) string {
	var b strings.Builder
	for _, p := range pkts {
		fmt.Fprintf(&b, "%T%+v ", p, p)
	}
	return b.String()
}

// Each type survives Marshal and Unmarshal, with the most the fields hold.
func TestRoundTrip(t *testing.T) {
	full := ReceptionReport{SSRC: ^uint32(0), FractionLost: 255, TotalLost: maxTotalLost,
		LastSequenceNumber: ^uint32(0), Jitter: ^uint32(0), LastSenderReport: ^uint32(0), Delay: ^uint32(0)}
	blocks31 := make([]ReceptionReport, maxCount)
	for i := range blocks31 {
		blocks31[i] = ReceptionReport{SSRC: uint32(i), TotalLost: uint32(i) << 16, Jitter: uint32(i)}
	}
	chunks31 := make([]SourceDescriptionChunk, maxCount)
	for i := range chunks31 {
		chunks31[i] = SourceDescriptionChunk{Source: uint32(i)}
		for n := range i % 5 {
			chunks31[i].Items = append(chunks31[i].Items, SourceDescriptionItem{Type: SDESType(1 + n), Text: strings.Repeat("t", i+n)})
		}
	}
	sources31 := make([]uint32, maxCount)
	for i := range sources31 {
		sources31[i] = uint32(i) * 0x01010101
	}
	for name, pkts := range map[string][]Packet{
		"SR with two blocks": {&SenderReport{SSRC: 1, NTPTime: ^uint64(0), RTPTime: 2, PacketCount: 3, OctetCount: 4,
			Reports: []ReceptionReport{full, {SSRC: 7}}}},
		"SR with 31 blocks":   {&SenderReport{SSRC: 1, Reports: blocks31}},
		"RR without blocks":   {&ReceiverReport{SSRC: 9}},
		"RR with 31 blocks":   {&ReceiverReport{SSRC: 9, Reports: blocks31}},
		"SDES with 31 chunks": {&ReceiverReport{SSRC: 9}, &SourceDescription{Chunks: chunks31}},
		"SDES items of every length": {&ReceiverReport{SSRC: 9}, &SourceDescription{Chunks: []SourceDescriptionChunk{
			{Source: 1, Items: []SourceDescriptionItem{{SDESCNAME, "x"}, {SDESName, ""}, {SDESTool, "baresip"}}},
			{Source: 2, Items: []SourceDescriptionItem{{SDESPriv, "\x03abcvalue"}, {SDESNote, strings.Repeat("n", maxText)}}},
			{Source: 3, Items: []SourceDescriptionItem{{SDESType(99), "unknown items kept"}}},
		}}},
		"SDES without chunks": {&ReceiverReport{SSRC: 9}, &SourceDescription{}},
		"BYE without reason":  {&ReceiverReport{SSRC: 9}, &Goodbye{Sources: []uint32{9}}},
		"BYE without sources": {&ReceiverReport{SSRC: 9}, &Goodbye{Reason: "r"}},
		"BYE of 31, long reason": {&ReceiverReport{SSRC: 9}, &Goodbye{Sources: sources31,
			Reason: strings.Repeat("r", maxText)}},
		"APP kept raw": {&ReceiverReport{SSRC: 9}, RawPacket{0x80, 204, 0, 2, 0, 0, 0, 9, 'n', 'a', 'm', 'e'}},
	} {
		b, err := Marshal(pkts...)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", name, err)
		}
		if len(b)%4 != 0 {
			t.Errorf("%s: %d octets, not 32-bit aligned", name, len(b))
		}
		back, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: Unmarshal: %v", name, err)
		}
		if !reflect.DeepEqual(back, pkts) {
			t.Errorf("%s: round trip\n got %s\nwant %s", name, dump(back), dump(pkts))
		}
	}
}

// Types the codec does not decode are skipped over, not refused (RFC
// 3550 §A.2 leaves them to the application): APP, RTPFB, PSFB, XR.
func TestUnmarshalSkipsUnknown(t *testing.T) {
	app := []byte{0x82, 204, 0, 2, 0x11, 0x22, 0x33, 0x44, 'q', 'o', 's', '!'}      // APP, subtype 2, name "qos!"
	nack := []byte{0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x10, 0x00, 0x01} // RTPFB generic NACK
	pli := []byte{0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}                          // PSFB PLI
	xr := []byte{0x80, 207, 0, 3, 0, 0, 0, 1, 4, 0, 0, 2, 0, 0, 0, 0}               // XR, an RRT block
	b := append(append(append(append(append([]byte{}, rrByeFixture[:48]...), app...), nack...), pli...), xr...)
	pkts, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 6 {
		t.Fatalf("%d packets, want 6: %s", len(pkts), dump(pkts))
	}
	for i, want := range [][]byte{app, nack, pli, xr} {
		if raw, ok := pkts[2+i].(RawPacket); !ok || !bytes.Equal(raw, want) {
			t.Errorf("packet %d = %#v, want RawPacket % x", 2+i, pkts[2+i], want)
		}
	}
	in, err := Parse(b)
	if err != nil || in.Other != 4 || in.CNAME != "ab" || len(in.ReceiverReports) != 1 {
		t.Fatalf("Parse = %+v, %v", in, err)
	}
	if again, err := Marshal(pkts...); err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-marshalled % x, %v", again, err)
	}
}

// Padding in the last packet is taken off before decoding it (RFC 3550
// §6.4.1: the last octet counts the padding, itself included).
func TestUnmarshalPadding(t *testing.T) {
	b := append([]byte{}, rrByeFixture[:48]...)
	b[32] |= 0x20                         // P on the SDES
	b[35]++                               // 4 octets more
	b = append(b, 0xFF, 0xFF, 0xFF, 0x04) // padding: ignored octets, then the count
	pkts, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pkts, rrByePackets[:2]) {
		t.Fatalf("got %s", dump(pkts))
	}
	// On the only packet, padding is the last packet's too.
	lone := append([]byte{}, srFixture[:28]...)
	lone[0] |= 0x20
	lone[3] += 2
	lone = append(lone, 0, 0, 0, 0, 0, 0, 0, 8)
	if pkts, err := Unmarshal(lone); err != nil || !reflect.DeepEqual(pkts, srPackets[:1]) {
		t.Fatalf("padded SR = %s, %v", dump(pkts), err)
	}
}

// Every check of RFC 3550 §A.2 and of each packet's own layout has an
// input that only it refuses.
func TestUnmarshalErrors(t *testing.T) {
	with := func(b []byte, f func(b []byte) []byte) []byte { return f(append([]byte{}, b...)) }
	for name, b := range map[string][]byte{
		"empty":                 nil,
		"shorter than a header": {0x80, 201, 0},
		"version 1":             with(rrByeFixture, func(b []byte) []byte { b[0] = 0x41; return b }),
		"version 2 then 3": with(rrByeFixture, func(b []byte) []byte {
			b[32] = 0xC1
			return b
		}),
		"first is SDES":         rrByeFixture[32:48],
		"first is BYE":          rrByeFixture[48:],
		"first is APP":          {0x80, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e'},
		"length past the end":   rrByeFixture[:len(rrByeFixture)-4],
		"length past the end 2": {0x80, 201, 0, 9, 0, 0, 0, 1},
		"trailing octets":       append(append([]byte{}, rrByeFixture...), 0x80, 203),
		"trailing zero word":    append(append([]byte{}, rrByeFixture...), 0, 0, 0, 0),
		"padding not in last": {0x80, 201, 0, 1, 0, 0, 0, 1,
			0xA0, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 4, // APP with P, a plausible count
			0x80, 203, 0, 0},
		"SDES padding unaligned": with(rrByeFixture[:48], func(b []byte) []byte { b[32] |= 0x20; b[47] = 1; return b }),
		"padding count zero":     with(srFixture[:28], func(b []byte) []byte { b[0] |= 0x20; b[27] = 0; return b }),
		"padding past the body":  with(srFixture[:28], func(b []byte) []byte { b[0] |= 0x20; b[27] = 25; return b }),
		"padding eats the SR":    with(srFixture[:28], func(b []byte) []byte { b[0] |= 0x20; b[27] = 24; return b }),
		"RR counts 2 blocks":     with(rrByeFixture, func(b []byte) []byte { b[0] = 0x82; return b }),
		"RR without its SSRC":    {0x80, 201, 0, 0},
		"SR counts 1 block":      with(srFixture, func(b []byte) []byte { b[0] = 0x81; return b }),
		"SR short sender info":   {0x80, 200, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"SDES counts 2 chunks":   with(rrByeFixture, func(b []byte) []byte { b[32] = 0x82; return b }),
		"SDES counts 0 chunks":   with(rrByeFixture, func(b []byte) []byte { b[32] = 0x80; return b }),
		"SDES item overruns":     with(rrByeFixture, func(b []byte) []byte { b[41] = 7; return b }),
		"SDES item header split": with(rrByeFixture[:48], func(b []byte) []byte { b[41], b[47] = 5, 1; return b }),
		"SDES without end octet": with(rrByeFixture[:48], func(b []byte) []byte { b[41], b[46] = 4, 7; return b }),
		"SDES chunk of 4": {0x80, 201, 0, 1, 0, 0, 0, 1,
			0x81, 202, 0, 1, 0, 0, 0, 1},
		"SDES octets over": {0x80, 201, 0, 1, 0, 0, 0, 1,
			0x81, 202, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		"BYE counts 3 sources": with(rrByeFixture, func(b []byte) []byte { b[48] = 0x83; return b }),
		"BYE reason overruns":  with(rrByeFixture, func(b []byte) []byte { b[56] = 4; return b }),
	} {
		pkts, err := Unmarshal(b)
		if !errors.Is(err, ErrParse) {
			t.Errorf("%s: Unmarshal = %s, %v; want ErrParse", name, dump(pkts), err)
		}
		if _, err := Parse(b); !errors.Is(err, ErrParse) {
			t.Errorf("%s: Parse err = %v, want ErrParse", name, err)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	rr := &ReceiverReport{SSRC: 1}
	long := strings.Repeat("x", maxText+1)
	bigItems := make([]SourceDescriptionItem, maxPacketLen/(2+maxText)+1)
	for i := range bigItems {
		bigItems[i] = SourceDescriptionItem{Type: SDESNote, Text: long[:maxText]}
	}
	for name, pkts := range map[string][]Packet{
		"nothing":          nil,
		"first is SDES":    {&SourceDescription{}},
		"first is BYE":     {&Goodbye{}},
		"first is raw":     {RawPacket{0x80, 201, 0, 1, 0, 0, 0, 1}},
		"nil first":        {nil},
		"nil RR":           {(*ReceiverReport)(nil)},
		"nil SDES":         {rr, (*SourceDescription)(nil)},
		"nil BYE":          {rr, (*Goodbye)(nil)},
		"nil raw":          {rr, RawPacket(nil)},
		"32 blocks in SR":  {&SenderReport{Reports: make([]ReceptionReport, 32)}},
		"32 blocks in RR":  {&ReceiverReport{Reports: make([]ReceptionReport, 32)}},
		"loss of 25 bits":  {&ReceiverReport{Reports: []ReceptionReport{{TotalLost: 1 << 24}}}},
		"32 chunks":        {rr, &SourceDescription{Chunks: make([]SourceDescriptionChunk, 32)}},
		"item of type 0":   {rr, &SourceDescription{Chunks: []SourceDescriptionChunk{{Items: []SourceDescriptionItem{{Text: "x"}}}}}},
		"item of 256":      {rr, &SourceDescription{Chunks: []SourceDescriptionChunk{{Items: []SourceDescriptionItem{{SDESCNAME, long}}}}}},
		"SDES over 256KiB": {rr, &SourceDescription{Chunks: []SourceDescriptionChunk{{Items: bigItems}}}},
		"32 BYE sources":   {rr, &Goodbye{Sources: make([]uint32, 32)}},
		"reason of 256":    {rr, &Goodbye{Reason: long}},
		"raw of 3":         {rr, RawPacket{0x80, 204, 0}},
		"raw of 6":         {rr, RawPacket{0x80, 204, 0, 0, 0, 0}},
	} {
		if b, err := Marshal(pkts...); !errors.Is(err, ErrBuild) {
			t.Errorf("%s: Marshal = % x, %v; want ErrBuild", name, b, err)
		}
	}
}

// FuzzUnmarshal: any input gets a packet list or an error wrapping
// ErrParse, never a panic; whatever is accepted marshals again to the
// same packets.
func FuzzUnmarshal(f *testing.F) {
	own, _ := MarshalReport(&SenderReport{SSRC: 1, NTPTime: 5, Reports: []ReceptionReport{{SSRC: 2, TotalLost: 3}}}, "phoned@192.0.2.1")
	bye, _ := MarshalBye(&ReceiverReport{SSRC: 3}, "c", "hung up")
	app := append(append([]byte{}, rrByeFixture[:48]...), 0x82, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e')
	for _, seed := range [][]byte{own, bye, app, rrByeFixture, srFixture,
		own[:len(own)-1], bye[:len(bye)-4], rrByeFixture[:10], baresipReport, baresipPing, {0x80, 200, 0, 0}, {0xA0, 201, 0, 1, 0, 0, 0, 1}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error %v does not wrap ErrParse", err)
			}
			return
		}
		again, err := Marshal(pkts...)
		if err != nil {
			t.Fatalf("accepted %s but does not marshal it: %v", dump(pkts), err)
		}
		back, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("re-marshalled % x is refused: %v", again, err)
		}
		if !reflect.DeepEqual(back, pkts) {
			t.Fatalf("round trip changed\n %s\nto %s", dump(pkts), dump(back))
		}
	})
}

// baresipReport is a compound packet baresip 1.0 (libre) sent phoned in
// the impaired interop call (TestCallSurvivesImpairedNetwork: 40 ms each
// way, 3 % loss), as phoned's RTCP socket read it.
var baresipReport = []byte{
	0x81, 0xc8, 0x00, 0x0c, // SR, RC=1, 52 octets
	0xee, 0x18, 0x91, 0xc4, // baresip's SSRC
	0xee, 0xbb, 0xfd, 0x71, 0x97, 0x0d, 0xb6, 0xa1, // NTP
	0x00, 0x00, 0xad, 0x58, // RTP timestamp
	0x00, 0x00, 0x00, 0xfa, // 250 packets
	0x00, 0x00, 0x9c, 0x40, // 40000 octets
	0x64, 0xea, 0x81, 0xad, // block about phoned's SSRC
	0x06, 0x00, 0x00, 0x06, // fraction 6/256, 6 lost
	0x00, 0x00, 0xe7, 0xa3, // extended highest sequence number
	0x00, 0x00, 0x00, 0x70, // jitter 112
	0xfd, 0x6e, 0x59, 0x5f, // LSR
	0x00, 0x03, 0x33, 0x33, // DLSR 3.2 s
	0x81, 0xca, 0x00, 0x08, // SDES, SC=1, 36 octets
	0xee, 0x18, 0x91, 0xc4,
	0x01, 0x18, 's', 'i', 'p', ':', '1', '0', '0', '3', '@', '1', '2', '7', '.', '0', '.', '0', '.', '1', ':', '1', '8', '9', '3', '8',
	0x00, 0x00, // end of the list and padding
}

// baresipPing is the lone APP packet ("PINGPONG") baresip sends first to
// open NAT bindings. It is not a compound packet (the first is not an SR
// or RR, RFC 3550 §A.2), so Unmarshal refuses it.
var baresipPing = []byte{0x80, 0xcc, 0x00, 0x03, 0xee, 0x18, 0x91, 0xc4, 'P', 'I', 'N', 'G', 'P', 'O', 'N', 'G'}

func TestBaresipCapture(t *testing.T) {
	want := []Packet{
		&SenderReport{SSRC: 0xee1891c4, NTPTime: 0xeebbfd71_970db6a1, RTPTime: 0xad58, PacketCount: 250, OctetCount: 40000,
			Reports: []ReceptionReport{{SSRC: 0x64ea81ad, FractionLost: 6, TotalLost: 6, LastSequenceNumber: 0xe7a3,
				Jitter: 0x70, LastSenderReport: 0xfd6e595f, Delay: 0x00033333}}},
		&SourceDescription{Chunks: []SourceDescriptionChunk{{Source: 0xee1891c4,
			Items: []SourceDescriptionItem{{Type: SDESCNAME, Text: "sip:1003@127.0.0.1:18938"}}}}},
	}
	got, err := Unmarshal(baresipReport)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Unmarshal = %s\nwant %s", dump(got), dump(want))
	}
	if b, err := Marshal(want...); err != nil || !bytes.Equal(b, baresipReport) {
		t.Fatalf("Marshal = % x, %v\nwant baresip's % x", b, err, baresipReport)
	}
	if _, err := Unmarshal(baresipPing); !errors.Is(err, ErrParse) {
		t.Fatalf("lone APP: err = %v, want ErrParse", err)
	}
}
