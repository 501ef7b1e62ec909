package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	scenarios "github.com/deskphone/phoned/scripts/sipp"
)

// SIPpOptions configure one SIPp run.
type SIPpOptions struct {
	// Scenario is a built-in scenario ("uac", "uas", "uac_pcap", ... run
	// with -sn), the name of a file in scripts/sipp ("uas_486" or
	// "uas_486.xml"), or a path to an XML file. Placeholders written as
	// {{name}} or {{name:default}} in a file are replaced from Params.
	Scenario string
	// Params fill the scenario's {{name}} placeholders.
	Params map[string]string
	// Target is the remote SIP address (a UAC's destination); zero for a UAS.
	Target netip.AddrPort
	// Service is the request-URI user (-s); default "service".
	Service string
	// LocalIP is the loopback address SIPp binds (-i, -mi); zero is
	// 127.0.0.1. Another one (127.0.0.2) is a host a proxy on 127.0.0.1
	// does not take for itself, so it forwards requests there.
	LocalIP netip.Addr
	// LocalPort is SIPp's SIP port (-p); 0 picks a free one.
	LocalPort int
	// MediaPort is SIPp's RTP port (-mp; pcap play and echo); 0 picks one.
	MediaPort int
	// Calls bounds the run (-m, default 1); Rate is calls per second (-r,
	// default 10); Limit caps simultaneous calls (-l, default SIPp's).
	Calls int
	Rate  float64
	Limit int
	// Timeout ends the whole run as a failure (-timeout, -timeout_error);
	// default 30 s.
	Timeout time.Duration
	// Extra arguments passed to SIPp before the target.
	Extra []string
	// Binary overrides "sipp".
	Binary string
}

// SIPp is a SIPp run owned by one test.
type SIPp struct {
	opts     SIPpOptions
	addr     netip.AddrPort
	media    int
	dir      string
	scenario string // path of the written scenario, or "" for built-ins
	msgFile  string
	errFile  string
	p        *proc
}

var placeholderRe = regexp.MustCompile(`\{\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}\}`)

// ScenarioNames lists the scenario files of scripts/sipp.
func ScenarioNames() []string {
	m, _ := fs.Glob(scenarios.Scenarios, "*.xml")
	return m
}

