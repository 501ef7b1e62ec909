// Package phoneproc runs phoned processes and drives them through their
// local API, the way a person or a provisioning script would. `make demo`
// and the end-to-end interop tests use it, so they test the shipped binary
// and not a re-assembly of its parts.
package phoneproc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/deskphone/phoned/firmware/daemon"
)

// Phone is one running phoned.
type Phone struct {
	Name    string // for messages: "A", "B"
	APIAddr string // host:port of its API
	// Password, when set, is sent with every request (api.password).
	Password string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
}

// Start writes config to DIR/NAME.toml and starts bin on it with the
// terminal keypad off; its log goes to DIR/NAME.log. apiAddr must be the
// config's api.listen.
func Start(bin, dir, name, config, apiAddr string) (*Phone, error) {
	return StartEnv(bin, dir, name, config, apiAddr, nil)
}

// StartEnv is Start with env added to the process's environment.
func StartEnv(bin, dir, name, config, apiAddr string, env []string) (*Phone, error) {
	base := filepath.Join(dir, strings.ToLower(name))
	if err := os.WriteFile(base+".toml", []byte(config), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(base + ".log")
	if err != nil {
		return nil, err
	}
	p := &Phone{Name: name, APIAddr: apiAddr, dir: dir, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "-config", base+".toml", "-keypad", "off")
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("phone %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// LogPath is where the phone's log is.
func (p *Phone) LogPath() string { return filepath.Join(p.dir, strings.ToLower(p.Name)+".log") }

// Log returns the phone's log so far.
func (p *Phone) Log() string {
	b, _ := os.ReadFile(p.LogPath())
	return string(b)
}

// Stop sends SIGTERM and waits up to 5 s for a clean exit.
func (p *Phone) Stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("phone %s exited badly: %w (log: %s)", p.Name, p.waitErr, p.LogPath())
		}
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("phone %s did not stop within 5 s of SIGTERM", p.Name)
	}
}

// Kill ends the process if it still runs.
func (p *Phone) Kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// Post sends an action; anything but 202 is an error.
func (p *Phone) Post(path, body string) error {
	resp, err := p.Do("POST", path, "application/json", body)
	if err != nil {
		return fmt.Errorf("phone %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("phone %s: POST %s: %s %s", p.Name, path, resp.Status, b)
	}
	return nil
}

// Do sends a request to the API with the phone's password, if any.
func (p *Phone) Do(method, path, contentType, body string) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://"+p.APIAddr+path, bytes.NewBufferString(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p.Password != "" {
		req.Header.Set("Authorization", "Bearer "+p.Password)
	}
	return http.DefaultClient.Do(req)
}

// Hook lifts (true) or replaces the handset.
func (p *Phone) Hook(offhook bool) error {
	return p.Post("/api/hook", fmt.Sprintf(`{"offhook":%t}`, offhook))
}

// Keys presses keys.
func (p *Phone) Keys(keys string) error {
	return p.Post("/api/keys", fmt.Sprintf(`{"keys":%q}`, keys))
}

// Function presses a function key by name (hold, transfer, conference,
// mute, redial, speaker, ...).
func (p *Phone) Function(name string) error {
	return p.Post("/api/keys", fmt.Sprintf(`{"function":%q}`, name))
}

// Flash flashes the hook switch.
func (p *Phone) Flash() error { return p.Post("/api/hook", `{"flash":true}`) }

// Status reads the phone's status.
func (p *Phone) Status() (daemon.Status, error) {
	var st daemon.Status
	resp, err := p.Do("GET", "/api/status", "", "")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Wait waits for the phone to reach state.
func (p *Phone) Wait(state string, within time.Duration) (daemon.Status, error) {
	return p.Until(within, "state "+state, func(st daemon.Status) bool { return st.State == state })
}

// WaitDisplay waits for the display to contain text.
func (p *Phone) WaitDisplay(text string, within time.Duration) (daemon.Status, error) {
	return p.Until(within, "display "+strconv.Quote(text), func(st daemon.Status) bool { return strings.Contains(st.Display, text) })
}

// Until polls the status until ok, for at most within.
func (p *Phone) Until(within time.Duration, what string, ok func(daemon.Status) bool) (daemon.Status, error) {
	deadline := time.Now().Add(within)
	var last daemon.Status
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return last, fmt.Errorf("phone %s exited while waiting for %s (log: %s)", p.Name, what, p.LogPath())
		default:
		}
		last, lastErr = p.Status()
		if lastErr == nil && ok(last) {
			return last, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	if lastErr != nil {
		return last, fmt.Errorf("phone %s: waiting for %s: %w (log: %s)", p.Name, what, lastErr, p.LogPath())
	}
	return last, fmt.Errorf("phone %s: no %s within %s; display %q (log: %s)", p.Name, what, within, last.Display, p.LogPath())
}

// Pid is the phone's process id (under qemu, the emulator's).
func (p *Phone) Pid() int { return p.cmd.Process.Pid }

// RSS is the phone's resident set in KiB (Linux /proc), 0 if unknown.
func (p *Phone) RSS() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

// FreePort returns a port of 127.0.0.1 free at the time of asking, for
// network "udp" (free on TCP too) or "tcp".
func FreePort(network string) (int, error) {
	switch network {
	case "udp":
		// The phone listens on TCP at its UDP port too (RFC 3261 §18):
		// a port free for both.
		for try := 0; ; try++ {
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			port := c.LocalAddr().(*net.UDPAddr).Port
			l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
			c.Close()
			if err == nil {
				l.Close()
				return port, nil
			}
			if try >= 20 {
				return 0, err
			}
		}
	case "tcp":
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	return 0, errors.New("phoneproc: network must be udp or tcp")
}
