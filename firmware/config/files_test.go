package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// configsDir is the repository's configs/ folder.
var configsDir = filepath.Join("..", "..", "configs")

// configs/phoned.toml documents the defaults: it must load and equal
// Default(), so the documented file and the code cannot drift.
func TestDefaultFileIsDefault(t *testing.T) {
	path := filepath.Join(configsDir, "phoned.toml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	// The one documented difference: the file (what make run uses) picks
	// PulseAudio when a server answers; the compiled default stays "null",
	// so a phone or a test without the key never plays through a
	// desktop's server.
	d.Audio.Device = "auto"
	if !reflect.DeepEqual(c, d) {
		t.Errorf("%s =\n%+v\nwant Default() =\n%+v", path, c, d)
	}
	// Every key of the schema is in the file (not left to the default).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, _, errs := read(path, data)
	if errs != nil {
		t.Fatal(joinErrors(errs))
	}
	for _, key := range []string{
		"schema", "board.name", "board.file", "sip.listen", "sip.transport", "sip.user_agent",
		"sip.ca", "sip.client_cert", "sip.client_key",
		"account.user", "account.display_name", "account.password", "account.auth_user", "account.domain",
		"account.registrar", "account.outbound_proxy",
		"audio.device", "audio.codecs", "audio.rtp_port_min", "audio.rtp_port_max",
		"audio.wav.input", "audio.wav.output", "audio.pulse.server", "audio.pulse.sink", "audio.pulse.source",
		"phone.interdigit_timeout", "phone.offhook_timeout", "phone.no_answer_timeout",
		"directory", "api.listen", "system.state_dir", "log.level", "log.format",
	} {
		if _, ok := doc.pos[key]; !ok {
			t.Errorf("%s does not show %s", path, key)
		}
	}
}

// Every key in the README's reference, and every key the README names,
// is in the schema.
func TestReadmeListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(configsDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"`schema`", "`board.name`", "`board.file`", "`sip.listen`", "`sip.transport`", "`sip.user_agent`",
		"`account.user`", "`account.display_name`", "`account.password`", "`account.auth_user`", "`account.domain`",
		"`account.registrar`", "`account.outbound_proxy`",
		"`audio.device`", "`audio.codecs`", "`audio.rtp_port_min`", "`audio.rtp_port_max`",
		"`audio.wav.input`", "`audio.wav.output`", "`audio.pulse.server`", "`audio.pulse.sink`", "`audio.pulse.source`",
		"`phone.interdigit_timeout`", "`phone.offhook_timeout`", "`phone.no_answer_timeout`",
		"`[directory]`", "`api.listen`", "`api.password`", "`api.cert`", "`api.key`", "`system.state_dir`", "`log.level`", "`log.format`",
	} {
		if !strings.Contains(string(data), key) {
			t.Errorf("README.md does not document %s", key)
		}
	}
}

