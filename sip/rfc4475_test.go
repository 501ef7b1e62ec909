package sip

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// netnsEnv tells the test binary that it runs inside the namespace that
// TestRFC4475 made for it.
const netnsEnv = "PHONED_RFC4475_NETNS"

// TestRFC4475 sends each RFC 4475 torture message to a UA over the
// transport its top Via names, from the address that Via names, and checks
// the answer against testdata/rfc4475/answers.txt (what the RFC says each
// message gets). The messages' Via hosts are not this machine's, so the
// whole exchange runs in a network namespace of the test's own (PEERS.md):
// the test binary runs itself again under `ip netns exec`, with the Via
// addresses on the namespace's loopback; replies cannot leave it.
func TestRFC4475(t *testing.T) {
	tier.Component(t, "the RFC 4475 messages sent to a UA inside a network namespace of the test's own")
	if os.Getenv(netnsEnv) != "" {
		tortureTable(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root to create a network namespace (ip netns add)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip is not installed: apt-get install iproute2")
	}
	ns := fmt.Sprintf("phoned-rfc4475-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"netns", "exec", ns}
	if tier.Emulated() {
		// The test binary is for the phone's CPU: run it as go test -exec did.
		args = append(args, map[string]string{"arm": "qemu-arm-static", "arm64": "qemu-aarch64-static"}[runtime.GOARCH])
	}
	args = append(args, self, "-test.run=^TestRFC4475$", "-test.count=1")
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), netnsEnv+"="+ns)
	out, err := cmd.CombinedOutput()
	t.Logf("inside %s:\n%s", ns, out)
	if err != nil || !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("the table failed inside the namespace: %v", err)
	}
}

// tortureCase is one line of answers.txt.
type tortureCase struct {
	file, section, rfc string
	allowed            []int // answers allowed; empty: none (a response, or dropped)
	// known is the answer we give instead, a deviation the table records
	// (after "!"), 0 when none.
	known int
}

