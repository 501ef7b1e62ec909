// Command phonedemo is `make demo`: it starts two phoned processes on the
// simulated board on loopback, has phone A (1001) call phone B (1002)
// through their local APIs, lets B answer, and checks by tone detection
// that each side's speaker recording holds the other side's microphone
// tone (A plays 700 Hz, B plays 1100 Hz). It hangs up, prints a call
// summary and exits 0 only when all of that held.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
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

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/audio/wav"
	"github.com/deskphone/phoned/firmware/daemon"
)

const (
	toneA = 700.0  // phone A's microphone
	toneB = 1100.0 // phone B's microphone
)

func main() {
	phoned := flag.String("phoned", "bin/phoned", "the phoned binary")
	talk := flag.Duration("talk", 3*time.Second, "how long the call lasts")
	keep := flag.Bool("keep", false, "keep the work folder (configs, logs, recordings)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "phonedemo-")
	if err != nil {
		fail(err)
	}
	err = demo(*phoned, dir, *talk)
	if err != nil || *keep {
		fmt.Printf("work folder kept: %s\n", dir)
	} else {
		os.RemoveAll(dir)
	}
	if err != nil {
		fail(err)
	}
	fmt.Println("demo: PASS")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo: FAIL:", err)
	os.Exit(1)
}

type phone struct {
	name, user string
	sipPort    int
	apiURL     string
	cmd        *exec.Cmd
	dir        string
}

func demo(bin, dir string, talk time.Duration) error {
	a := &phone{name: "A", user: "1001", dir: dir}
	b := &phone{name: "B", user: "1002", dir: dir}
	for _, p := range []*phone{a, b} {
		sp, err := freePort("udp")
		if err != nil {
			return err
		}
		ap, err := freePort("tcp")
		if err != nil {
			return err
		}
		p.sipPort, p.apiURL = sp, fmt.Sprintf("http://127.0.0.1:%d", ap)
	}
	if err := writeTone(filepath.Join(dir, "a-mic.wav"), toneA); err != nil {
		return err
	}
	if err := writeTone(filepath.Join(dir, "b-mic.wav"), toneB); err != nil {
		return err
	}
	if err := a.start(bin, b); err != nil {
		return err
	}
	defer a.kill()
	if err := b.start(bin, a); err != nil {
		return err
	}
	defer b.kill()
	for _, p := range []*phone{a, b} {
		if err := p.wait("idle", 10*time.Second); err != nil {
			return err
		}
	}
	idleRSS := [2]int{rss(a.cmd), rss(b.cmd)}

	t0 := time.Now()
	step("A lifts the handset")
	if err := a.post("/api/hook", `{"offhook":true}`); err != nil {
		return err
	}
	if err := a.wait("dialtone", 5*time.Second); err != nil {
		return err
	}
	step("A dials 1002#")
	if err := a.post("/api/keys", `{"keys":"1002#"}`); err != nil {
		return err
	}
	tDial := time.Now()
	if err := b.wait("ringing", 5*time.Second); err != nil {
		return err
	}
	tRing := time.Now()
	if err := a.waitDisplay("ringing 1002", 5*time.Second); err != nil {
		return err
	}
	step("B rings; B lifts the handset")
	if err := b.post("/api/hook", `{"offhook":true}`); err != nil {
		return err
	}
	if err := a.wait("talking", 5*time.Second); err != nil {
		return err
	}
	tAns := time.Now()
	if err := b.wait("talking", 5*time.Second); err != nil {
		return err
	}
	step(fmt.Sprintf("talking for %s", talk))
	time.Sleep(talk)
	sa, err := a.status()
	if err != nil {
		return err
	}
	sb, err := b.status()
	if err != nil {
		return err
	}
	callRSS := [2]int{rss(a.cmd), rss(b.cmd)}
	step("A hangs up")
	if err := a.post("/api/hook", `{"offhook":false}`); err != nil {
		return err
	}
	if err := a.wait("idle", 5*time.Second); err != nil {
		return err
	}
	if err := b.wait("busy", 5*time.Second); err != nil {
		return fmt.Errorf("phone B did not see the BYE: %w", err)
	}
	step("B hears the far end hang up; B hangs up")
	if err := b.post("/api/hook", `{"offhook":false}`); err != nil {
		return err
	}
	if err := b.wait("idle", 5*time.Second); err != nil {
		return err
	}
	for _, p := range []*phone{a, b} {
		if err := p.stop(); err != nil {
			return err
		}
	}

	// Each side must have heard the other's tone, and not its own.
	heardA, ownA, err := analyse(filepath.Join(dir, "a-speaker.wav"), toneB, toneA)
	if err != nil {
		return err
	}
	heardB, ownB, err := analyse(filepath.Join(dir, "b-speaker.wav"), toneA, toneB)
	if err != nil {
		return err
	}

	fmt.Println()
	fmt.Println("call summary")
	fmt.Printf("  A 1001 -> B 1002, codec %s, talked %.1f s\n", sa.Call.Codec, sa.Call.Duration)
	fmt.Printf("  dial (# pressed) -> B ringing: %s (as seen by polling the API)\n", tRing.Sub(tDial).Round(time.Millisecond))
	fmt.Printf("  off-hook -> answered:          %s\n", tAns.Sub(t0).Round(time.Millisecond))
	fmt.Printf("  RTP A: sent %d received %d lost %d\n", sa.Call.RTP.Sent, sa.Call.RTP.Received, sa.Call.RTP.Lost)
	fmt.Printf("  RTP B: sent %d received %d lost %d\n", sb.Call.RTP.Sent, sb.Call.RTP.Received, sb.Call.RTP.Lost)
	fmt.Printf("  A's speaker: %.2f s of B's %.0f Hz (%.2f s of its own %.0f Hz)\n", heardA, toneB, ownA, toneA)
	fmt.Printf("  B's speaker: %.2f s of A's %.0f Hz (%.2f s of its own %.0f Hz)\n", heardB, toneA, ownB, toneB)
	fmt.Printf("  RSS idle: A %d KiB, B %d KiB; in call: A %d KiB, B %d KiB\n", idleRSS[0], idleRSS[1], callRSS[0], callRSS[1])

	var problems []string
	need := 0.6 * talk.Seconds()
	if heardA < need {
		problems = append(problems, fmt.Sprintf("A heard only %.2f s of %.0f Hz, want >= %.2f s", heardA, toneB, need))
	}
	if heardB < need {
		problems = append(problems, fmt.Sprintf("B heard only %.2f s of %.0f Hz, want >= %.2f s", heardB, toneA, need))
	}
	if ownA > 0.2 || ownB > 0.2 {
		problems = append(problems, "a phone heard its own microphone tone (echo or crossed streams)")
	}
	minPkts := uint64(0.6 * talk.Seconds() * 50)
	if sa.Call.RTP.Received < minPkts || sb.Call.RTP.Received < minPkts {
		problems = append(problems, fmt.Sprintf("too few RTP packets received (want >= %d each)", minPkts))
	}
	if sa.Call.Codec == "" || sa.Call.Codec != sb.Call.Codec {
		problems = append(problems, fmt.Sprintf("codecs differ: A %q, B %q", sa.Call.Codec, sb.Call.Codec))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func step(s string) { fmt.Printf("demo: %s\n", s) }

// analyse returns how many seconds of the recording have want, and of
// other, as the dominant frequency of a 20 ms block.
func analyse(path string, want, other float64) (float64, float64, error) {
	samples, _, err := wav.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	candidates := []float64{want, other, 350, 440, 480, 620}
	var w, o int
	for i := 0; i+audio.FrameSamples <= len(samples); i += audio.FrameSamples {
		f, _, ok := detect.Dominant(samples[i:i+audio.FrameSamples], candidates)
		switch {
		case !ok:
		case f == want:
			w++
		case f == other:
			o++
		}
	}
	frame := float64(audio.FrameSamples) / audio.SampleRate
	return float64(w) * frame, float64(o) * frame, nil
}

func writeTone(path string, freq float64) error {
	t, err := tone.Parse(strconv.FormatFloat(freq, 'f', -1, 64) + "/0")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := wav.NewWriter(f, wav.Telephone)
	if err != nil {
		return err
	}
	g := tone.NewGenerator(t)
	frame := make([]int16, audio.FrameSamples)
	for i := 0; i < 50; i++ { // one second, looped by the device
		g.Fill(frame)
		if err := w.Write(frame); err != nil {
			return err
		}
	}
	return w.Close()
}

func (p *phone) start(bin string, peer *phone) error {
	cfg := fmt.Sprintf(`schema = 1

[sip]
listen = "127.0.0.1:%d"

[account]
user = "%s"
display_name = "Phone %s"

[audio]
device = "wav"

[audio.wav]
input = "%s-mic.wav"
output = "%s-speaker.wav"

[directory]
"%s" = "sip:%s@127.0.0.1:%d"

[api]
listen = "%s"

[log]
level = "debug"
`, p.sipPort, p.user, p.name, strings.ToLower(p.name), strings.ToLower(p.name),
		peer.user, peer.user, peer.sipPort, strings.TrimPrefix(p.apiURL, "http://"))
	path := filepath.Join(p.dir, strings.ToLower(p.name)+".toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(p.dir, strings.ToLower(p.name)+".log"))
	if err != nil {
		return err
	}
	p.cmd = exec.Command(bin, "-config", path, "-keypad", "off")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("phone %s: %w", p.name, err)
	}
	return nil
}

func (p *phone) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		p.cmd = nil
		if err != nil {
			return fmt.Errorf("phone %s exited badly: %w (log: %s)", p.name, err, p.logPath())
		}
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("phone %s did not stop within 5 s of SIGTERM", p.name)
	}
}

func (p *phone) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func (p *phone) logPath() string { return filepath.Join(p.dir, strings.ToLower(p.name)+".log") }

func (p *phone) post(path, body string) error {
	resp, err := http.Post(p.apiURL+path, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return fmt.Errorf("phone %s: %w", p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("phone %s: POST %s: %s %s", p.name, path, resp.Status, b)
	}
	return nil
}

func (p *phone) status() (daemon.Status, error) {
	var st daemon.Status
	resp, err := http.Get(p.apiURL + "/api/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (p *phone) wait(state string, within time.Duration) error {
	return p.until(within, "state "+state, func(st daemon.Status) bool { return st.State == state })
}

func (p *phone) waitDisplay(text string, within time.Duration) error {
	return p.until(within, "display "+strconv.Quote(text), func(st daemon.Status) bool { return strings.Contains(st.Display, text) })
}

func (p *phone) until(within time.Duration, what string, ok func(daemon.Status) bool) error {
	deadline := time.Now().Add(within)
	var last daemon.Status
	var lastErr error
	for time.Now().Before(deadline) {
		if p.cmd != nil && p.cmd.ProcessState != nil {
			break
		}
		last, lastErr = p.status()
		if lastErr == nil && ok(last) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	if lastErr != nil {
		return fmt.Errorf("phone %s: waiting for %s: %w (log: %s)", p.name, what, lastErr, p.logPath())
	}
	return fmt.Errorf("phone %s: no %s within %s; display %q (log: %s)", p.name, what, within, last.Display, p.logPath())
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// rss is the resident set of a running process in KiB (Linux /proc).
func rss(cmd *exec.Cmd) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
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
