package lab

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/codec"
)

// Wire returns the datagrams sent to dst since since, as they went over
// the wire (whole RTP or SRTP packets), in the order captured. Unlike
// Heard it does not rely on tshark's RTP dissector, which stops showing
// the payload once it has seen an SDP with a=crypto (it shows "SRTP
// Encrypted Payload" then).
func (e *Ear) Wire(dst netip.AddrPort, since time.Time) ([][]byte, error) {
	if !e.tr.catchUp(3 * time.Second) {
		return nil, fmt.Errorf("lab: %w: the RTP capture did not catch up", ErrTimeout)
	}
	out, err := exec.Command("tshark", "-r", e.tr.file, "-n",
		"-Y", "udp.dstport=="+strconv.Itoa(int(dst.Port()))+" && ip.dst=="+dst.Addr().String(),
		"-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "udp.payload").Output()
	if err != nil {
		return nil, fmt.Errorf("lab: tshark -r %s: %w", e.tr.file, err)
	}
	var pkts [][]byte
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		at, hexPayload, ok := strings.Cut(line, "|")
		if !ok {
			continue
		}
		t, err := parseEpoch(at)
		if err != nil {
			return nil, err
		}
		if t.Before(since) {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(hexPayload, ":", ""))
		if err != nil {
			return nil, fmt.Errorf("lab: udp payload %q: %w", hexPayload, err)
		}
		pkts = append(pkts, b)
	}
	return pkts, nil
}

// DecodeAsG711 reads RTP packets as a G.711 receiver that knows no SRTP
// would: the payload of each PCMU or PCMA packet (an SRTP packet's
// authentication tag included) decoded as audio. A tone sent in clear is
// found in the result (Heard); an encrypted one is noise.
func DecodeAsG711(pkts [][]byte) []int16 {
	var s []int16
	frame := make([]int16, 2048)
	for _, b := range pkts {
		var p rtp.Packet
		if p.Unmarshal(b) != nil || (p.PayloadType != 0 && p.PayloadType != 8) || len(p.Payload) > len(frame) {
			continue
		}
		c, err := codec.ForPayloadType(p.PayloadType)
		if err != nil {
			continue
		}
		n := c.DecodeFrame(frame, p.Payload)
		s = append(s, frame[:n]...)
	}
	return s
}