func loadAnswers(t *testing.T) []tortureCase {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc4475/answers.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cs []tortureCase
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("answers.txt: short line %q", line)
		}
		c := tortureCase{file: f[0], section: f[1], rfc: f[2]}
		allowed, known, _ := strings.Cut(f[3], "!")
		if known != "" {
			n, err := strconv.Atoi(known)
			if err != nil {
				t.Fatalf("answers.txt: %q: %v", line, err)
			}
			c.known = n
		}
		if allowed != "none" {
			for _, s := range strings.Split(allowed, ",") {
				n, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("answers.txt: %q: %v", line, err)
				}
				c.allowed = append(c.allowed, n)
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// TestRFC4475AnswersCoverCorpus: every message has a line and every line
// a message (49, RFC 4475 §3).
func TestRFC4475AnswersCoverCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/rfc4475/*.dat")
	var names []string
	for _, c := range loadAnswers(t) {
		names = append(names, c.file)
	}
	slices.Sort(names)
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if !slices.Equal(names, got) || len(got) != 49 {
		t.Fatalf("answers.txt names %v\nthe corpus has %v", names, got)
	}
}

func tortureTable(t *testing.T) {
	run(t, "ip", "link", "set", "lo", "up")
	cases := loadAnswers(t)
	msgs := map[string][]byte{}
	added := map[netip.Addr]bool{}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join("testdata/rfc4475", c.file))
		if err != nil {
			t.Fatal(err)
		}
		msgs[c.file] = b
		_, host, _ := topVia(b)
		if a, err := netip.ParseAddr(host); err == nil && !a.IsLoopback() && !added[a] {
			added[a] = true
			run(t, "ip", "addr", "add", a.String()+"/32", "dev", "lo")
		}
	}
	ca := lab.NewTestCA(t, "test")
	cert := ca.Issue(t, "phone", lab.Loopback())
	conf := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}
	malformed, ran := uint64(0), 0
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ran++
			// A UA of its own per message: the RFC's messages share
			// branches and Call-IDs, and each is about itself alone.
			msg := msgs[c.file]
			transport, _, _ := topVia(msg)
			ua := newPhone(t, "1001", "Torture", func(cfg *Config) {
				cfg.Transport = "tcp" // listens on UDP and TCP
				if transport == "tls" {
					cfg.Transport = "tls"
					cfg.TLS = TLSConfig{RootCAs: ca.Pool(), Certificate: &cert.Pair}
				}
			})
			ua.SetRingAtOnce(true)
			codes := send(t, ua, conf, msg, len(c.allowed) == 0)
			malformed += ua.GuardStats().Malformed
			t.Logf("%s (RFC 4475 §%s, %s): answered %v", c.file, c.section, c.rfc, codes)
			switch {
			case c.known != 0:
				// A deviation on record: fail when it changes, so the
				// table is brought up to date.
				if len(codes) == 0 || codes[0] != c.known {
					t.Errorf("%s: answered %v; answers.txt records %d (allowed %v): update it", c.file, codes, c.known, c.allowed)
				} else {
					t.Logf("%s: known deviation: %d where the RFC allows %v", c.file, c.known, c.allowed)
				}
			case len(c.allowed) == 0 && len(codes) > 0:
				t.Errorf("%s: answered %v; the RFC wants no answer (%s)", c.file, codes, c.rfc)
			case len(c.allowed) > 0 && (len(codes) == 0 || !slices.Contains(c.allowed, codes[0])):
				t.Errorf("%s: answered %v, want one of %v (%s)", c.file, codes, c.allowed, c.rfc)
			}
		})
	}
	t.Logf("malformed messages counted: %d", malformed)
	if malformed == 0 && ran == len(cases) {
		t.Error("no malformed message counted in GuardStats")
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// topVia reads the transport, host and port of a message's top Via.
func topVia(msg []byte) (transport, host string, port int) {
	h := scanHead(msg)
	if len(h.vias) == 0 {
		return "", "", 0
	}
	v := string(h.vias[0])
	v = strings.NewReplacer("\r", " ", "\n", " ", "\t", " ").Replace(v)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, "/", 3)
	if len(parts) < 3 {
		return "", "", 0
	}
	f := strings.Fields(parts[2])
	if len(f) < 2 {
		return "", "", 0
	}
	transport = strings.ToLower(f[0])
	sentBy, _, _ := strings.Cut(f[1], ";")
	host, p, err := net.SplitHostPort(sentBy)
	if err != nil {
		host, p = sentBy, ""
	}
	port, _ = strconv.Atoi(p)
	return transport, host, port
}

// send sends msg from the address its Via names, over its transport, and
// returns the codes of the answers carrying its Call-ID. With none
// expected, an OPTIONS follows on the same flow: its answer marks the end
// of what the message could have got.
func send(t *testing.T, ua *phone, conf *tls.Config, msg []byte, probe bool) []int {
	transport, host, port := topVia(msg)
	local := netip.MustParseAddr("127.0.0.1")
	if a, err := netip.ParseAddr(host); err == nil && !a.IsMulticast() && a != netip.IPv4Unspecified() {
		local = a
	}
	callIDs := messageCallIDs(msg)
	wait := 10 * time.Second
	if tier.Emulated() {
		wait = 40 * time.Second
	}
	var (
		write func([]byte)
		read  func() ([]byte, error)
	)
	stream := transport != "udp"
	switch transport {
	case "udp":
		if port == 0 {
			port = 5060
		}
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, uint16(port))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		to := net.UDPAddrFromAddrPort(ua.Addr())
		write = func(b []byte) { c.WriteToUDP(b, to) }
		c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 65535)
		read = func() ([]byte, error) {
			n, _, err := c.ReadFromUDP(buf)
			return buf[:n], err
		}
	case "tcp", "tls":
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0)), Timeout: wait}
		var c net.Conn
		var err error
		if transport == "tls" {
			c, err = tls.DialWithDialer(&d, "tcp", ua.Addr().String(), conf)
		} else {
			c, err = d.Dial("tcp", ua.Addr().String())
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		write = func(b []byte) { c.Write(b) }
		r := bufio.NewReader(c)
		read = func() ([]byte, error) { return readRaw(r) }
		c.SetReadDeadline(time.Now().Add(wait))
	default:
		t.Fatalf("top Via transport %q", transport)
	}
	write(msg)
	probeID := ""
	if probe {
		probeID = fmt.Sprintf("probe-%d@torture", time.Now().UnixNano())
		write(probeOptions(ua.Addr(), transport, local, port, probeID))
	}
	var codes []int
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		m, err := read()
		if err != nil {
			if probe && !stream {
				t.Fatalf("no answer to the probe: %v", err)
			}
			return codes // a stream closed (after its answer), or nothing came
		}
		// Read leniently: a 400 copies the request's Vias, malformed or not.
		code, id, ok := answerOf(m)
		if !ok || (!slices.Contains(callIDs, id) && id != probeID) {
			t.Logf("not an answer to the message: %.200q", m)
			continue
		}
		switch {
		case probe && id == probeID:
			return codes
		case slices.Contains(callIDs, id):
			codes = append(codes, code)
			if !probe {
				return codes
			}
		}
	}
	if probe {
		t.Fatal("no answer to the probe")
	}
	return codes
}

// messageCallIDs lists the Call-IDs of a message (RFC 4475 §3.3.8 has two;
// insuf none): an answer carries one of them.
func messageCallIDs(msg []byte) []string {
	ids := []string{""}
	head, _, _ := strings.Cut(string(msg), "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			if k = strings.ToLower(strings.TrimSpace(k)); k == "call-id" || k == "i" {
				ids = append(ids, strings.TrimSpace(v))
			}
		}
	}
	if len(ids) > 1 {
		ids = ids[1:]
	}
	return ids
}

// answerOf reads a response's status code and Call-ID without a parser.
func answerOf(m []byte) (code int, callID string, ok bool) {
	lines := strings.Split(string(m), "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return 0, "", false
	}
	code, err := strconv.Atoi(f[1])
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			if k = strings.ToLower(strings.TrimSpace(k)); (k == "call-id" || k == "i") && callID == "" {
				callID = strings.TrimSpace(v)
			}
		}
	}
	return code, callID, err == nil
}

// readRaw reads one message from a stream: its head, then Content-Length
// bytes.
func readRaw(r *bufio.Reader) ([]byte, error) {
	var m []byte
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if len(m) == 0 && line == "\r\n" {
			continue // keep-alive (RFC 5626 §3.5.1)
		}
		m = append(m, line...)
		if k, v, ok := strings.Cut(line, ":"); ok {
			if k = strings.ToLower(strings.TrimSpace(k)); k == "content-length" || k == "l" {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(m, body...), nil
}

// probeOptions is an OPTIONS from the torture message's flow.
func probeOptions(ua netip.AddrPort, transport string, local netip.Addr, port int, id string) []byte {
	if port == 0 {
		port = 5060
	}
	return []byte(fmt.Sprintf("OPTIONS sip:torture@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p1\r\nTo: <sip:torture@%s>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		ua, strings.ToUpper(transport), local, port, strconv.FormatInt(time.Now().UnixNano(), 36), ua, id))
}
