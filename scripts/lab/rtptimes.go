package lab

import (
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RTPPacket is one RTP packet of a capture, stamped with the time the
// capture saw it on the interface (on loopback: when it was sent).
type RTPPacket struct {
	Time             time.Time
	SrcPort, DstPort int
	PayloadType      int
	Marker           bool
	Seq              uint16
	Timestamp        uint32
	SSRC             uint32
}

// ReadRTP decodes, with tshark, the UDP packets of a capture file (a
// Trace's File) that were sent from srcPorts, as RTP whatever the
// signalling said, and returns them in capture order. Packets that do
// not parse as RTP version 2 are left out, and so is RTCP sent from a
// listed port (tshark's RTP dissector hands packet types 200-204 to RTCP,
// as RFC 5761 §4 distinguishes them); G711Stream picks the audio.
func ReadRTP(file string, srcPorts ...int) ([]RTPPacket, error) {
	if len(srcPorts) == 0 {
		return nil, fmt.Errorf("lab: %w: ReadRTP needs at least one source port", ErrOption)
	}
	args := []string{"-r", file, "-n"}
	var filter []string
	for _, p := range srcPorts {
		args = append(args, "-d", fmt.Sprintf("udp.port==%d,rtp", p))
		filter = append(filter, "udp.srcport=="+strconv.Itoa(p))
	}
	args = append(args, "-Y", "rtp.version==2 && ("+strings.Join(filter, " || ")+")",
		"-T", "fields", "-E", "separator=|",
		"-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "rtp.p_type",
		"-e", "rtp.marker", "-e", "rtp.seq", "-e", "rtp.timestamp", "-e", "rtp.ssrc")
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("lab: tshark -r %s: %w", file, err)
	}
	return parseRTPFields(string(out))
}

// parseRTPFields parses ReadRTP's tshark output: one packet per line, the
// fields separated by "|".
func parseRTPFields(out string) ([]RTPPacket, error) {
	var pkts []RTPPacket
	for n, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) < 8 {
			return nil, fmt.Errorf("lab: tshark RTP line %d: %d fields, want 8: %q", n+1, len(f), line)
		}
		t, err := parseEpoch(f[0])
		if err != nil {
			return nil, fmt.Errorf("lab: tshark RTP line %d: %w", n+1, err)
		}
		var nums [6]uint64
		for i, s := range []string{f[1], f[2], f[3], f[5], f[6], f[7]} {
			if nums[i], err = strconv.ParseUint(s, 0, 32); err != nil { // ssrc comes as 0x...
				return nil, fmt.Errorf("lab: tshark RTP line %d: %w", n+1, err)
			}
		}
		pkts = append(pkts, RTPPacket{
			Time: t, SrcPort: int(nums[0]), DstPort: int(nums[1]), PayloadType: int(nums[2]),
			Marker: f[4] == "1" || f[4] == "True", Seq: uint16(nums[3]), Timestamp: uint32(nums[4]), SSRC: uint32(nums[5]),
		})
	}
	return pkts, nil
}

// parseEpoch parses tshark's frame.time_epoch ("1712345678.123456789")
// to the nanosecond, which a float64 cannot hold.
func parseEpoch(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return time.Unix(secs, ns), nil
}

// G711Stream returns the packets of pkts that carry G.711 (static payload
// types 0, PCMU, and 8, PCMA; RFC 3551 §6) and the source port they came
// from. It is an error when none do, or when they came from more than one
// source port or SSRC: the figures are for one stream.
func G711Stream(pkts []RTPPacket) (port int, stream []RTPPacket, err error) {
	var ssrc uint32
	for _, p := range pkts {
		if p.PayloadType != 0 && p.PayloadType != 8 {
			continue
		}
		if len(stream) == 0 {
			port, ssrc = p.SrcPort, p.SSRC
		} else if p.SrcPort != port || p.SSRC != ssrc {
			return 0, nil, fmt.Errorf("lab: %w: G.711 from port %d SSRC %#x and from port %d SSRC %#x, want one stream",
				ErrOption, port, ssrc, p.SrcPort, p.SSRC)
		}
		stream = append(stream, p)
	}
	if len(stream) == 0 {
		return 0, nil, fmt.Errorf("lab: %w: no G.711 RTP among %d packets", ErrOption, len(pkts))
	}
	return port, stream, nil
}

// PacingDeviations returns, for each packet of a stream after the first,
// how far its inter-departure time strays from ptime: |Δt − ptime|.
func PacingDeviations(stream []RTPPacket, ptime time.Duration) []time.Duration {
	if len(stream) < 2 {
		return nil
	}
	out := make([]time.Duration, 0, len(stream)-1)
	for i := 1; i < len(stream); i++ {
		d := stream[i].Time.Sub(stream[i-1].Time) - ptime
		out = append(out, max(d, -d))
	}
	return out
}

// Percentile returns the p-th percentile (0 < p <= 100) of ds by the
// nearest-rank method: the smallest value that at least p % of ds do not
// exceed. 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(float64(len(s)) * p / 100))
	return s[min(max(rank, 1), len(s))-1]
}
