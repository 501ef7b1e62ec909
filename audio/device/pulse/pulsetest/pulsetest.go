// Package pulsetest runs a private PulseAudio server for tests: Debian's
// pulseaudio binary (installed by scripts/deps.sh), unprivileged, on its
// own socket and cookie under t.TempDir(), with null sinks whose monitor
// sources let a test hear what was played. Helpers play audio into a sink
// and record a source at 8 kHz mono through the same client library the
// phone uses.
//
// Contract: Start fails the test (never skips) when the server cannot
// start; the server is killed in t.Cleanup. Kill and Restart let a test
// take the server away and bring it back on the same socket.
package pulsetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	pa "github.com/jfreymuth/pulse"
	"github.com/jfreymuth/pulse/proto"

	"github.com/deskphone/phoned/scripts/tier"
)

// Server is one private PulseAudio server.
type Server struct {
	t      testing.TB
	Dir    string // the server's HOME, runtime directory and cookie live here
	Socket string // path of the native protocol socket
	Cookie string // path of the 256-byte auth cookie the server requires
	Sinks  []string

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

// Start starts a server with a null sink (and its monitor source) per name
// in sinks and waits until it accepts clients. Clients must present Cookie.
func Start(t testing.TB, sinks ...string) *Server {
	t.Helper()
	tier.Interop(t, "pulseaudio")
	dir := t.TempDir()
	s := &Server{t: t, Dir: dir, Socket: filepath.Join(dir, "run", "native"), Cookie: filepath.Join(dir, "cookie"), Sinks: sinks}
	for _, d := range []string{"run", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cookie := make([]byte, 256)
	rand.Read(cookie)
	if err := os.WriteFile(s.Cookie, cookie, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	s.Restart()
	return s
}

// Addr is the server string clients use: "unix:" + Socket.
func (s *Server) Addr() string { return "unix:" + s.Socket }

// Restart kills the server if it runs, starts it again on the same socket
// with the same sinks, and waits until it accepts clients.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	bin, err := exec.LookPath("pulseaudio")
	if err != nil {
		s.t.Fatalf("pulsetest: %s", tier.Missing("pulseaudio"))
	}
	args := []string{"-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
		"--use-pid-file=no", "--log-target=stderr", "--log-level=warning"}
	for _, name := range s.Sinks {
		args = append(args, "-L", "module-null-sink sink_name="+name)
	}
	args = append(args, "-L", fmt.Sprintf("module-native-protocol-unix socket=%s auth-anonymous=0 auth-cookie=%s", s.Socket, s.Cookie))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(s.Dir, "home"), "XDG_RUNTIME_DIR="+filepath.Join(s.Dir, "run"),
		"XDG_CONFIG_HOME="+filepath.Join(s.Dir, "home"), "PULSE_RUNTIME_PATH="+filepath.Join(s.Dir, "run"))
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	os.Remove(s.Socket)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("pulsetest: start pulseaudio: %v", err)
	}
	s.mu.Lock()
	s.cmd, s.out = cmd, out
	s.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := s.Client()
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatalf("pulsetest: server did not come up: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid returns the server's process id, 0 when it is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// Client connects a client of the test's own to the server, retrying for
// a second (many clients connecting at once can fill the listen backlog).
func (s *Server) Client() (*pa.Client, error) {
	os.Setenv("PULSE_COOKIE", s.Cookie) // the library reads the cookie path from here only
	deadline := time.Now().Add(time.Second)
	for {
		c, err := pa.NewClient(pa.ClientServerString(s.Addr()), pa.ClientApplicationName("pulsetest"))
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Player plays generated audio into a sink until Stop.
type Player struct {
	c *pa.Client
	p *pa.PlaybackStream
}

// Play plays fill's output (8 kHz mono) into sink until Stop or the end
// of t. fill is called from the client's goroutine.
func (s *Server) Play(t testing.TB, sink string, fill func([]int16)) *Player {
	t.Helper()
	c, err := s.Client()
	if err != nil {
		t.Fatalf("pulsetest: play: %v", err)
	}
	snk, err := c.SinkByID(sink)
	if err != nil {
		c.Close()
		t.Fatalf("pulsetest: sink %q: %v", sink, err)
	}
	p, err := c.NewPlayback(pa.Int16Reader(func(b []int16) (int, error) { fill(b); return len(b), nil }),
		pa.PlaybackMono, pa.PlaybackSampleRate(8000), pa.PlaybackLatency(0.04), pa.PlaybackSink(snk))
	if err != nil {
		c.Close()
		t.Fatalf("pulsetest: playback: %v", err)
	}
	p.Start()
	pl := &Player{c: c, p: p}
	t.Cleanup(pl.Stop)
	return pl
}

// Stop stops playing and disconnects.
func (p *Player) Stop() {
	if p.c != nil {
		p.c.Close()
		p.c = nil
	}
}

// Recorder records a source at 8 kHz mono.
type Recorder struct {
	c       *pa.Client
	mu      sync.Mutex
	samples []int16
}

// Record starts recording source (e.g. "phone.monitor") until Stop or the
// end of t.
func (s *Server) Record(t testing.TB, source string) *Recorder {
	t.Helper()
	c, err := s.Client()
	if err != nil {
		t.Fatalf("pulsetest: record: %v", err)
	}
	src, err := c.SourceByID(source)
	if err != nil {
		c.Close()
		t.Fatalf("pulsetest: source %q: %v", source, err)
	}
	r := &Recorder{c: c}
	rec, err := c.NewRecord(pa.Int16Writer(func(b []int16) (int, error) {
		r.mu.Lock()
		r.samples = append(r.samples, b...)
		r.mu.Unlock()
		return len(b), nil
	}), pa.RecordMono, pa.RecordSampleRate(8000), pa.RecordLatency(0.02), pa.RecordSource(src))
	if err != nil {
		c.Close()
		t.Fatalf("pulsetest: record stream: %v", err)
	}
	rec.Start()
	t.Cleanup(r.Stop)
	// A null sink nobody plays into renders in blocks of up to 2 s, and
	// its monitor delivers nothing until the block ends: wait for the
	// first samples, so a recording covers what the test does next.
	deadline := time.Now().Add(10 * time.Second)
	for r.Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pulsetest: %s delivers nothing", source)
		}
		time.Sleep(5 * time.Millisecond) // polling a real server, not timing
	}
	return r
}

// Samples returns a copy of what was recorded so far.
func (r *Recorder) Samples() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int16(nil), r.samples...)
}