// RenderScenario returns the scenario file name (in scripts/sipp, ".xml"
// optional) or path with its placeholders filled from params.
func RenderScenario(name string, params map[string]string) (string, error) {
	var data []byte
	var err error
	base := strings.TrimSuffix(name, ".xml") + ".xml"
	if !strings.ContainsRune(name, '/') {
		data, err = fs.ReadFile(scenarios.Scenarios, base)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("lab: %w: sipp scenario %q: %w", ErrOption, name, err)
	}
	var missing []string
	out := placeholderRe.ReplaceAllStringFunc(string(data), func(m string) string {
		sub := placeholderRe.FindStringSubmatch(m)
		if v, ok := params[sub[1]]; ok {
			return v
		}
		if strings.Contains(m, ":") {
			return sub[2]
		}
		missing = append(missing, sub[1])
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("lab: %w: sipp scenario %q needs Params %v", ErrOption, name, missing)
	}
	return out, nil
}

var builtinScenarios = map[string]bool{
	"uac": true, "uas": true, "regexp": true, "3pcc-C-A": true, "3pcc-C-B": true,
	"3pcc-A": true, "3pcc-B": true, "branchc": true, "branchs": true, "uac_pcap": true,
}

// RunSIPp starts SIPp in the background on 127.0.0.1 with -nostdin,
// bounded by -m Calls and -timeout, tracing messages and errors into
// t.TempDir(). Wait or WaitOK collect its result; t.Cleanup kills it if it
// still runs, and prints the trace when the test failed.
func RunSIPp(t testing.TB, o SIPpOptions) *SIPp {
	t.Helper()
	path := lookBinary(t, o.Binary, "sipp")
	var err error
	if o.Calls <= 0 {
		o.Calls = 1
	}
	if o.Rate <= 0 {
		o.Rate = 10
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Service == "" {
		o.Service = "service"
	}
	if !o.LocalIP.IsValid() {
		o.LocalIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if o.LocalPort == 0 {
		if o.LocalPort, err = FreePort(1); err != nil {
			t.Fatal(err)
		}
	}
	if o.MediaPort == 0 {
		if o.MediaPort, err = FreePort(4); err != nil { // RTP, RTCP, video pair
			t.Fatal(err)
		}
	}
	s := &SIPp{opts: o, dir: t.TempDir(), media: o.MediaPort,
		addr: netip.AddrPortFrom(o.LocalIP, uint16(o.LocalPort))}
	s.msgFile = filepath.Join(s.dir, "messages.log")
	s.errFile = filepath.Join(s.dir, "errors.log")
	args := []string{"-nostdin", "-i", o.LocalIP.String(), "-p", strconv.Itoa(o.LocalPort),
		"-mi", o.LocalIP.String(), "-mp", strconv.Itoa(o.MediaPort),
		"-m", strconv.Itoa(o.Calls), "-r", strconv.FormatFloat(o.Rate, 'f', -1, 64),
		"-s", o.Service, "-timeout", fmt.Sprintf("%ds", int(o.Timeout.Seconds()+0.999)), "-timeout_error",
		"-trace_msg", "-message_file", s.msgFile, "-trace_err", "-error_file", s.errFile,
		"-trace_logs", "-log_file", filepath.Join(s.dir, "logs.log"),
	}
	if o.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.Limit))
	}
	if builtinScenarios[o.Scenario] {
		args = append(args, "-sn", o.Scenario)
	} else {
		text, err := RenderScenario(o.Scenario, o.Params)
		if err != nil {
			t.Fatal(err)
		}
		s.scenario = filepath.Join(s.dir, strings.TrimSuffix(filepath.Base(o.Scenario), ".xml")+".xml")
		if err := os.WriteFile(s.scenario, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-sf", s.scenario)
	}
	args = append(args, o.Extra...)
	if o.Target.IsValid() {
		args = append(args, o.Target.String())
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = s.dir
	p, err := startProc(t, "sipp", cmd, filepath.Join(s.dir, "sipp.out"))
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	if !o.Target.IsValid() { // a server: return once it listens
		if err := waitBound(o.LocalIP, o.LocalPort, 5*time.Second, p.done); err != nil {
			t.Fatalf("lab: sipp %s: %v\n%s", o.Scenario, err, tail(p.log.String(), 30))
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lab: sipp %s (%s) %v\nerrors:\n%s\nmessages:\n%s", o.Scenario, s.addr, args,
				tail(s.Errors(), 40), tail(s.Messages(), 120))
		}
	})
	return s
}

// waitBound waits until someone holds UDP port on ip.
func waitBound(ip netip.Addr, port int, timeout time.Duration, died <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-died:
			return fmt.Errorf("%w: exited before binding port %d", ErrNotReady, port)
		default:
		}
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%w: port %d not bound within %v", ErrNotReady, port, timeout)
}

// Addr is SIPp's SIP address: where a UAS scenario listens.
func (s *SIPp) Addr() netip.AddrPort { return s.addr }

// MediaPort is SIPp's RTP port (-mp).
func (s *SIPp) MediaPort() int { return s.media }

// Dir is the run's directory (messages.log, errors.log, sipp.out, ...).
func (s *SIPp) Dir() string { return s.dir }

