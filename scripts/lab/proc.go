package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

// proc is one external program owned by a test: it runs in its own process
// group (so its children die with it), its output goes to a bounded
// in-memory log and a file under t.TempDir(), and t.Cleanup ends it.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
	err  error // set before done is closed
}

// startProc starts cmd after wiring stdout and stderr into a log. The file
// logPath keeps everything; the in-memory copy keeps the last maxLog bytes.
func startProc(t testing.TB, name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("lab: %s: log file: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: newLogBuffer(f), done: make(chan struct{})}
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("lab: %s: %w: %w", name, ErrStart, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(3 * time.Second) })
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end by itself within timeout.
func (p *proc) wait(timeout time.Duration) (error, bool) {
	select {
	case <-p.done:
		return p.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		p.killGroup(syscall.SIGKILL) // children that outlived the leader
		return
	}
	p.killGroup(syscall.SIGTERM)
	if _, ok := p.wait(grace); !ok {
		p.killGroup(syscall.SIGKILL)
		p.wait(grace)
	}
	p.killGroup(syscall.SIGKILL)
}

func (p *proc) killGroup(sig syscall.Signal) {
	if p.cmd.Process == nil {
		return
	}
	// The group id is the leader's pid (Setpgid). ESRCH once all are gone.
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Signal(sig)
	}
}

// maxLog bounds the in-memory copy of a program's output.
const maxLog = 256 << 10

// logBuffer is an io.Writer that tees into a file and keeps the tail in
// memory, with line notifications for waiters.
type logBuffer struct {
	mu      sync.Mutex
	file    io.Writer
	buf     bytes.Buffer
	dropped int
	changed chan struct{} // closed and replaced on every write
}

func newLogBuffer(file io.Writer) *logBuffer {
	return &logBuffer{file: file, changed: make(chan struct{})}
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		_, _ = l.file.Write(b)
	}
	l.buf.Write(b)
	if over := l.buf.Len() - maxLog; over > 0 {
		l.buf.Next(over)
		l.dropped += over
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(b), nil
}

// String returns the kept tail of the log.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped > 0 {
		return fmt.Sprintf("[... %d bytes dropped ...]\n%s", l.dropped, l.buf.String())
	}
	return l.buf.String()
}

// waitFor waits until the log contains substr, the process ends, or timeout.
func (l *logBuffer) waitFor(substr string, timeout time.Duration, done <-chan struct{}) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ok := strings.Contains(l.buf.String(), substr)
		ch := l.changed
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return strings.Contains(l.String(), substr)
		case <-deadline.C:
			return false
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before ...]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// lookBinary marks the test as interop tier (skipped under -short) and
// finds bin on the PATH (def when bin is ""), failing the test in one line
// with ErrNotInstalled and the Debian package to install when it is
// missing.
func lookBinary(t testing.TB, bin, def string) string {
	t.Helper()
	tier.Interop(t)
	if bin == "" {
		bin = def
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("lab: %v: %s", ErrNotInstalled, tier.Missing(filepath.Base(bin)))
	}
	return path
}
