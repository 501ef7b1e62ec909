package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

const name = "phoned.toml"

// parseErr parses src and returns the lines of the error message.
func parseErr(t *testing.T, src string) []string {
	t.Helper()
	c, err := Parse(name, []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want an error\n--- input:\n%s", src)
	}
	if c != nil {
		t.Errorf("Parse returned a Config with an error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid: %v", err)
	}
	return strings.Split(err.Error(), "\n")
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n--- input:\n%s", err, src)
	}
	return c
}

func TestDefault(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	for _, src := range []string{"schema = 1", "schema = 1\n", "\uFEFFschema = 1\r\n", "# comment\nschema = 1 # trailing\n[sip]\n[directory]\n"} {
		if c := mustParse(t, src); !reflect.DeepEqual(c, d) {
			t.Errorf("Parse(%q) = %+v, want Default() %+v", src, c, d)
		}
	}
	if d.Directory == nil {
		t.Error("Default().Directory is nil")
	}
	if got, want := d.SIPListen(), netip.MustParseAddrPort("127.0.0.1:5060"); got != want {
		t.Errorf("SIPListen() = %v, want %v", got, want)
	}
	if ap, ok := d.APIListen(); !ok || ap != netip.MustParseAddrPort("127.0.0.1:8080") {
		t.Errorf("APIListen() = %v, %v", ap, ok)
	}
	if got := d.Domain(); got != "127.0.0.1" {
		t.Errorf("Domain() = %q", got)
	}
	if got := d.AuthUser(); got != "phone" {
		t.Errorf("AuthUser() = %q", got)
	}
	if got := d.UserAgent("1.2.3"); got != "phoned/1.2.3" {
		t.Errorf("UserAgent() = %q", got)
	}
	if got := d.LogLevel(); got != slog.LevelInfo {
		t.Errorf("LogLevel() = %v", got)
	}
	if d.RegistrarURI() != "" || d.OutboundProxyURI() != "" {
		t.Errorf("RegistrarURI/OutboundProxyURI not empty by default")
	}
	if d.Phone.InterdigitTimeout.Duration != 5*time.Second || d.Phone.OffhookTimeout.Duration != 15*time.Second || d.Phone.NoAnswerTimeout.Duration != time.Minute {
		t.Errorf("phone timers = %+v", d.Phone)
	}
	// Default returns a fresh value each time.
	d.Audio.Codecs[0] = "X"
	if Default().Audio.Codecs[0] != "PCMU" {
		t.Error("Default shares its codec slice")
	}
}

func TestHelpers(t *testing.T) {
	c := mustParse(t, `schema = 1
[sip]
listen = "[::1]:5070"
user_agent = "Desk/9"
[account]
user = "alice"
auth_user = "alice-auth"
registrar = "pbx.example.com:5060"
outbound_proxy = "sip:proxy.example.com;lr"
[api]
listen = ""
[log]
level = "debug"
`)
	if got := c.SIPListen(); got != netip.MustParseAddrPort("[::1]:5070") {
		t.Errorf("SIPListen() = %v", got)
	}
	if got := c.Domain(); got != "[::1]" {
		t.Errorf("Domain() = %q, want [::1]", got)
	}
	if got := c.AuthUser(); got != "alice-auth" {
		t.Errorf("AuthUser() = %q", got)
	}
	if got := c.UserAgent("1.0"); got != "Desk/9" {
		t.Errorf("UserAgent() = %q", got)
	}
	if _, ok := c.APIListen(); ok {
		t.Error(`APIListen() ok with listen = ""`)
	}
	if got := c.RegistrarURI(); got != "sip:pbx.example.com:5060" {
		t.Errorf("RegistrarURI() = %q", got)
	}
	if got := c.OutboundProxyURI(); got != "sip:proxy.example.com;lr" {
		t.Errorf("OutboundProxyURI() = %q", got)
	}
	for level, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		c.Log.Level = level
		if got := c.LogLevel(); got != want {
			t.Errorf("LogLevel(%s) = %v", level, got)
		}
	}
	c.Account.Domain = "example.com"
	if got := c.Domain(); got != "example.com" {
		t.Errorf("Domain() = %q", got)
	}
	// A value changed in code is seen by the accessor.
	c.SIP.Listen = "127.0.0.1:6000"
	if got := c.SIPListen(); got.Port() != 6000 {
		t.Errorf("SIPListen() after change = %v", got)
	}
}

func TestValidateInCode(t *testing.T) {
	c := Default()
	c.Audio.Device = "alsa"
	c.Audio.RTPPortMin = 3
	err := c.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate() = %v, want ErrInvalid", err)
	}
	want := "audio.device: unknown device \"alsa\" (want pulse, wav, null or auto)\naudio.rtp_port_min: 3 out of range (want an even port in 1024..65534)"
	if err.Error() != want {
		t.Errorf("Validate() =\n%s\nwant\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Field != "audio.device" || e.Line != 0 {
		t.Errorf("errors.As = %+v", e)
	}
	c = Default()
	c.Directory = nil
	if err := c.Validate(); err != nil || c.Directory == nil {
		t.Errorf("nil Directory: %v", err)
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("250ms")); err != nil || d.Duration != 250*time.Millisecond {
		t.Errorf("UnmarshalText(250ms) = %v, %v", d, err)
	}
	if err := d.UnmarshalText([]byte("5")); err == nil {
		t.Error("UnmarshalText(5) succeeded")
	}
	if b, _ := (Duration{90 * time.Second}).MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %s", b)
	}
}
