package provision

import (
	"fmt"
	"net/url"
	"strings"
)

// isMAC reports whether s is 12 lower-case hex digits (no regexp: the
// package would add about 120 KiB to the armv7 binary).
func isMAC(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// ExpandURL substitutes the macros {mac}, {model} and {version} in tmpl,
// each value URL-escaped as a path segment (issue 13: "macros {mac},
// {model}, {version} allowed"). Any other {...}, or an unbalanced brace, is
// an error naming it.
func ExpandURL(tmpl, mac, model, version string) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		if rest[i] == '}' {
			return "", fmt.Errorf("%w: url: unbalanced '}' at byte %d", ErrSource, len(tmpl)-len(rest)+i)
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%w: url: unclosed '{' at byte %d", ErrSource, len(tmpl)-len(rest)+i)
		}
		b.WriteString(rest[:i])
		name := rest[i+1 : i+j]
		switch name {
		case "mac":
			b.WriteString(url.PathEscape(mac))
		case "model":
			b.WriteString(url.PathEscape(model))
		case "version":
			b.WriteString(url.PathEscape(version))
		default:
			return "", fmt.Errorf("%w: url: unknown macro {%s} (known: {mac}, {model}, {version})", ErrSource, clip(name, 32))
		}
		rest = rest[i+j+1:]
	}
	return b.String(), nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
