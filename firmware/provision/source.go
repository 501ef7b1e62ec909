package provision

import (
	"crypto/ed25519"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each request when Source.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Source says where and how to fetch.
type Source struct {
	URL                       string // directory URL, https:// http:// or file://, macros {mac} {model} {version}
	MAC                       string // 12 lower-case hex digits
	Model, Version            string
	CA, ClientCert, ClientKey string // PEM file paths; "" = system roots / no client cert
	User                      string
	Password                  string            // never logged, never in errors
	PublicKey                 ed25519.PublicKey // nil: no signatures required
	Timeout                   time.Duration     // per request; default 30 s
}

// directory expands the macros and checks the result: a scheme we fetch
// from, no credentials in it (they belong in User/Password), a path that
// ends in '/'.
func (s Source) directory() (*url.URL, error) {
	if !isMAC(s.MAC) {
		return nil, fmt.Errorf("%w: mac %q: want 12 lower-case hex digits", ErrSource, clip(s.MAC, 20))
	}
	raw, err := ExpandURL(s.URL, s.MAC, s.Model, s.Version)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, which could hold a password: say less.
		return nil, fmt.Errorf("%w: url is not a valid URL", ErrSource)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: url %s: credentials belong in provisioning.user and provisioning.password, not in the URL", ErrSource, u.Redacted())
	}
	switch u.Scheme {
	case "https", "http":
		if u.Host == "" {
			return nil, fmt.Errorf("%w: url %s: no host", ErrSource, u)
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("%w: url %s: file:// names a local path (file:///dir/)", ErrSource, u)
		}
	default:
		return nil, fmt.Errorf("%w: url %q: scheme must be https, http or file", ErrSource, u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: url %s: a directory URL takes no query or fragment", ErrSource, u)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// userAgent is "phoned/<version> (<model>; <mac>)".
func (s Source) userAgent() string {
	v, m := s.Version, s.Model
	if v == "" {
		v = "unknown"
	}
	if m == "" {
		m = "unknown"
	}
	// The model and version come from the build and the board file: keep
	// them to printable ASCII without parentheses so the header stays one
	// well-formed product token and comment (RFC 9110 §10.1.5).
	clean := func(x string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x21 || r > 0x7e || r == '(' || r == ')' || r == ';' {
				return '_'
			}
			return r
		}, x)
	}
	return fmt.Sprintf("phoned/%s (%s; %s)", clean(v), clean(m), s.MAC)
}
