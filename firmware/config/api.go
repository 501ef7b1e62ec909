package config

import (
	"net/netip"
	"path/filepath"
)

// This file holds the control API's security keys (api.password, api.cert,
// api.key) and [system] state_dir. decode.go, validate.go and parse.go call
// in here; the rules are documented in configs/README.md.

// System is [system]: where the phone keeps what it makes at run time.
type System struct {
	// StateDir keeps generated state: the API's self-signed certificate
	// (api-cert.pem, api-key.pem); the provisioning issue reuses it.
	StateDir string
	// MemoryLimitMB is Go's soft memory limit (runtime/debug.SetMemoryLimit)
	// in MiB; 0: none. See guard.go.
	MemoryLimitMB int
}

// DefaultStateDir is system.state_dir's default.
const DefaultStateDir = "/var/lib/phoned"

// IsLoopback reports whether a listen address only takes connections from
// this machine: all of 127.0.0.0/8 and ::1. Wildcard addresses are not.
func IsLoopback(a netip.Addr) bool { return a.Unmap().IsLoopback() }

// APIBeyondLoopback reports whether the API is enabled on an address other
// machines can reach: it then needs api.password and speaks HTTPS.
func (c *Config) APIBeyondLoopback() bool {
	ap, ok := c.APIListen()
	return ok && !IsLoopback(ap.Addr())
}

func (d *decoder) decodeAPI(t map[string]any, p []string, c *Config) {
	d.Unknown(t, p, "listen", "password", "cert", "key")
	d.Str(t, p, "listen", &c.API.Listen)
	var pw string
	d.Str(t, p, "password", &pw)
	c.API.Password = Secret(pw)
	d.Str(t, p, "cert", &c.API.Cert)
	d.Str(t, p, "key", &c.API.Key)
}

func (d *decoder) decodeSystem(tree map[string]any, c *Config) {
	if t, p := d.Table(tree, nil, "system"); t != nil {
		d.Unknown(t, p, "state_dir", "memory_limit_mb")
		d.Str(t, p, "state_dir", &c.System.StateDir)
		d.Int(t, p, "memory_limit_mb", &c.System.MemoryLimitMB)
	}
}

// validateAPI checks the [api] keys other than listen (already parsed into
// c.apiListen when valid) and [system].
func (v *validator) validateAPI(c *Config) {
	p := func(keys ...string) []string { return keys }
	if c.API.Password != "" {
		// The message never holds the value.
		v.text(p("api", "password"), c.API.Password.Reveal())
	}
	if c.apiListen.IsValid() && !IsLoopback(c.apiListen.Addr()) && c.API.Password == "" {
		v.fail(p("api", "password"), "required when api.listen (%s) is not a loopback address: anyone who reaches it could dial", c.API.Listen)
	}
	switch {
	case c.API.Cert != "" && c.API.Key == "":
		v.fail(p("api", "key"), "required with api.cert (the certificate's private key, a PEM file)")
	case c.API.Key != "" && c.API.Cert == "":
		v.fail(p("api", "cert"), "required with api.key (the key's certificate, a PEM file)")
	case c.API.Cert != "":
		v.text(p("api", "cert"), c.API.Cert)
		v.text(p("api", "key"), c.API.Key)
	}
	if c.System.StateDir == "" {
		v.fail(p("system", "state_dir"), "empty (want a directory, e.g. %q)", DefaultStateDir)
	} else {
		v.text(p("system", "state_dir"), c.System.StateDir)
	}
}

// absAPIPaths makes api.cert, api.key and system.state_dir absolute
// against dir (the config file's directory).
func (c *Config) absAPIPaths(dir string) {
	for _, p := range []*string{&c.API.Cert, &c.API.Key, &c.System.StateDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}
