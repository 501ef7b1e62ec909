package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/deskphone/phoned/scripts/tier"
)

func runPhoned(t *testing.T, args ...string) (int, string, string) {
	tier.Component(t, "runs the phoned binary")
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, os.Stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "phoned.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersion(t *testing.T) {
	code, out, _ := runPhoned(t, "-version")
	if code != 0 || !regexp.MustCompile(`^phoned dev \(linux/\w+, go1\.\d+`).MatchString(out) {
		t.Fatalf("code %d, output %q", code, out)
	}
}

// Each bad start-up input is refused with one line that names the problem.
func TestRefusesToStart(t *testing.T) {
	busy, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAPI, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyAPI.Close()
	free := freeUDP(t)
	dir := t.TempDir()
	notWAV := filepath.Join(dir, "mic.wav")
	os.WriteFile(notWAV, []byte("this is not a RIFF file"), 0o644)

	cases := []struct {
		name, config string
		code         int
		want         string
	}{
		{"unknown key", "schema = 1\n[sip]\nlisten = \"" + free + "\"\nport = 5060\n", 2, "phoned.toml:4: sip.port: unknown key"},
		{"wrong type", "schema = 1\n[api]\nlisten = 8080\n", 2, "phoned.toml:3: api.listen: want a string, got integer"},
		{"no schema", "[sip]\n", 2, "schema"},
		{"two problems", "schema = 1\n[sip]\nlisten = 5\n[audio]\ndevice = \"alsa\"\n", 2, `phoned.toml:5: audio.device: unknown device "alsa"`},
		{"SIP port in use", "schema = 1\n[sip]\nlisten = \"" + busy.LocalAddr().String() + "\"\n[api]\nlisten = \"\"\n", 1, "address already in use"},
		{"API port in use", "schema = 1\n[sip]\nlisten = \"" + free + "\"\n[api]\nlisten = \"" + busyAPI.Addr().String() + "\"\n", 1, "api: listen tcp"},
		{"API beyond loopback without password", "schema = 1\n[api]\nlisten = \"0.0.0.0:8080\"\n", 2, "phoned.toml:2: api.password: required when api.listen (0.0.0.0:8080) is not a loopback address"},
		{"API certificate missing", "schema = 1\n[sip]\nlisten = \"" + free + "\"\n[api]\nlisten = \"0.0.0.0:1\"\npassword = \"pw\"\ncert = \"nope.pem\"\nkey = \"nope-key.pem\"\n", 1, "api: api certificate: api.cert"},
		{"unreadable WAV", "schema = 1\n[sip]\nlisten = \"" + free + "\"\n[audio]\ndevice = \"wav\"\n[audio.wav]\ninput = \"" + notWAV + "\"\noutput = \"" + filepath.Join(dir, "out.wav") + "\"\n", 1, "mic.wav"},
		{"missing WAV", "schema = 1\n[sip]\nlisten = \"" + free + "\"\n[audio]\ndevice = \"wav\"\n[audio.wav]\ninput = \"" + filepath.Join(dir, "nope.wav") + "\"\noutput = \"" + filepath.Join(dir, "out.wav") + "\"\n", 1, "nope.wav"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runPhoned(t, "-config", writeConfig(t, c.config), "-keypad", "off")
			if code != c.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, c.code, errOut)
			}
			last := lastLine(errOut)
			if !strings.HasPrefix(last, "phoned: ") || !strings.Contains(last, c.want) {
				t.Fatalf("last stderr line %q, want a 'phoned: ' line containing %q", last, c.want)
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	code, _, errOut := runPhoned(t, "-config", filepath.Join(t.TempDir(), "none.toml"))
	if code != 2 || !strings.Contains(errOut, "none.toml") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

func TestBadFlag(t *testing.T) {
	if code, _, _ := runPhoned(t, "-keypad", "sometimes", "-config", writeConfig(t, "schema = 1\n")); code != 2 {
		t.Fatalf("code %d, want 2", code)
	}
}

// freeUDP is a loopback port free on UDP and TCP (phoned listens on both,
// RFC 3261 §18).
func freeUDP(t *testing.T) string {
	for {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := c.LocalAddr().String()
		l, err := net.Listen("tcp4", addr)
		c.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