// The two sim phones call each other directly on loopback.
func TestSimPhones(t *testing.T) {
	a, err := Load(filepath.Join(configsDir, "sim-a.toml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(filepath.Join(configsDir, "sim-b.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c                *Config
		user, sip, api   string
		peer, peerTarget string
	}{
		{a, "1001", "127.0.0.1:5061", "127.0.0.1:8081", "1002", "sip:1002@127.0.0.1:5062"},
		{b, "1002", "127.0.0.1:5062", "127.0.0.1:8082", "1001", "sip:1001@127.0.0.1:5061"},
	} {
		c := tt.c
		if c.Account.User != tt.user || c.SIPListen() != netip.MustParseAddrPort(tt.sip) || c.Audio.Device != "null" || c.Board.Name != "sim" {
			t.Errorf("%s: user %q listen %v device %q board %q", tt.user, c.Account.User, c.SIPListen(), c.Audio.Device, c.Board.Name)
		}
		if ap, ok := c.APIListen(); !ok || ap != netip.MustParseAddrPort(tt.api) {
			t.Errorf("%s: api %v", tt.user, ap)
		}
		if got := c.Directory[tt.peer]; got != tt.peerTarget || len(c.Directory) != 1 {
			t.Errorf("%s: directory %v", tt.user, c.Directory)
		}
		if c.RegistrarURI() != "" {
			t.Errorf("%s: has a registrar", tt.user)
		}
		if c.Domain() != "127.0.0.1" {
			t.Errorf("%s: domain %q", tt.user, c.Domain())
		}
	}
	// A's entry for B points at B's listen address and user, and back.
	if a.Directory["1002"] != "sip:"+b.Account.User+"@"+b.SIP.Listen || b.Directory["1001"] != "sip:"+a.Account.User+"@"+a.SIP.Listen {
		t.Error("sim-a and sim-b do not point at each other")
	}
}

func TestLoadResolvesWAVPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "phone.toml")
	src := "schema = 1\n[audio]\ndevice = \"wav\"\n[audio.wav]\ninput = \"sounds/mic.wav\"\noutput = \"/var/tmp/speaker.wav\"\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "sounds", "mic.wav"); c.Audio.WAV.Input != want {
		t.Errorf("input = %q, want %q", c.Audio.WAV.Input, want)
	}
	if c.Audio.WAV.Output != "/var/tmp/speaker.wav" {
		t.Errorf("output = %q", c.Audio.WAV.Output)
	}
	// Parse leaves them as written.
	p := mustParse(t, src)
	if p.Audio.WAV.Input != "sounds/mic.wav" {
		t.Errorf("Parse input = %q", p.Audio.WAV.Input)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("missing file: %v", err)
	}

	path := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(path, []byte("schema = 1\n[audio]\ndevice = \"alsa\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + `:3: audio.device: unknown device "alsa" (want pulse, wav, null or auto)`; err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}

	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte("schema = 1\n#"+strings.Repeat("x", MaxSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "file too large") {
		t.Errorf("big file: %v", err)
	}
}

func TestFullExample(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "full.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain() != "pbx.example.com" || c.AuthUser() != "2001-auth" || c.RegistrarURI() != "sip:pbx.example.com:5060" ||
		c.OutboundProxyURI() != "sip:192.0.2.1:5060" || c.Audio.Codecs[0] != "PCMA" || c.Phone.InterdigitTimeout.Seconds() != 3 || c.Phone.MaxCalls != 2 || c.Phone.CallWaiting ||
		!filepath.IsAbs(c.Audio.WAV.Input) || len(c.Directory) != 2 || c.LogLevel().String() != "DEBUG" {
		t.Errorf("full.toml = %+v", c)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("schema = 1\n")
	for i := range 150 {
		b.WriteString("k" + strings.Repeat("x", i) + " = 1\n")
	}
	lines := parseErr(t, b.String())
	if len(lines) != maxErrors+1 || lines[maxErrors] != "phoned.toml:102: 50 more problems not shown" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func BenchmarkParseLargeDirectory(b *testing.B) {
	var s strings.Builder
	s.WriteString("schema = 1\n[directory]\n")
	for i := 0; i < maxEntries-2; i++ {
		s.WriteString(`"` + strings.Repeat("1", 1+i%20) + "*" + strconv.Itoa(i) + `" = "sip:user@host.example.com:5060"` + "\n")
	}
	data := []byte(s.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("big.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTooManyEntries(t *testing.T) {
	var b strings.Builder
	b.WriteString("schema = 1\n[directory]\n")
	for i := range maxEntries + 5 {
		b.WriteString(strconv.Itoa(i) + " = \"sip:a@b\"\n")
	}
	checkLines(t, parseErr(t, b.String()), []string{"phoned.toml:5001: syntax error: too many keys, tables and array elements (more than 5000)"})
}

func BenchmarkParseMaxEntries(b *testing.B) {
	var s strings.Builder
	s.WriteString("schema = 1\n[directory]\n")
	for i := range maxEntries - 2 {
		s.WriteString(strconv.Itoa(i) + " = \"sip:a@b\"\n")
	}
	data := []byte(s.String())
	for b.Loop() {
		if _, err := Parse("big.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}
