package diag

import (
	"bytes"
	"regexp"
	"strings"
)

// Masked replaces what is masked in a traced message.
const Masked = "[masked]"

// minSecret is the shortest configured secret masked wherever it
// appears: a shorter one would mask ordinary text and is weak anyway.
const minSecret = 3

// uriPassword matches the password in a SIP URI's userinfo
// (sip:user:password@host), which RFC 3261 §19.1.1 deprecates but a
// peer may still send.
var uriPassword = regexp.MustCompile(`(?i)(sips?:[^:@\s;>"]+):([^@\s;>"]+)@`)

// Mask returns msg, a SIP message, with its credentials masked:
//   - the Authorization and Proxy-Authorization values (RFC 3261 §20.7,
//     §20.28): a Digest's response parameter (RFC 7616 §3.4, the value
//     derived from the password), any other scheme's whole credentials;
//   - a password in a SIP URI (sip:user:password@host);
//   - each of secrets (the configured passwords) wherever it appears.
func Mask(msg []byte, secrets []string) []byte {
	head, body, sep := splitHead(msg)
	lines := strings.Split(head, "\n")
	inAuth := false
	for i, l := range lines {
		if i > 0 && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
			if inAuth { // a folded continuation of credentials (RFC 3261 §7.3.1)
				lines[i] = maskParams(l)
			}
			continue
		}
		inAuth = false
		name, value, ok := strings.Cut(l, ":")
		if !ok || i == 0 {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "authorization", "proxy-authorization":
			inAuth = true
			lines[i] = name + ":" + maskCredentials(value)
		}
	}
	out := strings.Join(lines, "\n") + sep + body
	out = uriPassword.ReplaceAllString(out, "${1}:"+Masked+"@")
	for _, s := range secrets {
		if len(s) >= minSecret {
			out = strings.ReplaceAll(out, s, Masked)
		}
	}
	return []byte(out)
}

// splitHead cuts a message at the blank line after its headers.
func splitHead(msg []byte) (head, body, sep string) {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return string(msg[:i]), string(msg[i+4:]), "\r\n\r\n"
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return string(msg[:i]), string(msg[i+2:]), "\n\n"
	}
	return string(msg), "", ""
}

// maskCredentials masks a credentials value: " Digest a=b, response=..."
// keeps every parameter but the response; another scheme keeps only its
// name.
func maskCredentials(v string) string {
	trimmed := strings.TrimLeft(v, " \t")
	lead := v[:len(v)-len(trimmed)]
	scheme, rest, _ := strings.Cut(trimmed, " ")
	if !strings.EqualFold(scheme, "digest") {
		return lead + scheme + " " + Masked + crOf(v)
	}
	return lead + scheme + " " + maskParams(rest)
}

func crOf(s string) string {
	if strings.HasSuffix(s, "\r") {
		return "\r"
	}
	return ""
}

// maskParams masks the value of each response= parameter in a
// comma-separated auth-param list, quotes respected.
func maskParams(s string) string {
	var b strings.Builder
	inQuote := false
	start := 0
	flush := func(end int) {
		p := s[start:end]
		name, _, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(name), "response") {
			eq := strings.Index(p, "=")
			p = p[:eq+1] + Masked + crOf(p)
		}
		b.WriteString(p)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '\\':
			if inQuote {
				i++
			}
		case ',':
			if !inQuote {
				flush(i)
				b.WriteByte(',')
				start = i + 1
			}
		}
	}
	if start <= len(s) {
		flush(len(s))
	}
	return b.String()
}
