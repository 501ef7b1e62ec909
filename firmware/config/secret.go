package config

import (
	"fmt"
	"log/slog"
)

// Secret is a string that does not print: fmt (every verb), slog, and
// text/JSON encoders all see "[redacted]" (or "" when it is empty, so
// logs still tell a set password from none). Use Reveal, or convert with
// string(s), only where the value itself is needed (digest auth).
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.shown()) }

// Format implements fmt.Formatter so that no verb (%x, %d, ...) shows the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalText implements encoding.TextMarshaler (and so JSON): redacted.
// A config is never written back from a Config value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// String shows the account without its password.
func (a Account) String() string {
	return fmt.Sprintf("{User:%q DisplayName:%q Password:%q AuthUser:%q Domain:%q Registrar:%q OutboundProxy:%q}",
		a.User, a.DisplayName, a.Password.shown(), a.AuthUser, a.Domain, a.Registrar, a.OutboundProxy)
}

// GoString shows the account without its password (%#v).
func (a Account) GoString() string { return "config.Account" + a.String() }

// LogValue implements slog.LogValuer: the password is redacted.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user", a.User),
		slog.String("display_name", a.DisplayName),
		slog.String("password", a.Password.shown()),
		slog.String("auth_user", a.AuthUser),
		slog.String("domain", a.Domain),
		slog.String("registrar", a.Registrar),
		slog.String("outbound_proxy", a.OutboundProxy),
	)
}
