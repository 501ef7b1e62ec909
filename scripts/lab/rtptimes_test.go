package lab

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

func TestParseRTPFields(t *testing.T) {
	out := "1712345678.123456789|40000|20000|0|1|17|160|0x1234abcd\n" +
		"1712345678.1434|40000|20000|8|False|18|320|0x1234abcd\n"
	pkts, err := parseRTPFields(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []RTPPacket{
		{Time: time.Unix(1712345678, 123456789), SrcPort: 40000, DstPort: 20000, PayloadType: 0, Marker: true, Seq: 17, Timestamp: 160, SSRC: 0x1234abcd},
		{Time: time.Unix(1712345678, 143400000), SrcPort: 40000, DstPort: 20000, PayloadType: 8, Seq: 18, Timestamp: 320, SSRC: 0x1234abcd},
	}
	if len(pkts) != len(want) {
		t.Fatalf("got %d packets, want %d", len(pkts), len(want))
	}
	for i := range want {
		if !pkts[i].Time.Equal(want[i].Time) {
			t.Errorf("packet %d time %v, want %v", i, pkts[i].Time, want[i].Time)
		}
		pkts[i].Time = want[i].Time
		if pkts[i] != want[i] {
			t.Errorf("packet %d %+v, want %+v", i, pkts[i], want[i])
		}
	}
	if _, err := parseRTPFields("1712345678.1|40000|20000"); err == nil {
		t.Error("a short line parsed")
	}
	if pkts, err := parseRTPFields(""); err != nil || len(pkts) != 0 {
		t.Errorf("empty output: %v, %v", pkts, err)
	}
}

func TestG711StreamAndPacing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	pkts := []RTPPacket{
		{Time: at(0), SrcPort: 4000, PayloadType: 0, SSRC: 1},
		{Time: at(5), SrcPort: 4001, PayloadType: 72, SSRC: 1}, // RTCP SR decoded as RTP
		{Time: at(20.5), SrcPort: 4000, PayloadType: 0, SSRC: 1},
		{Time: at(39.5), SrcPort: 4000, PayloadType: 0, SSRC: 1},
		{Time: at(60), SrcPort: 4000, PayloadType: 101, SSRC: 1}, // telephone-event
		{Time: at(63.5), SrcPort: 4000, PayloadType: 0, SSRC: 1},
	}
	port, s, err := G711Stream(pkts)
	if err != nil || port != 4000 || len(s) != 4 {
		t.Fatalf("G711Stream: port %d, %d packets, %v", port, len(s), err)
	}
	devs := PacingDeviations(s, 20*time.Millisecond)
	want := []time.Duration{500 * time.Microsecond, time.Millisecond, 4 * time.Millisecond}
	if len(devs) != len(want) {
		t.Fatalf("deviations %v, want %v", devs, want)
	}
	for i := range want {
		if devs[i] != want[i] {
			t.Fatalf("deviations %v, want %v", devs, want)
		}
	}
	if PacingDeviations(s[:1], 20*time.Millisecond) != nil {
		t.Error("deviations of one packet")
	}

	if _, _, err := G711Stream(pkts[1:2]); !errors.Is(err, ErrOption) {
		t.Errorf("no G.711: %v", err)
	}
	two := append(pkts[:1:1], RTPPacket{Time: at(20), SrcPort: 5000, PayloadType: 8, SSRC: 2})
	if _, _, err := G711Stream(two); !errors.Is(err, ErrOption) {
		t.Errorf("two streams: %v", err)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {99.5, 100}, {100, 100}, {1, 1}, {0.1, 1}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if ds[0] != 100 {
		t.Error("Percentile sorted its argument")
	}
	if Percentile(nil, 99) != 0 {
		t.Error("p99 of nothing")
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one = %v", got)
	}
}

// RTP and RTCP sent from one port, captured on loopback and decoded:
// ReadRTP sees every RTP packet from that port, with its header fields,
// and leaves the RTCP out.
func TestReadRTPFromCapture(t *testing.T) {
	tier.Component(t, "a capture on loopback")
	t.Parallel()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	src := tx.LocalAddr().(*net.UDPAddr).Port
	tr := StartTrace(t, src)

	const n = 10
	for i := range n {
		pkt := make([]byte, 12+160)
		pkt[0] = 0x80 // V=2
		pkt[1] = 8    // PCMA
		if i == 0 {
			pkt[1] |= 0x80 // marker: first packet of the talkspurt
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
		binary.BigEndian.PutUint32(pkt[8:], 0xfeedbeef)
		if _, err := tx.Write(pkt); err != nil {
			t.Fatal(err)
		}
		if i == n/2 { // an empty RR (RFC 3550 §6.4.2) on the same port
			rr := []byte{0x80, 201, 0, 1, 0xfe, 0xed, 0xbe, 0xef}
			if _, err := tx.Write(rr); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := tr.Messages(); err != nil { // stops the capture
		t.Fatal(err)
	}
	pkts, err := ReadRTP(tr.File(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != n { // the RR is RTCP, not RTP
		t.Fatalf("%d packets from port %d, want %d: %+v", len(pkts), src, n, pkts)
	}
	port, s, err := G711Stream(pkts)
	if err != nil || port != src || len(s) != n {
		t.Fatalf("G711Stream: port %d (want %d), %d packets (want %d), %v", port, src, len(s), n, err)
	}
	for i, p := range s {
		if p.PayloadType != 8 || p.Seq != uint16(1000+i) || p.Timestamp != uint32(160*i) || p.SSRC != 0xfeedbeef ||
			p.Marker != (i == 0) || p.DstPort != rx.LocalAddr().(*net.UDPAddr).Port {
			t.Fatalf("packet %d: %+v", i, p)
		}
		if i > 0 && p.Time.Before(s[i-1].Time) {
			t.Fatalf("packet %d captured before packet %d", i, i-1)
		}
	}
	if _, err := ReadRTP(tr.File()); !errors.Is(err, ErrOption) {
		t.Errorf("ReadRTP without ports: %v", err)
	}
}
