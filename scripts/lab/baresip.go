package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Answer modes of a baresip account.
const (
	AnswerManual = "manual" // rings (180) until Accept
	AnswerAuto   = "auto"   // answers at once (180, then 200)
)

// BaresipOptions configure one baresip instance, the "other phone".
type BaresipOptions struct {
	// User is the AOR user (default "1002"); Password the digest password
	// (empty: none).
	User, Password string
	// Domain of the AOR; default the registrar's address, else 127.0.0.1.
	Domain string
	// Registrar, when valid, is where baresip registers (as its outbound
	// proxy, so calls go through it too). Zero: no registration, direct
	// calls only (regint=0).
	Registrar netip.AddrPort
	// NoRegisterWait makes StartBaresip return without waiting for the
	// registration (one meant to fail: wait for REGISTER_FAIL instead).
	NoRegisterWait bool
	// RegisterInterval is the registration interval (regint) in seconds
	// when Registrar is set; default 600.
	RegisterInterval int
	// AnswerMode is AnswerManual (default) or AnswerAuto.
	AnswerMode string
	// MicWAV is the microphone (aufile source): an 8 kHz mono 16-bit WAV.
	// baresip 1.0 hangs up when the file ends (AUDIO_ERROR "end of
	// file"), so it must outlast the call. Default: 120 s of silence
	// written into t.TempDir() (see ToneWAV for a tone).
	MicWAV string
	// RecordDir, when set, loads the sndfile module: every call writes
	// what baresip heard as *-dec.wav and what it sent as *-enc.wav there.
	RecordDir string
	// MediaEnc, when set, loads the srtp module and puts it on the account
	// as ;mediaenc=: "srtp" (best effort: RTP/AVP with a=crypto),
	// "srtp-mand" (RTP/SAVP, SDES keys required) or "srtp-mandf".
	MediaEnc string
	// Extra lines appended to baresip's config.
	Extra []string
	// Binary overrides "baresip".
	Binary string
	// Logger gets a line when baresip is ready; default slog.Default().
	Logger *slog.Logger
}

// Event is one ctrl_tcp event of baresip, as it sent it, stamped with the
// time the lab received it.
type Event struct {
	Time       time.Time `json:"-"`
	Type       string    `json:"type"`  // CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, CALL_DTMF_START, REGISTER_OK, ...
	Class      string    `json:"class"` // call, register, other
	AccountAOR string    `json:"accountaor"`
	Direction  string    `json:"direction"` // incoming, outgoing
	PeerURI    string    `json:"peeruri"`
	ID         string    `json:"id"`
	Param      string    `json:"param"` // e.g. the reason of CALL_CLOSED, the key of CALL_DTMF_START
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s %s %q", e.Type, e.Direction, e.PeerURI, e.Param)
}

// Baresip is a running baresip owned by one test.
type Baresip struct {
	opts  BaresipOptions
	addr  netip.AddrPort
	dir   string
	p     *proc
	stdin io.WriteCloser
	ctrl  net.Conn

	mu       sync.Mutex
	events   []Event
	cursor   int // WaitEvent consumes events up to here
	changed  chan struct{}
	pending  map[string]chan ctrlResponse
	token    int
	ctrlDone chan struct{}
}

type ctrlResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// StartBaresip writes a config into t.TempDir(), starts baresip on free
// ports of 127.0.0.1 (SIP on PORT and PORT+1 for TLS; ctrl_tcp elsewhere)
// and returns once its control socket answers and, when a Registrar is
// given, the account is registered. Everything is stopped in t.Cleanup;
// when the test failed, the log's tail is printed.
func StartBaresip(t testing.TB, o BaresipOptions) *Baresip {
	t.Helper()
	if o.User == "" {
		o.User = "1002"
	}
	if !userRe.MatchString(o.User) || !passRe.MatchString(o.Password) {
		t.Fatalf("lab: %v: baresip user %q or its password", ErrOption, o.User)
	}
	switch o.MediaEnc {
	case "", "srtp", "srtp-mand", "srtp-mandf":
	default:
		t.Fatalf("lab: %v: MediaEnc %q, want srtp, srtp-mand or srtp-mandf", ErrOption, o.MediaEnc)
	}
	switch o.AnswerMode {
	case "":
		o.AnswerMode = AnswerManual
	case AnswerManual, AnswerAuto:
	default:
		t.Fatalf("lab: %v: AnswerMode %q, want %q or %q", ErrOption, o.AnswerMode, AnswerManual, AnswerAuto)
	}
	if o.Domain == "" {
		o.Domain = "127.0.0.1"
		if o.Registrar.IsValid() {
			o.Domain = o.Registrar.Addr().String()
		}
	}
	if o.RegisterInterval <= 0 {
		o.RegisterInterval = 600
	}
	path := lookBinary(t, o.Binary, "baresip")
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	dir := t.TempDir()
	if o.MicWAV == "" {
		o.MicWAV = ToneWAV(t, 0, 120*time.Second)
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		b, err := startBaresip(t, path, filepath.Join(dir, strconv.Itoa(attempt)), o)
		if err == nil {
			o.Logger.Debug("lab: baresip ready", "user", o.User, "addr", b.addr, "registrar", o.Registrar, "answermode", o.AnswerMode)
			return b
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func startBaresip(t testing.TB, bin, dir string, o BaresipOptions) (*Baresip, error) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sipPort, err := FreePort(2)
	if err != nil {
		return nil, err
	}
	ctrlPort, err := FreePort(1)
	if err != nil {
		return nil, err
	}
	cfg := []string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", sipPort),
		"net_interface 127.0.0.1", // SDP and RTP on loopback, not the first NIC
		fmt.Sprintf("rtp_ports %d-%d", rtpLow, rtpHigh),
		"audio_source aufile," + o.MicWAV,
		"module_path /usr/lib/baresip/modules",
		"module stdio.so",
		"module g711.so",
		"module aufile.so",
	}
	if o.RecordDir != "" {
		cfg = append(cfg, "module sndfile.so", "snd_path "+o.RecordDir)
	}
	if o.MediaEnc != "" {
		cfg = append(cfg, "module srtp.so")
	}
	cfg = append(cfg,
		"module_app account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", ctrlPort),
	)
	cfg = append(cfg, o.Extra...)
	account := fmt.Sprintf("<sip:%s@%s>", o.User, o.Domain)
	if o.Password != "" {
		account += ";auth_pass=" + o.Password
	}
	if o.Registrar.IsValid() {
		account += fmt.Sprintf(";outbound=\"sip:%s\";regint=%d", o.Registrar, o.RegisterInterval)
	} else {
		account += ";regint=0"
	}
	account += ";answermode=" + o.AnswerMode
	if o.MediaEnc != "" {
		account += ";mediaenc=" + o.MediaEnc
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(strings.Join(cfg, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-f", dir)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe() // the stdio module needs a pollable stdin
	if err != nil {
		return nil, err
	}
	p, err := startProc(t, "baresip", cmd, filepath.Join(dir, "baresip.log"))
	if err != nil {
		return nil, err
	}
	b := &Baresip{
		opts: o, dir: dir, p: p, stdin: stdin, changed: make(chan struct{}),
		addr:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sipPort)),
		pending: map[string]chan ctrlResponse{}, ctrlDone: make(chan struct{}),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lab: baresip %s (%s) log:\n%s\nevents: %v", o.User, b.addr, tail(p.log.String(), 60), b.Events())
		}
	})
	fail := func(err error) (*Baresip, error) {
		p.stop(time.Second)
		return nil, fmt.Errorf("lab: baresip %s: %w\n%s", b.addr, err, tail(p.log.String(), 30))
	}
	if !p.log.waitFor("baresip is ready.", 5*time.Second, p.done) {
		return fail(fmt.Errorf("%w: no \"baresip is ready.\" within 5s", ErrNotReady))
	}
	conn, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", ctrlPort), 2*time.Second)
	if err != nil {
		return fail(fmt.Errorf("%w: ctrl_tcp: %w", ErrNotReady, err))
	}
	b.ctrl = conn
	go b.readCtrl()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = conn.Close()
		<-b.ctrlDone
	})
	if o.Registrar.IsValid() && !o.NoRegisterWait {
		if err := b.waitRegistered(5 * time.Second); err != nil {
			return fail(err)
		}
	}
	return b, nil
}

// Registered asks baresip (ctrl_tcp "reginfo") whether its account is
// registered. Registration events at start-up come before the lab's
// control connection, so this is the way to check them.
func (b *Baresip) Registered() (bool, error) {
	out, err := b.command("reginfo", "")
	if err != nil {
		return false, err
	}
	return strings.Contains(out, "OK"), nil
}

