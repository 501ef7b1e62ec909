package diag

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/pcap"
)

const (
	digestResp = "6629fae49393a05397450978507c4ef1"
	password   = "s3cret-pw"
)

var invite = "INVITE sip:1002@example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n" +
	"From: <sip:1001:" + password + "@example.com>;tag=a\r\n" +
	"To: <sip:1002@example.com>\r\n" +
	"Call-ID: c1\r\nCSeq: 2 INVITE\r\n" +
	"Proxy-Authorization: Digest username=\"1001\", realm=\"example.com\", nonce=\"n,1\", uri=\"sip:1002@example.com\",\r\n" +
	" response=\"" + digestResp + "\", algorithm=MD5\r\n" +
	"authorization:Basic MTAwMTpzM2NyZXQ=\r\n" +
	"Content-Length: 64\r\n\r\nv=0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:S3CR3TKEYBASE64==\n"

func TestMask(t *testing.T) {
	got := string(Mask([]byte(invite), []string{"1001-password-in-body", "ab"}))
	for _, secret := range []string{digestResp, password, "MTAwMTpzM2NyZXQ=", "S3CR3TKEYBASE64"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q shows in\n%s", secret, got)
		}
	}
	for _, kept := range []string{`username="1001"`, `realm="example.com"`, `nonce="n,1"`, "response=" + Masked, "Basic " + Masked, "sip:1001:" + Masked + "@example.com", "v=0\n", "Content-Length: 64\r\n\r\n", "inline:[key]"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q missing from\n%s", kept, got)
		}
	}
	for in, want := range map[string]string{
		"Contact: <sip:host:5060;transport=tcp>": "Contact: <sip:host:5060;transport=tcp>",
		"To: <SIPS:u:pw@h>, sip:a:b@c":           "To: <SIPS:u:" + Masked + "@h>, sip:a:" + Masked + "@c",
		"Via: SIP/2.0/UDP h:5060;received=sip:x": "Via: SIP/2.0/UDP h:5060;received=sip:x",
		"sip:":                                   "sip:",
	} {
		if got := maskURIPasswords(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	// A configured secret is masked anywhere; one too short is left alone.
	got = string(Mask([]byte("MESSAGE sip:a SIP/2.0\r\nSubject: hunter22\r\n\r\nab hunter22"), []string{"hunter22", "ab"}))
	if strings.Contains(got, "hunter22") || !strings.Contains(got, "ab ") {
		t.Errorf("secrets: %q", got)
	}
}

// FuzzMask: any message is masked without a panic, and a configured
// secret (digits here, so no replacement text can re-form it) never
// survives.
func FuzzMask(f *testing.F) {
	f.Add([]byte(invite), "20261203")
	f.Add([]byte("Authorization: Digest response=\"x\\\"y\""), "123")
	f.Add([]byte("REGISTER sip:a SIP/2.0\r\nAuthorization: Digest response=\"4242424242\"\r\n\r\n"), "99999")
	f.Fuzz(func(t *testing.T, msg []byte, secret string) {
		out := string(Mask(msg, []string{secret}))
		if len(secret) >= minSecret && strings.Trim(secret, "0123456789") == "" && strings.Contains(out, secret) {
			t.Fatalf("secret %q survives in %q", secret, out)
		}
	})
}

func TestSplitter(t *testing.T) {
	msg1 := "OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n"
	msg2 := "MESSAGE sip:a SIP/2.0\r\nl: 5\r\n\r\nhello"
	stream := "\r\n\r\n" + msg1 + msg2 // a keep-alive first
	var s splitter
	var got []string
	for i := 0; i < len(stream); i += 7 { // arbitrary chunks
		msgs, over := s.feed([]byte(stream[i:min(i+7, len(stream))]))
		if over != nil {
			t.Fatal("overflow")
		}
		for _, m := range msgs {
			got = append(got, string(m))
		}
	}
	if len(got) != 2 || got[0] != msg1 || got[1] != msg2 {
		t.Fatalf("%q", got)
	}
	if s.buf != nil {
		t.Fatalf("left %q", s.buf)
	}
	// Junk without an end is held up to maxPending, then let go.
	msgs, over := s.feed(bytes.Repeat([]byte("x"), maxPending+1))
	if len(msgs) != 0 || len(over) != maxPending+1 || s.buf != nil {
		t.Fatalf("%d msgs, %d overflow, %d held", len(msgs), len(over), len(s.buf))
	}
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newDiag(t *testing.T) (*Diag, *logBuf, *clock.Fake) {
	lb := &logBuf{}
	clk := clock.NewFake(time.Unix(1700000000, 0))
	d := New(clk, slog.New(slog.NewTextHandler(lb, nil)))
	return d, lb, clk
}

func TestTraceOffLogsNothing(t *testing.T) {
	d, lb, _ := newDiag(t)
	d.SIPTraceWrite("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte(invite))
	if lb.String() != "" {
		t.Fatalf("trace off logged %q", lb.String())
	}
}

func TestTraceLogsMasked(t *testing.T) {
	d, lb, _ := newDiag(t)
	d.SetSecrets(password)
	d.SetSIPTrace(true)
	d.SIPTraceWrite("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte(invite))
	// TCP: the 200 arrives in two reads, with a keep-alive between.
	ok := "SIP/2.0 200 OK\r\nCSeq: 2 INVITE\r\nContent-Length: 3\r\n\r\nv=0"
	d.SIPTraceRead("TCP", "127.0.0.1:5060", "127.0.0.1:5070", []byte(ok[:20]))
	d.SIPTraceRead("TCP", "127.0.0.1:5060", "127.0.0.1:5070", []byte(ok[20:]+"\r\n\r\n"))
	out := lb.String()
	for _, secret := range []string{digestResp, password, "MTAwMTpzM2NyZXQ="} {
		if strings.Contains(out, secret) {
			t.Errorf("%q in the log:\n%s", secret, out)
		}
	}
	for _, want := range []string{"dir=sent transport=UDP local=127.0.0.1:5060 remote=127.0.0.1:5070", "INVITE sip:1002@example.com",
		"dir=recv transport=TCP", `SIP/2.0 200 OK\r\nCSeq: 2 INVITE`} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from\n%s", want, out)
		}
	}
	d.SetTLS(true)
	d.SIPTraceWrite("TCP", "127.0.0.1:5061", "127.0.0.1:5071", []byte("OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n"))
	out = lb.String()
	if !strings.Contains(out, "dir=sent transport=TLS local=127.0.0.1:5061") {
		t.Errorf("TLS not named:\n%s", out)
	}
	if n := strings.Count(out, `msg="sip trace"`); n != 3 {
		t.Errorf("%d trace lines, want 3 (one per message):\n%s", n, out)
	}
}

func TestTraceBounded(t *testing.T) {
	d, lb, clk := newDiag(t)
	d.SetSIPTrace(true)
	huge := "MESSAGE sip:a SIP/2.0\r\nContent-Length: 60000\r\n\r\n" + strings.Repeat("z", 60000)
	d.SIPTraceRead("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte(huge))
	if l := len(lb.String()); l > 2*TraceMax+500 {
		t.Fatalf("a 60 kB message logged %d bytes", l)
	}
	if !strings.Contains(lb.String(), "bytes more") {
		t.Fatalf("cut not said: %s", lb.String()[:200])
	}
	for i := 0; i < 10*TraceBurst; i++ { // the huge one took one of the second's lines
		d.SIPTraceRead("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("OPTIONS sip:a SIP/2.0\r\n\r\n"))
	}
	if n := strings.Count(lb.String(), `msg="sip trace"`); n != TraceBurst {
		t.Fatalf("%d lines in one second, want %d", n, TraceBurst)
	}
	clk.Advance(time.Second)
	d.SIPTraceRead("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("OPTIONS sip:a SIP/2.0\r\n\r\n"))
	if !strings.Contains(lb.String(), "not_logged="+strconv.Itoa(9*TraceBurst+1)) {
		t.Fatalf("held count not logged: %s", lb.String()[len(lb.String())-300:])
	}
}

func TestCaptureLifecycle(t *testing.T) {
	d, _, clk := newDiag(t)
	if _, _, err := d.CaptureFile(); !errors.Is(err, ErrNoCapture) {
		t.Fatal(err)
	}
	for _, bad := range []time.Duration{0, time.Millisecond, MaxCaptureTime + time.Second} {
		if err := d.StartCapture(bad); !errors.Is(err, ErrCaptureTime) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if err := d.StopCapture(); !errors.Is(err, ErrNotRunning) {
		t.Fatal(err)
	}
	if err := d.StartCapture(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.StartCapture(30 * time.Second); !errors.Is(err, ErrCaptureRunning) {
		t.Fatalf("second capture: %v", err)
	}
	// SIP over UDP and TCP, RTP both ways.
	d.SIPTraceWrite("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte(invite))
	d.SIPTraceRead("TCP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("SIP/2.0 200 OK\r\n"))
	d.SIPTraceRead("TCP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("Content-Length: 0\r\n\r\n"))
	tap := &rtpTap{d}
	l, r := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:40002")
	tap.Packet(true, false, l, r, []byte{0x80, 0, 0, 1})
	tap.Packet(false, false, l, r, []byte{0x80, 0, 0, 2})
	if st := d.Capture(); st.State != "running" || st.Packets != 5 {
		t.Fatalf("%+v", st)
	}
	clk.Advance(30 * time.Second) // its time runs out
	st := d.Capture()
	if st.State != "done" || st.Ended != EndTime {
		t.Fatalf("after its time: %+v", st)
	}
	tap.Packet(true, false, l, r, []byte{0x80}) // after the end: not captured
	bufs, st, err := d.CaptureFile()
	file := bytes.Join(bufs, nil)
	if err != nil || st.Packets != 5 || len(file) != st.Bytes {
		t.Fatalf("%v %+v %d", err, st, len(file))
	}
	ps, err := pcap.Read(file)
	if err != nil || len(ps) != 5 {
		t.Fatalf("%d packets, %v", len(ps), err)
	}
	if ps[0].Src.String() != "127.0.0.1:5060" || !bytes.HasPrefix(ps[0].Payload, []byte("INVITE")) {
		t.Errorf("INVITE: %+v", ps[0])
	}
	if ps[1].Proto != "tcp" || ps[1].Src.String() != "127.0.0.1:5070" || ps[2].Seq != ps[1].Seq+uint32(len(ps[1].Payload)) {
		t.Errorf("TCP: %+v %+v", ps[1], ps[2])
	}
	if ps[3].Src != l || ps[4].Src != r || ps[4].Dst != l {
		t.Errorf("RTP: %+v %+v", ps[3], ps[4])
	}
	// Stop: only a running capture.
	if err := d.StartCapture(time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := d.StopCapture(); err != nil {
		t.Fatal(err)
	}
	if st := d.Capture(); st.Ended != EndStopped || st.Packets != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestCaptureSizeBound(t *testing.T) {
	d, _, _ := newDiag(t)
	if err := d.StartCapture(MaxCaptureTime); err != nil {
		t.Fatal(err)
	}
	tap := &rtpTap{d}
	l, r := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:40002")
	pkt := make([]byte, 1400)
	for i := 0; i < 2*MaxCaptureBytes/len(pkt); i++ {
		tap.Packet(true, false, l, r, pkt)
	}
	st := d.Capture()
	if st.State != "done" || st.Ended != EndSize || st.Bytes > MaxCaptureBytes || st.Bytes < MaxCaptureBytes-2000 {
		t.Fatalf("%+v", st)
	}
}

// Traces, taps, switches and captures from many goroutines at once: no
// race (under -race), and the file stays well framed.
func TestConcurrentUse(t *testing.T) {
	d, _, _ := newDiag(t)
	d.SetSIPTrace(true)
	if err := d.StartCapture(time.Minute); err != nil {
		t.Fatal(err)
	}
	tap := &rtpTap{d}
	l, r := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("[::1]:40002")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				d.SIPTraceRead("TCP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
				d.SIPTraceWrite("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("OPTIONS sip:a SIP/2.0\r\n\r\n"))
				tap.Packet(i%2 == 0, false, l, r, []byte{0x80, 0, byte(i), 0})
				if g == 0 && i%50 == 0 {
					d.SetSIPTrace(i%100 == 0)
					d.Capture()
				}
			}
		}()
	}
	wg.Wait()
	if err := d.StopCapture(); err != nil {
		t.Fatal(err)
	}
	bufs, st, _ := d.CaptureFile()
	file := bytes.Join(bufs, nil)
	ps, err := pcap.Read(file)
	if err != nil || len(ps) != st.Packets || st.Packets != 4*200*3 {
		t.Fatalf("%d packets read, %d counted: %v", len(ps), st.Packets, err)
	}
}

// The chunk store gives back what was written, in any write sizes, and a
// snapshot does not change when writing goes on.
func TestChunks(t *testing.T) {
	var b chunks
	var want []byte
	for i := 0; i < 300; i++ {
		p := bytes.Repeat([]byte{byte(i)}, i*7%(chunkSize/3)+1)
		b.Write(p)
		want = append(want, p...)
	}
	b.Write(bytes.Repeat([]byte{1}, 2*chunkSize+5)) // larger than a chunk
	want = append(want, bytes.Repeat([]byte{1}, 2*chunkSize+5)...)
	snap := b.Buffers()
	b.Write([]byte("more"))
	if got := bytes.Join(snap, nil); !bytes.Equal(got, want) || b.Len() != len(want)+4 {
		t.Fatalf("%d bytes back of %d (Len %d)", len(got), len(want), b.Len())
	}
	for _, c := range b.c {
		if cap(c) != chunkSize {
			t.Fatalf("a chunk of %d", cap(c))
		}
	}
}

// The cost per SIP message with the trace and the capture off (sipgo's
// own address strings not included), and with the trace on.
func BenchmarkSIPHookOff(b *testing.B) {
	d := New(clock.Real{}, slog.New(slog.DiscardHandler))
	msg := []byte(invite)
	b.ReportAllocs()
	for b.Loop() {
		d.SIPTraceRead("UDP", "127.0.0.1:5060", "127.0.0.1:5070", msg)
	}
}

func BenchmarkSIPTraceOn(b *testing.B) {
	d := New(clock.NewFake(time.Unix(0, 0)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.SetSIPTrace(true)
	msg := []byte(invite)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.mu.Lock()
		d.logged = 0 // not rate limited: measure the work
		d.mu.Unlock()
		d.SIPTraceRead("UDP", "127.0.0.1:5060", "127.0.0.1:5070", msg)
	}
}

func BenchmarkCaptureRTP(b *testing.B) {
	d := New(clock.Real{}, slog.New(slog.DiscardHandler))
	d.StartCapture(MaxCaptureTime)
	defer d.StopCapture()
	tap := &rtpTap{d}
	l, r := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:40002")
	pkt := make([]byte, 172)
	b.ReportAllocs()
	for b.Loop() {
		if d.Capture().State != "running" {
			d.StartCapture(MaxCaptureTime)
		}
		tap.Packet(true, false, l, r, pkt)
	}
}
