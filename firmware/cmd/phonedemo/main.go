// Command phonedemo is `make demo`: it starts two phoned processes on the
// simulated board on loopback, has phone A (1001) call phone B (1002)
// through their local APIs, lets B answer, and checks by tone detection
// that each side's speaker recording holds the other side's microphone
// tone (A plays 700 Hz, B plays 1100 Hz). It hangs up, prints a call
// summary and exits 0 only when all of that held.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/audio/wav"
	"github.com/deskphone/phoned/firmware/phoneproc"
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

func demo(bin, dir string, talk time.Duration) error {
	ports := make([]int, 4)
	for i := range ports {
		network := "udp"
		if i >= 2 {
			network = "tcp"
		}
		p, err := phoneproc.FreePort(network)
		if err != nil {
			return err
		}
		ports[i] = p
	}
	if err := writeTone(filepath.Join(dir, "a-mic.wav"), toneA); err != nil {
		return err
	}
	if err := writeTone(filepath.Join(dir, "b-mic.wav"), toneB); err != nil {
		return err
	}
	a, err := phoneproc.Start(bin, dir, "A", config("1001", "a", ports[0], ports[2], "1002", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2]))
	if err != nil {
		return err
	}
	defer a.Kill()
	b, err := phoneproc.Start(bin, dir, "B", config("1002", "b", ports[1], ports[3], "1001", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[3]))
	if err != nil {
		return err
	}
	defer b.Kill()
	for _, p := range []*phoneproc.Phone{a, b} {
		if _, err := p.Wait("idle", 10*time.Second); err != nil {
			return err
		}
	}
	idleRSS := [2]int{a.RSS(), b.RSS()}

	t0 := time.Now()
	step("A lifts the handset")
	if err := a.Hook(true); err != nil {
		return err
	}
	if _, err := a.Wait("dialtone", 5*time.Second); err != nil {
		return err
	}
	step("A dials 1002#")
	if err := a.Keys("1002#"); err != nil {
		return err
	}
	tDial := time.Now()
	if _, err := b.Wait("ringing", 5*time.Second); err != nil {
		return err
	}
	tRing := time.Now()
	if _, err := a.WaitDisplay("ringing 1002", 5*time.Second); err != nil {
		return err
	}
	step("B rings; B lifts the handset")
	if err := b.Hook(true); err != nil {
		return err
	}
	if _, err := a.Wait("talking", 5*time.Second); err != nil {
		return err
	}
	tAns := time.Now()
	if _, err := b.Wait("talking", 5*time.Second); err != nil {
		return err
	}
	step(fmt.Sprintf("talking for %s", talk))
	time.Sleep(talk)
	sa, err := a.Status()
	if err != nil {
		return err
	}
	sb, err := b.Status()
	if err != nil {
		return err
	}
	callRSS := [2]int{a.RSS(), b.RSS()}
	step("A hangs up")
	if err := a.Hook(false); err != nil {
		return err
	}
	if _, err := a.Wait("idle", 5*time.Second); err != nil {
		return err
	}
	if _, err := b.Wait("busy", 5*time.Second); err != nil {
		return fmt.Errorf("phone B did not see the BYE: %w", err)
	}
	step("B hears the far end hang up; B hangs up")
	if err := b.Hook(false); err != nil {
		return err
	}
	if _, err := b.Wait("idle", 5*time.Second); err != nil {
		return err
	}
	for _, p := range []*phoneproc.Phone{a, b} {
		if err := p.Stop(); err != nil {
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

func config(user, name string, sipPort, apiPort int, peer string, peerPort int) string {
	return fmt.Sprintf(`schema = 1

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
listen = "127.0.0.1:%d"

[log]
level = "debug"
`, sipPort, user, strings.ToUpper(name), name, name, peer, peer, peerPort, apiPort)
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
