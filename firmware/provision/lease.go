package provision

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LeaseGlobs are where DefaultLeaseFiles looks: systemd-networkd,
// dhclient (Debian and Red Hat paths) and udhcpc (a KEY=VALUE file that
// the distribution's udhcpc script writes; see udhcpcOptions).
var LeaseGlobs = []string{
	"/run/systemd/netif/leases/*",
	"/var/lib/dhcp/dhclient*.leases",
	"/var/lib/dhclient/*.lease*",
	"/var/lib/udhcpc/*.lease",
}

// DefaultLeaseFiles lists the lease files present on this machine.
func DefaultLeaseFiles() []string {
	var files []string
	for _, g := range LeaseGlobs {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	return files
}

// maxLeaseFile bounds a lease file read.
const maxLeaseFile = 1 << 20

// leaseOptions are the provisioning options found in one lease.
type leaseOptions struct {
	opt66, opt160 string
}

// LeaseURL returns the provisioning directory URL from DHCP option 160 or
// 66 in the given lease files ("" when none has either). Option 160 in
// any file wins over option 66 (Polycom's use of 160 is a full URL;
// option 66, RFC 2132 §9.4 "TFTP server name", is often a bare host). A
// bare host or IP becomes "http://HOST/" (phoned does not do TFTP); a full
// URL (with "://") is passed through. Missing files are skipped; a file
// that cannot be read or parsed is an error naming it.
//
// Which format a file is in is told by its content: a "lease {" block is
// dhclient's; otherwise KEY=VALUE lines are networkd's or udhcpc's.
func LeaseURL(files ...string) (string, error) {
	var opt66 string
	for _, name := range files {
		data, err := readLease(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		o, err := parseLease(data)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrLease, name, err)
		}
		if o.opt160 != "" {
			u, err := leaseValueURL(o.opt160)
			if err != nil {
				return "", fmt.Errorf("%w: %s: option 160: %w", ErrLease, name, err)
			}
			return u, nil
		}
		if opt66 == "" && o.opt66 != "" {
			u, err := leaseValueURL(o.opt66)
			if err != nil {
				return "", fmt.Errorf("%w: %s: option 66: %w", ErrLease, name, err)
			}
			opt66 = u
		}
	}
	return opt66, nil
}

func readLease(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrLease, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLeaseFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLease, name, err)
	}
	if len(data) > maxLeaseFile {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrLease, name, maxLeaseFile)
	}
	return data, nil
}

// parseLease tells the format by content and parses it.
func parseLease(data []byte) (leaseOptions, error) {
	if bytes.Contains(data, []byte("lease {")) || bytes.Contains(data, []byte("lease{")) {
		return dhclientOptions(data)
	}
	return keyValueOptions(data)
}

// keyValueOptions reads KEY=VALUE lines ('#' comments, optional shell
// quotes around VALUE). Keys read:
//
//   - systemd-networkd (/run/systemd/netif/leases/IFINDEX): OPTION_66 and
//     OPTION_160, hex-encoded as networkd serialises options. networkd
//     saves only the private options 224-254 today, so these appear only
//     with a networkd that keeps them; NEXT_SERVER (the BOOTP siaddr, not
//     option 66: many servers fill it with their own address) is ignored.
//   - udhcpc (busybox; its script environment written to a file by the
//     distribution's script, e.g. `env > /var/lib/udhcpc/eth0.lease`):
//     tftp (option 66 as text), opt66 and opt160 (busybox passes options it
//     does not know as optNNN in hex; text is accepted too).
func keyValueOptions(data []byte) (leaseOptions, error) {
	var o leaseOptions
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLeaseFile)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // not ours to judge: other keys and formats may follow
		}
		v = unquoteShell(strings.TrimSpace(v))
		switch strings.TrimSpace(k) {
		case "OPTION_160", "opt160":
			o.opt160 = hexOrText(v)
		case "OPTION_66", "opt66":
			o.opt66 = hexOrText(v)
		case "tftp":
			if o.opt66 == "" {
				o.opt66 = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return o, err
	}
	return o, nil
}