// waitRegistered polls reginfo until the account shows OK.
func (b *Baresip) waitRegistered(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if b.hasEvent("REGISTER_OK") {
			return nil
		}
		if b.hasEvent("REGISTER_FAIL") {
			return fmt.Errorf("%w: REGISTER_FAIL: %v", ErrNotReady, b.Events())
		}
		out, err := b.command("reginfo", "")
		if err == nil && strings.Contains(out, "OK") {
			return nil
		}
		last = out
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%w: not registered within %v: %q", ErrNotReady, timeout, last)
}

func (b *Baresip) hasEvent(typ string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.ContainsFunc(b.events, func(e Event) bool { return e.Type == typ })
}

// readCtrl reads netstrings ("LEN:JSON,") from ctrl_tcp until it closes.
func (b *Baresip) readCtrl() {
	defer close(b.ctrlDone)
	r := bufio.NewReader(b.ctrl)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			b.mu.Lock()
			for _, ch := range b.pending {
				close(ch)
			}
			b.pending = map[string]chan ctrlResponse{}
			b.mu.Unlock()
			return
		}
		var head struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &head) != nil {
			continue
		}
		switch {
		case head.Event:
			var ev Event
			if json.Unmarshal(msg, &ev) == nil {
				ev.Time = time.Now()
				b.mu.Lock()
				b.events = append(b.events, ev)
				close(b.changed)
				b.changed = make(chan struct{})
				b.mu.Unlock()
			}
		case head.Response:
			var resp ctrlResponse
			if json.Unmarshal(msg, &resp) == nil {
				b.mu.Lock()
				if ch, ok := b.pending[resp.Token]; ok {
					ch <- resp
					delete(b.pending, resp.Token)
				}
				b.mu.Unlock()
			}
		}
	}
}

// maxNetstring bounds one ctrl_tcp message.
const maxNetstring = 1 << 20

func readNetstring(r *bufio.Reader) ([]byte, error) {
	lenStr, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
	if err != nil || n < 0 || n > maxNetstring {
		return nil, fmt.Errorf("%w: bad netstring length %q", ErrControl, lenStr)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("%w: netstring not ended by ','", ErrControl)
	}
	return buf[:n], nil
}

// command sends one ctrl_tcp command and waits for its response.
func (b *Baresip) command(cmd, params string) (string, error) {
	b.mu.Lock()
	b.token++
	token := "lab" + strconv.Itoa(b.token)
	ch := make(chan ctrlResponse, 1)
	b.pending[token] = ch
	b.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": token})
	msg := fmt.Sprintf("%d:%s,", len(body), body)
	_ = b.ctrl.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(b.ctrl, msg); err != nil {
		return "", fmt.Errorf("lab: baresip %s: %w: %w", cmd, ErrControl, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return "", fmt.Errorf("lab: baresip %s: %w: control connection closed", cmd, ErrControl)
		}
		if !resp.OK {
			return resp.Data, fmt.Errorf("lab: baresip %s %q: %w: %s", cmd, params, ErrControl, strings.TrimSpace(resp.Data))
		}
		return resp.Data, nil
	case <-time.After(5 * time.Second):
		b.mu.Lock()
		delete(b.pending, token)
		b.mu.Unlock()
		return "", fmt.Errorf("lab: baresip %s: %w: no response in 5s", cmd, ErrTimeout)
	}
}

// Command runs any ctrl_tcp command (the menu's long commands, e.g.
// "reginfo", "hold", "dtmf_mode"?) and returns its text.
func (b *Baresip) Command(cmd, params string) (string, error) { return b.command(cmd, params) }

// Dial places a call to uri ("sip:1001@127.0.0.1:5070").
func (b *Baresip) Dial(uri string) error { _, err := b.command("dial", uri); return err }

// Accept answers the ringing incoming call.
func (b *Baresip) Accept() error { _, err := b.command("accept", ""); return err }

// Hangup ends (or cancels, or rejects) the current call.
func (b *Baresip) Hangup() error { _, err := b.command("hangup", ""); return err }

// Calls returns baresip's listcalls text ("--- Active calls (N) ---" ...).
func (b *Baresip) Calls() (string, error) { return b.command("listcalls", "") }

