package lab

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/codec"
)

// Ear hears what a party is sent over RTP: it captures the G.711 RTP
// leaving a range of source ports on loopback (a phone's RTP ports) and
// decodes, on request, what went to one address since a moment. It is
// for parties whose own recordings cannot be read mid-call (baresip's
// recorder stops writing once a re-INVITE changes a call): what reaches
// a party's RTP port is what it hears.
type Ear struct {
	tr *Trace
}

// StartEar captures UDP sent from source ports lo-hi on loopback.
func StartEar(t testing.TB, lo, hi int) *Ear {
	t.Helper()
	return &Ear{tr: startCapture(t, "rtp", fmt.Sprintf("udp and src portrange %d-%d", lo, hi))}
}

// Heard returns the audio sent to dst since since, decoded (PCMU or PCMA
// by payload type), in the order it was captured; telephone-events and
// other payloads are left out.
func (e *Ear) Heard(dst netip.AddrPort, since time.Time) ([]int16, error) {
	if !e.tr.catchUp(3 * time.Second) {
		return nil, fmt.Errorf("lab: %w: the RTP capture did not catch up", ErrTimeout)
	}
	port := strconv.Itoa(int(dst.Port()))
	out, err := exec.Command("tshark", "-r", e.tr.file, "-n", "-d", "udp.port=="+port+",rtp",
		"-Y", "rtp.version==2 && udp.dstport=="+port+" && ip.dst=="+dst.Addr().String(),
		"-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "rtp.p_type", "-e", "rtp.payload").Output()
	if err != nil {
		return nil, fmt.Errorf("lab: tshark -r %s: %w", e.tr.file, err)
	}
	return decodeRTPFields(string(out), since)
}

// decodeRTPFields decodes Heard's tshark lines (time|payload type|hex
// payload) sent at or after since.
func decodeRTPFields(out string, since time.Time) ([]int16, error) {
	var s []int16
	frame := make([]int16, 1024)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		at, err := parseEpoch(f[0])
		if err != nil {
			return nil, err
		}
		if at.Before(since) {
			continue
		}
		pt, err := strconv.Atoi(f[1])
		if err != nil || (pt != 0 && pt != 8) {
			continue
		}
		payload, err := hex.DecodeString(strings.ReplaceAll(f[2], ":", ""))
		if err != nil || len(payload) > len(frame) {
			return nil, fmt.Errorf("lab: RTP payload %q: %v", f[2], err)
		}
		c, err := codec.ForPayloadType(uint8(pt))
		if err != nil {
			return nil, err
		}
		n := c.DecodeFrame(frame, payload)
		s = append(s, frame[:n]...)
	}
	return s, nil
}