// Len returns how many samples were recorded so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}

// Stop stops recording and disconnects.
func (r *Recorder) Stop() {
	r.mu.Lock()
	c := r.c
	r.c = nil
	r.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Running counts the server's sink inputs (playback streams) and source
// outputs (record streams) that are not corked, of every client: what
// keeps sinks and sources awake.
//
// It speaks the protocol without the client library's NewClient, which
// subscribes to stream events and sets its event callback only after its
// read loop has started (a data race when an event comes at once, as it
// does while the phone opens and closes streams).
func (s *Server) Running() (inputs, outputs int, err error) {
	os.Setenv("PULSE_COOKIE", s.Cookie)
	c, nc, err := proto.Connect(s.Addr())
	if err != nil {
		return 0, 0, err
	}
	defer nc.Close()
	c.SetTimeout(5 * time.Second)
	if err := c.Request(&proto.SetClientName{Props: proto.PropList{"application.name": proto.PropListString("pulsetest")}}, &proto.SetClientNameReply{}); err != nil {
		return 0, 0, err
	}
	var in proto.GetSinkInputInfoListReply
	if err := c.Request(&proto.GetSinkInputInfoList{}, &in); err != nil {
		return 0, 0, err
	}
	var out proto.GetSourceOutputInfoListReply
	if err := c.Request(&proto.GetSourceOutputInfoList{}, &out); err != nil {
		return 0, 0, err
	}
	for _, i := range in {
		if !i.Corked {
			inputs++
		}
	}
	for _, o := range out {
		if !o.Corked {
			outputs++
		}
	}
	return inputs, outputs, nil
}
