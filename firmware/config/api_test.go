package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // nil: valid
	}{
		{"loopback without password", "schema = 1\n[api]\nlisten = \"127.0.0.1:8080\"\n", nil},
		{"all of 127/8 is loopback", "schema = 1\n[api]\nlisten = \"127.0.0.2:8080\"\n", nil},
		{"v6 loopback without password", "schema = 1\n[api]\nlisten = \"[::1]:8080\"\n", nil},
		{"wildcard without password", "schema = 1\n[api]\nlisten = \"0.0.0.0:8080\"\n",
			[]string{`phoned.toml:2: api.password: required when api.listen (0.0.0.0:8080) is not a loopback address: anyone who reaches it could dial`}},
		{"v6 wildcard without password", "schema = 1\n[api]\n\nlisten = \"[::]:8080\"\n",
			[]string{`phoned.toml:2: api.password: required when api.listen ([::]:8080) is not a loopback address: anyone who reaches it could dial`}},
		{"LAN address without password", "schema = 1\n[api]\nlisten = \"192.0.2.7:8080\"\n",
			[]string{`phoned.toml:2: api.password: required when api.listen (192.0.2.7:8080) is not a loopback address: anyone who reaches it could dial`}},
		{"empty password beyond loopback", "schema = 1\n[api]\nlisten = \"0.0.0.0:8080\"\npassword = \"\"\n",
			[]string{`phoned.toml:4: api.password: required when api.listen (0.0.0.0:8080) is not a loopback address: anyone who reaches it could dial`}},
		{"wildcard with password", "schema = 1\n[api]\nlisten = \"0.0.0.0:8080\"\npassword = \"s3cret\"\n", nil},
		{"password control char", "schema = 1\n[api]\npassword = \"a\\u0007b\"\n", []string{`phoned.toml:3: api.password: contains a control character`}},
		{"password integer", "schema = 1\n[api]\npassword = 1234\n", []string{`phoned.toml:3: api.password: want a string, got integer`}},
		{"cert and key", "schema = 1\n[api]\ncert = \"c.pem\"\nkey = \"k.pem\"\n", nil},
		{"cert without key", "schema = 1\n[api]\ncert = \"c.pem\"\n", []string{`phoned.toml:2: api.key: required with api.cert (the certificate's private key, a PEM file)`}},
		{"key without cert", "schema = 1\n[api]\nkey = \"k.pem\"\n", []string{`phoned.toml:2: api.cert: required with api.key (the key's certificate, a PEM file)`}},
		{"state dir", "schema = 1\n[system]\nstate_dir = \"/data/phoned\"\n", nil},
		{"state dir empty", "schema = 1\n[system]\nstate_dir = \"\"\n", []string{`phoned.toml:3: system.state_dir: empty (want a directory, e.g. "/var/lib/phoned")`}},
		{"system unknown", "schema = 1\n[system]\nhostname = \"x\"\n", []string{`phoned.toml:3: system.hostname: unknown key`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				mustParse(t, tt.src)
				return
			}
			checkLines(t, parseErr(t, tt.src), tt.want)
		})
	}
}

func TestAPIDefaults(t *testing.T) {
	c := Default()
	if c.System.StateDir != "/var/lib/phoned" || c.API.Password != "" || c.API.Cert != "" || c.APIBeyondLoopback() {
		t.Fatalf("defaults: %+v %+v beyond=%v", c.System, c.API, c.APIBeyondLoopback())
	}
	c.API.Listen = "0.0.0.0:8080"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "api.password: required") {
		t.Fatalf("Validate of a wildcard listen without password: %v", err)
	}
	c.API.Password = "x"
	if err := c.Validate(); err != nil || !c.APIBeyondLoopback() {
		t.Fatalf("Validate: %v, beyond loopback %v", err, c.APIBeyondLoopback())
	}
}

// Load makes api.cert, api.key and system.state_dir absolute against the
// config file's directory, like the WAV paths.
func TestAPIPathsRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "phone.toml")
	src := "schema = 1\n[api]\ncert = \"tls/c.pem\"\nkey = \"/etc/k.pem\"\n[system]\nstate_dir = \"state\"\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.API.Cert != filepath.Join(dir, "tls", "c.pem") || c.API.Key != "/etc/k.pem" || c.System.StateDir != filepath.Join(dir, "state") {
		t.Fatalf("paths: cert %q key %q state %q", c.API.Cert, c.API.Key, c.System.StateDir)
	}
}

// api.password never shows: not in fmt, slog or errors.
func TestAPIPasswordNeverShown(t *testing.T) {
	const secret = "api-Pw-7731"
	c := mustParse(t, "schema = 1\n[api]\nlisten = \"0.0.0.0:8080\"\npassword = \""+secret+"\"\n")
	if c.API.Password.Reveal() != secret {
		t.Fatal("password not parsed")
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "config", c, "api", c.API)
	out := []string{buf.String(), fmt.Sprintf("%v %+v %#v %s", c, *c, c.API, c.API.Password)}
	_, err := Parse("phoned.toml", []byte("schema = 1\n[api]\npassword = \""+secret+"\u0001\"\n"))
	out = append(out, fmt.Sprint(err))
	_, err = Parse("phoned.toml", []byte("schema = 1\n[api]\npassword = \""+secret+"\n"))
	out = append(out, fmt.Sprint(err))
	for _, s := range out {
		if strings.Contains(s, secret) {
			t.Errorf("api.password shown in %q", s)
		}
	}
	if !strings.Contains(buf.String(), "api.password=[redacted]") {
		t.Errorf("log does not show the redaction: %s", buf.String())
	}
}
