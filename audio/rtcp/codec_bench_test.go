package rtcp

import (
	"testing"
	"time"
)

// benchReport is what a talking phone sends every interval: an SR with one
// report block about the peer.
func benchReport(b *testing.B) *SenderReport {
	b.Helper()
	s := NewSender(0x11223344, 0)
	r := NewReceiver(0)
	for i := range 50 {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		s.OnPacket(160, uint32(i)*160, at)
		r.OnPacket(0x55667788, uint16(i), uint32(i)*160, at)
	}
	sr := s.SenderReport(t0.Add(time.Second))
	blk, _ := r.Report(t0.Add(time.Second))
	sr.Reports = append(sr.Reports, blk)
	return sr
}

// BenchmarkMarshalReport builds the compound SR + SDES CNAME of one report
// interval.
func BenchmarkMarshalReport(b *testing.B) {
	sr := benchReport(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalReport(sr, "phoned@192.0.2.10"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalCompound decodes a peer's compound SR + SDES + BYE,
// as Parse does with every received report.
func BenchmarkUnmarshalCompound(b *testing.B) {
	pkt, err := MarshalBye(benchReport(b), "baresip@192.0.2.20", "hung up")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
