package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// Provisioning is [provisioning]: where the phone fetches its config from
// (README, "Provisioning"). Password is a Secret.
type Provisioning struct {
	// URL names a directory holding common.toml and {mac}.toml:
	// https://, http:// or file://, with the macros {mac}, {model} and
	// {version}. "" means the URL from DHCP (option 160, else 66), or none.
	URL          string
	Interval     Duration // between periodic checks, spread per MAC
	BootDelayMax Duration // the first check after start waits 0..this
	// CA verifies the server (PEM; "" = system roots); ClientCert and
	// ClientKey authenticate the phone (mTLS). Paths, made absolute by Load.
	CA, ClientCert, ClientKey string
	User                      string // HTTP Basic or Digest
	Password                  Secret
	// PublicKey, when set, is an Ed25519 public key (base64): every
	// fetched file must come with a valid detached signature FILE.sig.
	PublicKey string
	// MAC overrides the MAC of the default-route interface in {mac} and
	// the MAC file's name: 12 lower-case hex digits.
	MAC string
	// RollbackAfter: a fetched config that changed the account and cannot
	// register within this long is replaced by the last known good one.
	RollbackAfter Duration
	// AllowOverride lets fetched files change [provisioning] itself.
	AllowOverride bool
}

// Bounds of the provisioning keys.
const (
	MinProvisioningInterval = time.Minute
	MaxProvisioningInterval = 30 * 24 * time.Hour
	MaxBootDelay            = time.Hour
	MinRollbackAfter        = 10 * time.Second
	MaxRollbackAfter        = 24 * time.Hour
)

func defaultProvisioning() Provisioning {
	return Provisioning{
		Interval:      Duration{24 * time.Hour},
		BootDelayMax:  Duration{60 * time.Second},
		RollbackAfter: Duration{5 * time.Minute},
	}
}

// ProvisioningKey is provisioning.public_key decoded; nil when unset.
func (c *Config) ProvisioningKey() ed25519.PublicKey {
	k, err := base64.StdEncoding.DecodeString(c.Provisioning.PublicKey)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil
	}
	return k
}

var provisioningKeys = []string{"url", "interval", "boot_delay_max", "ca", "client_cert", "client_key",
	"user", "password", "public_key", "mac", "rollback_after", "allow_override"}

func (d *decoder) decodeProvisioning(tree map[string]any, c *Config) {
	t, p := d.Table(tree, nil, "provisioning")
	if t == nil {
		return
	}
	d.Unknown(t, p, provisioningKeys...)
	pr := &c.Provisioning
	d.Str(t, p, "url", &pr.URL)
	d.duration(t, p, "interval", &pr.Interval)
	d.duration(t, p, "boot_delay_max", &pr.BootDelayMax)
	d.Str(t, p, "ca", &pr.CA)
	d.Str(t, p, "client_cert", &pr.ClientCert)
	d.Str(t, p, "client_key", &pr.ClientKey)
	d.Str(t, p, "user", &pr.User)
	var pw string
	d.Str(t, p, "password", &pw)
	pr.Password = Secret(pw)
	d.Str(t, p, "public_key", &pr.PublicKey)
	d.Str(t, p, "mac", &pr.MAC)
	d.duration(t, p, "rollback_after", &pr.RollbackAfter)
	d.Bool(t, p, "allow_override", &pr.AllowOverride)
}

// isMAC: 12 lower-case hex digits.
func isMAC(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789abcdef") == ""
}

// macros returns the {...} macros in s, and s with each replaced by x.
// (regexp would cost the binary some 200 KiB.)
func macros(s string) (found []string, replaced string) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return found, b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return found, b.String()
		}
		found = append(found, s[i:i+j+1])
		b.WriteString(s[:i])
		b.WriteByte('x')
		s = s[i+j+1:]
	}
}

func (v *validator) validateProvisioning(c *Config) {
	p := func(k string) []string { return []string{"provisioning", k} }
	pr := c.Provisioning
	if pr.URL != "" {
		v.provisioningURL(p("url"), pr.URL)
	}
	v.durationIn(p("interval"), pr.Interval.Duration, MinProvisioningInterval, MaxProvisioningInterval)
	v.durationIn(p("boot_delay_max"), pr.BootDelayMax.Duration, 0, MaxBootDelay)
	v.durationIn(p("rollback_after"), pr.RollbackAfter.Duration, MinRollbackAfter, MaxRollbackAfter)
	for k, s := range map[string]string{"ca": pr.CA, "client_cert": pr.ClientCert, "client_key": pr.ClientKey, "user": pr.User} {
		v.text(p(k), s)
	}
	if (pr.ClientCert == "") != (pr.ClientKey == "") {
		v.fail(p("client_key"), "provisioning.client_cert and provisioning.client_key go together: give both or neither")
	}
	if strings.ContainsAny(string(pr.Password), "\r\n\x00") {
		v.fail(p("password"), "control characters are not allowed")
	}
	if pr.PublicKey != "" && c.ProvisioningKey() == nil {
		v.fail(p("public_key"), "want an Ed25519 public key as base64 (44 characters; scripts/provsign -genkey makes one)")
	}
	if pr.MAC != "" && !isMAC(pr.MAC) {
		v.fail(p("mac"), "invalid MAC %q: want 12 lower-case hex digits, no separators (001122aabbcc)", pr.MAC)
	}
}

// provisioningURL checks a provisioning directory URL.
func (v *validator) provisioningURL(path []string, s string) {
	found, plain := macros(s)
	for _, m := range found {
		if m != "{mac}" && m != "{model}" && m != "{version}" {
			v.fail(path, "unknown macro %s (want {mac}, {model} or {version})", m)
			return
		}
	}
	u, err := url.Parse(plain)
	switch {
	case err != nil || strings.ContainsAny(s, " \t\r\n\"<>\\"):
		v.fail(path, "not a URL (want https://host/dir/, http://host/dir/ or file:///dir/)")
	case u.User != nil:
		v.fail(path, "no credentials in the URL: use provisioning.user and provisioning.password")
	case u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file":
		v.fail(path, "unsupported scheme %q (want https, http or file)", u.Scheme)
	case u.Scheme != "file" && u.Host == "":
		v.fail(path, "no host in the URL")
	case u.Scheme == "file" && (u.Path == "" || u.Host != ""):
		v.fail(path, "a file URL names an absolute directory: file:///var/lib/provisioning/")
	case u.RawQuery != "" || u.Fragment != "":
		v.fail(path, "a directory URL has no query or fragment")
	}
}

// durationIn checks lo <= d <= hi.
func (v *validator) durationIn(path []string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.fail(path, "%s is out of range (%s to %s)", shortDuration(d), shortDuration(lo), shortDuration(hi))
	}
}