// CallCount parses the number of active calls from listcalls.
func (b *Baresip) CallCount() (int, error) {
	out, err := b.Calls()
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`Active calls \((\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("lab: %w: unexpected listcalls output %q", ErrControl, out)
	}
	return strconv.Atoi(m[1])
}

// SendDTMF types digits (0-9, *, #, A-D) on baresip's console; in a call
// the menu sends each as an RFC 4733 event. Digits are spaced by gap
// (default 150 ms) so that each becomes a separate event.
func (b *Baresip) SendDTMF(digits string, gap time.Duration) error {
	if gap <= 0 {
		gap = 150 * time.Millisecond
	}
	for i, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			return fmt.Errorf("lab: %w: DTMF digit %q at %d", ErrOption, d, i)
		}
		if _, err := io.WriteString(b.stdin, string(d)); err != nil {
			return fmt.Errorf("lab: baresip stdin: %w: %w", ErrControl, err)
		}
		time.Sleep(gap)
	}
	return nil
}

// Events returns all events received so far.
func (b *Baresip) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// WaitEvent waits for the next event, after those already returned by
// WaitEvent, whose Type matches the regular expression pattern (anchored:
// "CALL_ESTABLISHED", "CALL_(CLOSED|ESTABLISHED)"). Events skipped over
// stay in Events. It fails the test on timeout.
func (b *Baresip) WaitEvent(t testing.TB, pattern string, timeout time.Duration) Event {
	t.Helper()
	ev, err := b.NextEvent(pattern, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// NextEvent is WaitEvent returning an error instead of failing a test.
func (b *Baresip) NextEvent(pattern string, timeout time.Duration) (Event, error) {
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return Event{}, fmt.Errorf("lab: %w: event pattern: %w", ErrOption, err)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		for i := b.cursor; i < len(b.events); i++ {
			if re.MatchString(b.events[i].Type) {
				b.cursor = i + 1
				ev := b.events[i]
				b.mu.Unlock()
				return ev, nil
			}
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-b.p.done:
			return Event{}, fmt.Errorf("lab: baresip %s: %w: exited while waiting for %s", b.opts.User, ErrExit, pattern)
		case <-deadline.C:
			return Event{}, fmt.Errorf("lab: baresip %s: %w: no %s event within %v; events: %v", b.opts.User, ErrTimeout, pattern, timeout, b.Events())
		}
	}
}

// ReceivedDTMF returns the digits baresip received as RFC 4733 events
// (CALL_DTMF_START), in order.
func (b *Baresip) ReceivedDTMF() string {
	var s strings.Builder
	for _, e := range b.Events() {
		if e.Type == "CALL_DTMF_START" {
			s.WriteString(e.Param)
		}
	}
	return s.String()
}

// WaitDTMF waits until ReceivedDTMF has at least n digits and returns them.
func (b *Baresip) WaitDTMF(t testing.TB, n int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := b.ReceivedDTMF()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab: baresip %s: %v: %d DTMF digits within %v, got %q", b.opts.User, ErrTimeout, n, timeout, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Recordings returns the sndfile recordings of RecordDir, sorted by name
// (so by call start time): dec are what baresip heard, enc what it sent.
func (b *Baresip) Recordings() (dec, enc []string) {
	if b.opts.RecordDir == "" {
		return nil, nil
	}
	dec, _ = filepath.Glob(filepath.Join(b.opts.RecordDir, "*-dec.wav"))
	enc, _ = filepath.Glob(filepath.Join(b.opts.RecordDir, "*-enc.wav"))
	slices.Sort(dec)
	slices.Sort(enc)
	return dec, enc
}

// Heard follows what baresip hears from now on, in every call and across
// the new recording files re-INVITEs start (RecordDir must be set).
func (b *Baresip) Heard() (*Recording, error) {
	r := FollowAll(func() []string { dec, _ := b.Recordings(); return dec })
	return r, r.Mark()
}

// Stop ends baresip now (unregistering is not waited for); Cleanup would
// do it at the end of the test anyway.
func (b *Baresip) Stop() {
	_ = b.stdin.Close()
	b.p.stop(2 * time.Second)
}

// Addr is baresip's SIP address (UDP).
func (b *Baresip) Addr() netip.AddrPort { return b.addr }

// URI is the direct contact URI, e.g. "sip:1002@127.0.0.1:15060".
func (b *Baresip) URI() string { return fmt.Sprintf("sip:%s@%s", b.opts.User, b.addr) }

// AOR is the address of record, e.g. "sip:1002@127.0.0.1".
func (b *Baresip) AOR() string { return fmt.Sprintf("sip:%s@%s", b.opts.User, b.opts.Domain) }

// Log returns the kept tail of baresip's console output.
func (b *Baresip) Log() string { return b.p.log.String() }

// WaitLog waits until baresip's output contains substr; false on timeout.
func (b *Baresip) WaitLog(substr string, timeout time.Duration) bool {
	return b.p.log.waitFor(substr, timeout, b.p.done)
}
