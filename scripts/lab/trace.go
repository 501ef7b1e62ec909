package lab

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Trace captures SIP over UDP on loopback ports with dumpcap (the capture
// engine of tshark) into a pcapng file in t.TempDir(), and decodes it with
// tshark, telling it that those ports carry SIP. When the test fails, the
// message flow is printed in t.Cleanup.
type Trace struct {
	ports  []int
	file   string
	p      *proc
	marker *net.UDPConn // a port of ours in the filter, to know when the capture caught up

	once sync.Once
	msgs []TraceMessage
	err  error
}

// TraceMessage is one captured SIP message.
type TraceMessage struct {
	Time     time.Time
	Src, Dst string // "127.0.0.1:5060"
	Method   string // request method; empty for responses
	Status   int    // response status; 0 for requests
	CSeq     string // CSeq method, e.g. "INVITE" for a 180
	CallID   string
}

func (m TraceMessage) String() string {
	what := m.Method
	if m.Status != 0 {
		what = fmt.Sprintf("%d (%s)", m.Status, m.CSeq)
	}
	return fmt.Sprintf("%s %s -> %s %s %s", m.Time.Format("15:04:05.000000"), m.Src, m.Dst, what, m.CallID)
}

// StartTrace starts capturing UDP on the given ports of the loopback
// interface and returns once the capture is live. Fatal if dumpcap is
// missing or cannot capture (it needs root or CAP_NET_RAW).
func StartTrace(t testing.TB, ports ...int) *Trace {
	t.Helper()
	if len(ports) == 0 {
		t.Fatalf("lab: %v: StartTrace needs at least one port", ErrOption)
	}
	var filter []string
	for _, p := range ports {
		filter = append(filter, "udp port "+strconv.Itoa(p))
	}
	tr := startCapture(t, "sip", strings.Join(filter, " or "))
	tr.ports = ports
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		msgs, err := tr.Messages()
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString(m.String())
			b.WriteByte('\n')
		}
		t.Logf("lab: SIP trace on ports %v (%s, err %v):\n%s", ports, tr.file, err, b.String())
	})
	return tr
}

// startCapture starts dumpcap on loopback with a capture filter (plus our
// marker port) into name.pcapng, and returns once the capture is live.
func startCapture(t testing.TB, name, filter string) *Trace {
	t.Helper()
	bin := lookBinary(t, "", "dumpcap")
	var err error
	dir := t.TempDir()
	tr := &Trace{file: filepath.Join(dir, name+".pcapng")}
	if tr.marker, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.marker.Close() })
	filter = "(" + filter + ") or udp port " + strconv.Itoa(tr.marker.LocalAddr().(*net.UDPAddr).Port)
	cmd := exec.Command(bin, "-i", "lo", "-f", filter, "-w", tr.file, "-q")
	tr.p, err = startProc(t, "dumpcap", cmd, filepath.Join(dir, "dumpcap.log"))
	if err != nil {
		t.Fatal(err)
	}
	// "Capturing on" can come before the filter sees packets: the capture
	// is live once a marker datagram of ours is in the file.
	if !tr.p.log.waitFor("Capturing on", 10*time.Second, tr.p.done) || !tr.catchUp(5*time.Second) {
		t.Fatalf("lab: %v: dumpcap did not start capturing:\n%s", ErrNotReady, tr.p.log.String())
	}
	return tr
}

// File is the pcapng file (for Wireshark).
func (tr *Trace) File() string { return tr.file }

// Messages stops the capture (the first call only; later calls return the
// same result) and returns the SIP messages captured, in capture order.
func (tr *Trace) Messages() ([]TraceMessage, error) {
	tr.once.Do(func() {
		tr.catchUp(3 * time.Second)
		tr.p.killGroup(sigINT) // dumpcap writes what it has and exits
		if _, ok := tr.p.wait(5 * time.Second); !ok {
			tr.p.stop(time.Second)
		}
		tr.msgs, tr.err = decodeSIP(tr.file, tr.ports)
	})
	return tr.msgs, tr.err
}

// catchUp sends a marker datagram to our own port and waits until the
// capture file holds it: packets reach dumpcap in blocks, and a SIGINT
// drops what it has not written yet.
func (tr *Trace) catchUp(timeout time.Duration) bool {
	marker := []byte(fmt.Sprintf("phoned-lab-trace-marker-%d", time.Now().UnixNano()))
	to := tr.marker.LocalAddr().(*net.UDPAddr)
	deadline := time.Now().Add(timeout)
	for i := 0; time.Now().Before(deadline) && !tr.p.exited(); i++ {
		if i%5 == 0 { // again every 100 ms: one sent before the capture was live is lost
			if _, err := tr.marker.WriteToUDP(marker, to); err != nil {
				return false
			}
		}
		if b, err := os.ReadFile(tr.file); err == nil && bytes.Contains(b, marker) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func decodeSIP(file string, ports []int) ([]TraceMessage, error) {
	args := []string{"-r", file, "-n", "-Y", "sip"}
	for _, p := range ports {
		args = append(args, "-d", fmt.Sprintf("udp.port==%d,sip", p))
	}
	args = append(args, "-T", "fields", "-E", "separator=|",
		"-e", "frame.time_epoch", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport",
		"-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method", "-e", "sip.Call-ID")
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("lab: tshark -r %s: %w", file, err)
	}
	var msgs []TraceMessage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) < 9 {
			continue
		}
		sec, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		m := TraceMessage{
			Time:   time.Unix(0, int64(sec*1e9)),
			Src:    f[1] + ":" + f[2],
			Dst:    f[3] + ":" + f[4],
			Method: f[5],
			CSeq:   f[7],
			CallID: f[8],
		}
		m.Status, _ = strconv.Atoi(f[6])
		msgs = append(msgs, m)
	}
	return msgs, nil
}
