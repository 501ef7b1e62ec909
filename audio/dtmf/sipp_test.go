package dtmf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

// sippDir holds the RFC 2833 captures SIPp ships (Debian sip-tester):
// dtmf_2833_<key>.pcap, PT 101, the end packet three times.
const sippDir = "/usr/share/sip-tester"

// rtpOfPcap returns the RTP datagrams of a little- or big-endian
// microsecond pcap of Ethernet/IPv4/UDP frames, with their capture times.
// It is just enough for SIPp's captures; anything else fails the test.
func rtpOfPcap(t *testing.T, path string) (pkts [][]byte, at []time.Time) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: no pcap header", path)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	default:
		t.Fatalf("%s: not a microsecond pcap", path)
	}
	if link := bo.Uint32(b[20:]); link != 1 {
		t.Fatalf("%s: link type %d, want Ethernet", path, link)
	}
	for off := 24; off+16 <= len(b); {
		sec, usec, n := bo.Uint32(b[off:]), bo.Uint32(b[off+4:]), int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			t.Fatalf("%s: truncated record", path)
		}
		f := b[off : off+n]
		off += n
		if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
			continue
		}
		ip := f[14:]
		ihl := int(ip[0]&0x0F) * 4
		if ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		ulen := int(binary.BigEndian.Uint16(udp[4:]))
		if ulen < 8 || ulen > len(udp) {
			t.Fatalf("%s: bad UDP length", path)
		}
		pkts = append(pkts, udp[8:ulen])
		at = append(at, time.Unix(int64(sec), int64(usec)*1000))
	}
	return pkts, at
}

func TestSIPpCaptures(t *testing.T) {
	tier.Interop(t, "sipp")
	files, _ := filepath.Glob(filepath.Join(sippDir, "dtmf_2833_*.pcap"))
	if len(files) == 0 {
		t.Fatalf("SIPp's RFC 2833 captures are not in %s: %s", sippDir, tier.Missing("sipp"))
	}
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "dtmf_2833_"), ".pcap")
		want := map[string]string{"pound": "#", "star": "*"}[name]
		if want == "" {
			want = name
		}
		t.Run(name, func(t *testing.T) {
			pkts, at := rtpOfPcap(t, path)
			var r Receiver
			var got []Digit
			ends := 0
			for i, p := range pkts {
				if len(p) < 12 || p[0]>>6 != 2 || p[1]&0x7F != 101 {
					t.Fatalf("packet %d is not RTP PT 101", i)
				}
				if p[13]&0x80 != 0 {
					ends++
				}
				var err error
				if got, err = r.Feed(got, binary.BigEndian.Uint32(p[4:]), p[12:], at[i]); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			got = r.Tick(got, at[len(at)-1].Add(time.Hour))
			if len(got) != 1 || string(got[0].Key) != want || !got[0].Ended || ends != 3 {
				t.Fatalf("%d packets (%d ends): digits %+v, want one %q", len(pkts), ends, got, want)
			}
		})
	}
}