func unquoteShell(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// hexOrText decodes v when it is an even-length hex string of printable
// text (how networkd and busybox write options), else returns v.
func hexOrText(v string) string {
	if len(v) >= 2 && len(v)%2 == 0 {
		if b, err := hex.DecodeString(v); err == nil {
			b = bytes.TrimRight(b, "\x00") // some servers NUL-terminate
			if isPrintable(b) && len(b) > 0 {
				return string(b)
			}
		}
	}
	return v
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// dhclientOptions reads ISC dhclient lease blocks; the last block is the
// newest lease. Statements read: `option tftp-server-name "...";`
// (option 66) and `option unknown-160 ...;` or `option option-160 ...;`
// (option 160, unnamed unless dhclient.conf declares it), each value a
// quoted string (with \" \\ and \ooo escapes) or colon-separated hex bytes.
func dhclientOptions(data []byte) (leaseOptions, error) {
	var cur, last leaseOptions
	in := false
	for _, stmt := range splitStatements(string(data)) {
		s := strings.TrimSpace(stmt)
		switch {
		case strings.HasPrefix(s, "lease") && strings.HasSuffix(s, "{"):
			in, cur = true, leaseOptions{}
			continue
		case s == "}":
			if in {
				last = cur
			}
			in = false
			continue
		}
		if !in || !strings.HasPrefix(s, "option ") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 3 {
			continue
		}
		if f[1] != "tftp-server-name" && f[1] != "unknown-160" && f[1] != "option-160" {
			continue
		}
		val := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s[len("option "):]), f[1]))
		v, err := dhclientValue(val)
		if err != nil {
			return leaseOptions{}, fmt.Errorf("option %s: %w", f[1], err)
		}
		if f[1] == "tftp-server-name" {
			cur.opt66 = v
		} else {
			cur.opt160 = v
		}
	}
	if in {
		return leaseOptions{}, errors.New("lease block not closed with '}'")
	}
	return last, nil
}

// splitStatements cuts dhclient syntax at ';', '{' (kept) and '}' (its own
// statement), outside quoted strings.
func splitStatements(s string) []string {
	var out []string
	var b strings.Builder
	quoted, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case quoted && c == '\\':
			esc = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == ';':
			out = append(out, b.String())
			b.Reset()
			continue
		case !quoted && c == '{':
			b.WriteByte(c)
			out = append(out, b.String())
			b.Reset()
			continue
		case !quoted && c == '}':
			out = append(out, b.String(), "}")
			b.Reset()
			continue
		}
		b.WriteByte(c)
	}
	return append(out, b.String())
}

// dhclientValue decodes a quoted string or colon-separated hex bytes.
func dhclientValue(v string) (string, error) {
	if strings.HasPrefix(v, `"`) {
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return "", errors.New("unterminated string")
		}
		var b strings.Builder
		body := v[1 : len(v)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c != '\\' {
				b.WriteByte(c)
				continue
			}
			if i+1 >= len(body) {
				return "", errors.New("string ends with '\\'")
			}
			if i+3 < len(body) && isOctal(body[i+1]) && isOctal(body[i+2]) && isOctal(body[i+3]) {
				n, _ := strconv.ParseUint(body[i+1:i+4], 8, 8)
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(body[i+1])
			i++
		}
		return strings.TrimRight(b.String(), "\x00"), nil
	}
	parts := strings.Split(v, ":")
	buf := make([]byte, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return "", fmt.Errorf("value %q is neither a quoted string nor hex bytes", clip(v, 40))
		}
		buf = append(buf, byte(n))
	}
	return strings.TrimRight(string(buf), "\x00"), nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// leaseValueURL makes a provisioning directory URL of an option value: a
// full URL (https, http or file) is passed through; a bare host, IP or
// host:port becomes "http://HOST/".
func leaseValueURL(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errors.New("empty value")
	}
	if !isPrintable([]byte(v)) || strings.ContainsAny(v, " \t") {
		return "", fmt.Errorf("value %q has spaces or control characters", printable(v, 60))
	}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			return "", fmt.Errorf("value is not a valid URL")
		}
		switch u.Scheme {
		case "http", "https", "file":
		default:
			return "", fmt.Errorf("URL scheme %q: want https, http or file (phoned does not do TFTP)", clip(u.Scheme, 20))
		}
		if u.User != nil {
			return "", errors.New("URL carries credentials: refused")
		}
		return v, nil // as given: macros such as {mac} stay for ExpandURL
	}
	host := v
	if h, port, err := net.SplitHostPort(v); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", fmt.Errorf("bad port in %q", clip(v, 60))
		}
		host = h
	}
	if net.ParseIP(host) == nil && !hostnameRe(host) {
		return "", fmt.Errorf("%q is neither a URL, a host name nor an IP address", clip(v, 60))
	}
	if ip := net.ParseIP(v); ip != nil && ip.To4() == nil {
		v = "[" + v + "]"
	}
	return "http://" + v + "/", nil
}

// hostnameRe checks RFC 1123 §2.1 host name syntax (letters, digits,
// hyphens, dots; labels up to 63).
func hostnameRe(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
