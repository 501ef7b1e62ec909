package diag

import (
	"bytes"
	"strings"

	"github.com/deskphone/phoned/sip/sdp"
)

// Masked replaces what is masked in a traced message.
const Masked = "[masked]"

// minSecret is the shortest configured secret masked wherever it
// appears: a shorter one would mask ordinary text and is weak anyway.
const minSecret = 3

// Mask returns msg, a SIP message, with its credentials masked:
//   - the Authorization and Proxy-Authorization values (RFC 3261 §20.7,
//     §20.28): a Digest's response parameter (RFC 7616 §3.4, the value
//     derived from the password), any other scheme's whole credentials;
//   - a password in a SIP URI (sip:user:password@host);
//   - an SDES key in the SDP (a=crypto ... inline:KEY, RFC 4568 §8.1);
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
	out = maskURIPasswords(sdp.MaskKeys([]byte(out)))
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

// maskURIPasswords masks the password in each SIP URI's userinfo
// (sip:user:password@host), which RFC 3261 §19.1.1 deprecates but a peer
// may still send. (No regexp: the package would cost the firmware
// 100 KiB.)
func maskURIPasswords(s string) string {
	lower := asciiLower(s) // same length as s, unlike strings.ToLower
	var out strings.Builder
	i := 0
	for {
		j := strings.Index(lower[i:], "sip")
		if j < 0 {
			out.WriteString(s[i:])
			return out.String()
		}
		j += i + 3
		if j < len(s) && lower[j] == 's' {
			j++
		}
		if j >= len(s) || s[j] != ':' {
			out.WriteString(s[i:j])
			i = j
			continue
		}
		j++ // after "sip:" or "sips:"
		end := j
		for end < len(s) && !strings.ContainsRune("@ \t\r\n;>\",<", rune(s[end])) {
			end++
		}
		colon := strings.IndexByte(s[j:end], ':')
		if end < len(s) && s[end] == '@' && colon >= 0 {
			out.WriteString(s[i : j+colon+1])
			out.WriteString(Masked)
			i = end
			continue
		}
		out.WriteString(s[i:j])
		i = j
	}
}

// asciiLower lowers ASCII letters only, keeping every byte where it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
