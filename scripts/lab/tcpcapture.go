package lab

import (
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// StartTCPCapture captures TCP on a loopback port with dumpcap, e.g. a
// TLS port, to show what went over it in clear.
func StartTCPCapture(t testing.TB, port int) *Trace {
	t.Helper()
	return startCapture(t, fmt.Sprintf("tcp-%d", port), fmt.Sprintf("tcp port %d", port))
}

// TCPPayload stops the capture (like Messages) and returns every TCP
// payload captured, concatenated in capture order, and the number of
// segments carrying data.
func (tr *Trace) TCPPayload() ([]byte, int, error) {
	tr.once.Do(func() {
		tr.catchUp(3 * time.Second)
		tr.p.killGroup(sigINT)
		if _, ok := tr.p.wait(5 * time.Second); !ok {
			tr.p.stop(time.Second)
		}
	})
	out, err := exec.Command("tshark", "-r", tr.file, "-n", "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.payload").Output()
	if err != nil {
		return nil, 0, fmt.Errorf("lab: tshark -r %s: %w", tr.file, err)
	}
	var all []byte
	n := 0
	for _, line := range strings.Fields(string(out)) {
		b, err := hex.DecodeString(strings.ReplaceAll(line, ":", ""))
		if err != nil {
			return nil, 0, fmt.Errorf("lab: tcp payload %q: %w", line, err)
		}
		all = append(all, b...)
		n++
	}
	return all, n, nil
}