// Wait waits for SIPp to end by itself (bounded by Timeout plus a margin,
// after which it is killed) and returns nil for exit status 0, else an
// error wrapping ErrExit with the status, the error trace and the tail of
// the message trace.
func (s *SIPp) Wait() error {
	err, ok := s.p.wait(s.opts.Timeout + 10*time.Second)
	if !ok {
		s.p.stop(time.Second)
		err = fmt.Errorf("%w: still running %v after its -timeout", ErrTimeout, s.opts.Timeout)
	}
	if err == nil {
		return nil
	}
	status := err.Error()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = fmt.Sprintf("exit status %d (%s)", ee.ExitCode(), sippStatus(ee.ExitCode()))
	}
	return fmt.Errorf("lab: sipp %s: %w: %s\nerrors:\n%s\nmessages:\n%s\nscreen:\n%s", s.opts.Scenario, ErrExit, status,
		tail(s.Errors(), 30), tail(s.Messages(), 80), tail(s.p.log.String(), 40))
}

// WaitOK is Wait failing the test on any error.
func (s *SIPp) WaitOK(t testing.TB) {
	t.Helper()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
}

// Stop ends a SIPp that still runs (e.g. a UAS whose calls did not come).
func (s *SIPp) Stop() { s.p.stop(2 * time.Second) }

func sippStatus(code int) string {
	switch code {
	case 0:
		return "all calls succeeded"
	case 1:
		return "at least one call failed"
	case 97:
		return "exit on internal command, calls may have been processed"
	case 99:
		return "normal exit without calls processed"
	case 255:
		return "fatal error"
	case 254:
		return "fatal error binding a socket"
	}
	return "unknown"
}

// Messages returns the message trace (-trace_msg) written so far.
func (s *SIPp) Messages() string { return readSmall(s.msgFile) }

// Errors returns the unexpected-message trace (-trace_err).
func (s *SIPp) Errors() string { return readSmall(s.errFile) }

func readSmall(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > maxLog {
		return "[...]\n" + string(b[len(b)-maxLog:])
	}
	return string(b)
}

// SIPpMessage is one message of SIPp's trace.
type SIPpMessage struct {
	Time      time.Time
	Sent      bool   // sent by SIPp, else received
	FirstLine string // "INVITE sip:... SIP/2.0" or "SIP/2.0 180 Ringing"
	Method    string // request method, or the CSeq method of a response
	Status    int    // response status, 0 for requests
	CallID    string
}

// Trace parses the message trace: every message SIPp sent or received,
// with SIPp's timestamps (microseconds).
func (s *SIPp) Trace() ([]SIPpMessage, error) {
	f, err := os.Open(s.msgFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSIPpTrace(bufio.NewScanner(f))
}

// The trace separates messages with
// "----------------------------------------------- 2024-03-01	12:00:00.123456"
// followed by "UDP message sent (N bytes):" or "UDP message received [N] bytes :".
var sippStampRe = regexp.MustCompile(`^-{10,} (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d\.\d+)`)

func parseSIPpTrace(sc *bufio.Scanner) ([]SIPpMessage, error) {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []SIPpMessage
	var cur *SIPpMessage
	expectFirst := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := sippStampRe.FindStringSubmatch(line); m != nil {
			ts, err := time.ParseInLocation("2006-01-02 15:04:05.999999", m[1]+" "+m[2], time.Local)
			if err != nil {
				return out, fmt.Errorf("lab: sipp trace time %q: %w", line, err)
			}
			out = append(out, SIPpMessage{Time: ts})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case strings.Contains(line, "message sent"):
			cur.Sent, expectFirst = true, true
		case strings.Contains(line, "message received"):
			cur.Sent, expectFirst = false, true
		case expectFirst && strings.TrimSpace(line) != "":
			cur.FirstLine, expectFirst = strings.TrimSpace(line), false
			if rest, ok := strings.CutPrefix(cur.FirstLine, "SIP/2.0 "); ok {
				cur.Status, _ = strconv.Atoi(strings.Fields(rest + " x")[0])
			} else {
				cur.Method = strings.Fields(cur.FirstLine)[0]
			}
		case cur.FirstLine != "":
			name, val, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "call-id", "i":
				cur.CallID = strings.TrimSpace(val)
			case "cseq":
				if f := strings.Fields(val); len(f) == 2 && cur.Status != 0 {
					cur.Method = f[1]
				}
			}
		}
	}
	return out, sc.Err()
}
