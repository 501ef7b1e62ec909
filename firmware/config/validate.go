package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/deskphone/phoned/firmware/dialplan"
)

// maxText bounds free-text values (display name, user agent, ...).
const maxText = 256

// maxDialString bounds a directory key.
const maxDialString = 32

// MaxJitter is the largest jitter buffer delay (audio.jitter_max): the
// buffer holds 512 ms of audio.
const MaxJitter = 500 * time.Millisecond

// Validate checks a Config built or changed in code, with the same rules
// Parse applies, and stores the parsed forms its accessors return. Its
// errors carry no file or line.
func (c *Config) Validate() error {
	return joinErrors(c.validate(nil, nil))
}

// validator collects semantic problems; doc is nil for Validate.
type validator struct {
	doc  *document
	skip map[string]bool // fields that already failed to decode
	errs []*Error
}

func (v *validator) fail(path []string, format string, args ...any) {
	if v.bad(path) {
		return
	}
	e := &Error{Field: fieldPath(path), Msg: oneLine(fmt.Sprintf(format, args...))}
	if v.doc != nil {
		e.File, e.Line = v.doc.at(path)
	}
	v.errs = append(v.errs, e)
}

// bad reports whether path or an enclosing table already failed to decode.
func (v *validator) bad(path []string) bool {
	for i := len(path); i > 0; i-- {
		if v.skip[fieldPath(path[:i])] {
			return true
		}
	}
	return false
}

func (c *Config) validate(doc *document, skip map[string]bool) []*Error {
	v := &validator{doc: doc, skip: skip}
	p := func(keys ...string) []string { return keys }

	if c.Schema != SchemaVersion {
		v.fail(p("schema"), "unsupported schema %d (this firmware reads %d)", c.Schema, SchemaVersion)
		return v.errs
	}
	v.oneOf(p("board", "name"), "board", c.Board.Name, Boards)

	// [sip]
	c.sipListen = netip.AddrPort{}
	if ap, ok := v.listen(p("sip", "listen"), c.SIP.Listen); ok {
		c.sipListen = ap
	}
	v.oneOf(p("sip", "transport"), "transport", c.SIP.Transport, Transports)
	v.text(p("sip", "user_agent"), c.SIP.UserAgent)
	v.tlsFiles(c)
	v.dnsServers(p("sip", "dns"), c.SIP.DNS)
	v.validateGuard(c)

	// [account]; the password is never part of a message.
	a := c.Account
	switch {
	case a.User == "":
		v.fail(p("account", "user"), "must not be empty")
	case !isSIPUser(a.User):
		v.fail(p("account", "user"), "invalid SIP user %q (allowed: letters, digits, -_.!~*'()&=+$,;?/ and %%XX escapes)", a.User)
	}
	v.text(p("account", "display_name"), a.DisplayName)
	v.text(p("account", "auth_user"), a.AuthUser)
	if a.Domain != "" {
		if err := checkHost(a.Domain); err != nil {
			v.fail(p("account", "domain"), "invalid domain %q: %v", a.Domain, err)
		}
	} else if c.sipListen.IsValid() && c.sipListen.Addr().IsUnspecified() {
		v.fail(p("account", "domain"), "required when sip.listen is a wildcard address (%s)", c.sipListen.Addr())
	}
	v.server(p("account", "registrar"), a.Registrar)
	for i, b := range a.BackupRegistrars {
		at := p("account", "backup_registrars", elem(i))
		if b == "" {
			v.fail(at, "empty registrar")
			continue
		}
		v.server(at, b)
	}
	if len(a.BackupRegistrars) > 0 && a.Registrar == "" {
		v.fail(p("account", "backup_registrars"), "backup registrars need account.registrar")
	}
	v.server(p("account", "outbound_proxy"), a.OutboundProxy)
	// RFC 3261 §10.2.8: registrars refuse intervals under their minimum
	// (commonly 60 s); a day is the longest a phone should stay unrefreshed.
	if e := a.RegisterExpires.Duration; e < time.Minute || e > 24*time.Hour {
		v.fail(p("account", "register_expires"), "%s out of range (want 60s..24h)", e)
	}
	if k := a.KeepAlive.Duration; k < 0 || k > 0 && k < 5*time.Second {
		v.fail(p("account", "keepalive"), "%s out of range (want 0s to turn it off, or at least 5s)", k)
	}

	// [audio]
	au := c.Audio
	v.oneOf(p("audio", "device"), "device", au.Device, Devices)
	if len(au.Codecs) == 0 {
		v.fail(p("audio", "codecs"), "must list at least one codec (want %s)", wantList(Codecs))
	}
	for i, name := range au.Codecs {
		at := p("audio", "codecs", elem(i))
		if !slices.Contains(Codecs, name) {
			v.fail(at, "unknown codec %q (want %s)", name, wantList(Codecs))
		} else if j := slices.Index(au.Codecs, name); j < i {
			v.fail(at, "duplicate codec %q (already at [%d])", name, j)
		}
	}
	minOK := v.rtpPort(p("audio", "rtp_port_min"), au.RTPPortMin)
	maxOK := v.rtpPort(p("audio", "rtp_port_max"), au.RTPPortMax)
	if au.DSCP < 0 || au.DSCP > 63 {
		v.fail(p("audio", "dscp"), "%d out of range (want 0-63; 46 is EF, voice)", au.DSCP)
	}
	if to := au.RTPTimeout.Duration; to < 0 || to > 0 && to < time.Second {
		v.fail(p("audio", "rtp_timeout"), "%s out of range (want 0s to turn it off, or at least 1s)", to)
	}
	switch au.Ptime.Duration {
	case 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond:
	default:
		v.fail(p("audio", "ptime"), "%s is not a packet time phoned sends (want 10ms, 20ms, 30ms or 40ms)", au.Ptime)
	}
	if jmin := au.JitterMin.Duration; jmin < 10*time.Millisecond || jmin > MaxJitter {
		v.fail(p("audio", "jitter_min"), "%s out of range (want 10ms to %s)", jmin, MaxJitter)
	} else if jmax := au.JitterMax.Duration; jmax < jmin || jmax > MaxJitter {
		v.fail(p("audio", "jitter_max"), "%s out of range (want audio.jitter_min, %s, to %s)", jmax, jmin, MaxJitter)
	}
	if minOK && maxOK && !v.bad(p("audio", "rtp_port_min")) && au.RTPPortMin >= au.RTPPortMax {
		v.fail(p("audio", "rtp_port_max"), "must be greater than audio.rtp_port_min (%d), got %d", au.RTPPortMin, au.RTPPortMax)
	}
	if au.Device == "wav" {
		if au.WAV.Input == "" {
			v.fail(p("audio", "wav", "input"), "required when audio.device is \"wav\"")
		}
		if au.WAV.Output == "" {
			v.fail(p("audio", "wav", "output"), "required when audio.device is \"wav\"")
		}
	}
	v.text(p("audio", "wav", "input"), au.WAV.Input)
	v.text(p("audio", "wav", "output"), au.WAV.Output)
	v.text(p("audio", "pulse", "server"), au.Pulse.Server)
	v.text(p("audio", "pulse", "sink"), au.Pulse.Sink)
	v.text(p("audio", "pulse", "source"), au.Pulse.Source)
	v.validateSound(c)
	v.validateProvisioning(c)
	v.validateSRTP(c)

	// [phone]
	for _, t := range []struct {
		key string
		d   Duration
	}{
		{"interdigit_timeout", c.Phone.InterdigitTimeout},
		{"short_interdigit_timeout", c.Phone.ShortInterdigitTimeout},
		{"offhook_timeout", c.Phone.OffhookTimeout},
		{"no_answer_timeout", c.Phone.NoAnswerTimeout},
	} {
		if t.d.Duration <= 0 {
			v.fail(p("phone", t.key), "must be greater than 0, got %q", t.d.String())
		}
	}

	if c.Phone.MaxCalls < 1 || c.Phone.MaxCalls > 8 {
		v.fail(p("phone", "max_calls"), "%d out of range (want 1-8)", c.Phone.MaxCalls)
	}

	v.validateServiceCodes(c)

	c.dialPlan = nil
	if c.Phone.DialPlan != "" {
		plan, err := dialplan.Parse(c.Phone.DialPlan)
		if err != nil {
			v.fail(p("phone", "dial_plan"), "%s", strings.TrimPrefix(err.Error(), "dialplan: "))
		} else {
			c.dialPlan = plan
		}
	}

	// [directory]
	if c.Directory == nil {
		c.Directory = map[string]string{}
	}
	keys := make([]string, 0, len(c.Directory))
	for k := range c.Directory {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		at := p("directory", k)
		if !isDialString(k) {
			v.fail(at, "not a dialable string (want 1 to %d of 0-9, * and #)", maxDialString)
		}
		if err := checkSIPURI(c.Directory[k]); errors.Is(err, errURIPassword) {
			v.fail(at, "invalid SIP URI: %v", err)
		} else if err != nil {
			v.fail(at, "invalid SIP URI %q: %v", c.Directory[k], err)
		}
	}

	// [api]
	c.apiListen = netip.AddrPort{}
	if c.API.Listen != "" {
		if ap, ok := v.listen(p("api", "listen"), c.API.Listen); ok {
			c.apiListen = ap
		}
	}
	v.validateAPI(c)

	// [log]
	v.oneOf(p("log", "level"), "level", c.Log.Level, LogLevels)
	v.oneOf(p("log", "format"), "format", c.Log.Format, LogFormats)
	return v.errs
}

func (v *validator) oneOf(path []string, what, val string, allowed []string) {
	if !slices.Contains(allowed, val) {
		v.fail(path, "unknown %s %q (want %s)", what, val, wantList(allowed))
	}
}

// wantList formats allowed values: "a, b or c".
func wantList(allowed []string) string {
	if len(allowed) == 1 {
		return allowed[0]
	}
	return strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
}

// text refuses control characters (a CR/LF in a SIP header value would
// inject headers), invalid UTF-8 and overlong values.
func (v *validator) text(path []string, s string) {
	switch {
	case !utf8.ValidString(s):
		v.fail(path, "not valid UTF-8")
	case strings.ContainsFunc(s, isControl):
		v.fail(path, "contains a control character")
	case len(s) > maxText:
		v.fail(path, "longer than %d bytes", maxText)
	}
}

// listen parses an IP:port listen address (no host names: the phone must
// not need DNS to start).
func (v *validator) listen(path []string, s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		v.fail(path, "invalid address %q (want IPv4:port or [IPv6]:port, e.g. 127.0.0.1:5060)", s)
		return ap, false
	}
	if ap.Port() == 0 {
		v.fail(path, "port 0 out of range (want 1..65535)")
		return ap, false
	}
	return ap, true
}

func (v *validator) rtpPort(path []string, n int) bool {
	switch {
	case n < 1024 || n > 65534:
		v.fail(path, "%d out of range (want an even port in 1024..65534)", n)
	case n%2 != 0:
		v.fail(path, "%d is odd (RTP uses even ports, RTCP the odd one above)", n)
	default:
		return true
	}
	return false
}

// server checks a registrar or outbound proxy: "" (none), host[:port] or a
// sip: URI.
func (v *validator) server(path []string, s string) {
	if s == "" {
		return
	}
	var err error
	if hasSIPScheme(s) {
		err = checkSIPURI(s)
	} else if hasSIPSScheme(s) {
		err = checkSIPURI("sip:" + s[5:]) // RFC 3261 §19.1: same syntax, TLS
	} else if i := strings.IndexByte(s, ':'); i > 0 && isScheme(s[:i]) && (otherSchemes[strings.ToLower(s[:i])] || s[i+1:] != "" && !isDigits(s[i+1:])) {
		err = fmt.Errorf("unsupported scheme %q (want host[:port] or a sip: URI)", s[:i])
	} else {
		err = checkHostPort(s)
	}
	if errors.Is(err, errURIPassword) {
		v.fail(path, "invalid server: %v", err)
	} else if err != nil {
		v.fail(path, "invalid server %q: %v", s, err)
	}
}

// otherSchemes are URI schemes an admin may paste that are not sip:; with
// them "tel:123" is not taken for host "tel", port 123.
var otherSchemes = map[string]bool{"tel": true, "http": true, "https": true, "ws": true, "wss": true, "urn": true, "mailto": true}

func hasSIPScheme(s string) bool { return len(s) >= 4 && strings.EqualFold(s[:4], "sip:") }

func asSIPURI(s string) string {
	if s == "" || hasSIPScheme(s) || hasSIPSScheme(s) {
		return s
	}
	return "sip:" + s
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isDialString: what the keypad can dial, 0-9 * #.
func isDialString(s string) bool {
	if s == "" || len(s) > maxDialString {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '*' || c == '#') {
			return false
		}
	}
	return true
}

// isSIPUser checks RFC 3261 section 25.1:
//
//	user           = 1*( unreserved / escaped / user-unreserved )
//	user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
//	unreserved     = alphanum / mark
//	mark           = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
//	escaped        = "%" HEXDIG HEXDIG
func isSIPUser(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// errURIPassword refuses user:password@ in a URI; the message that reports
// it does not repeat the URI.
var errURIPassword = errors.New("a password in the URI is not allowed (use account.password)")

// checkSIPURI checks a sip: URI (RFC 3261 section 19.1.1) enough to dial it:
// scheme sip, optional user, a valid host, an optional port; parameters and
// headers are passed through but may not hold spaces or control characters.
func checkSIPURI(s string) error {
	if !hasSIPScheme(s) {
		return fmt.Errorf("want a sip: URI")
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 && strings.IndexByte(s[4:at], ':') >= 0 {
		return errURIPassword
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || r == '<' || r == '>' }) {
		return fmt.Errorf("contains a space, quote, angle bracket or control character")
	}
	rest := s[4:]
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user := rest[:at]
		rest = rest[at+1:]
		if !isSIPUser(user) {
			return fmt.Errorf("invalid user part")
		}
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return fmt.Errorf("no host")
	}
	return checkHostPort(rest)
}

// checkHostPort checks host[:port] where host is a name, an IPv4 address
// or an IPv6 address in brackets.
func checkHostPort(s string) error {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Errorf("missing ] after IPv6 address")
		}
		host, port = s[:end+1], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return fmt.Errorf("unexpected text after ]")
			}
			port = port[1:]
			if port == "" {
				return fmt.Errorf("empty port")
			}
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		if strings.Count(s, ":") > 1 {
			return fmt.Errorf("IPv6 address needs brackets")
		}
		host, port = s[:i], s[i+1:]
		if port == "" {
			return fmt.Errorf("empty port")
		}
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || !isDigits(port) || n < 1 || n > 65535 {
			return fmt.Errorf("port %q out of range (want 1..65535)", port)
		}
	}
	return nil
}

// checkHost checks RFC 3261 host: hostname / IPv4address / IPv6reference.
func checkHost(s string) error {
	if s == "" {
		return fmt.Errorf("empty host")
	}
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return fmt.Errorf("missing ] after IPv6 address")
		}
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("invalid IPv6 address")
		}
		return nil
	}
	if strings.Contains(s, ":") {
		return fmt.Errorf("IPv6 address needs brackets")
	}
	if strings.Trim(s, "0123456789.") == "" {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			return fmt.Errorf("invalid IPv4 address")
		}
		return nil
	}
	name := strings.TrimSuffix(s, ".")
	if len(name) > 253 {
		return fmt.Errorf("host name longer than 253 bytes")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("invalid host name")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("invalid host name")
			}
		}
	}
	if top := labels[len(labels)-1]; !(top[0] >= 'a' && top[0] <= 'z' || top[0] >= 'A' && top[0] <= 'Z') {
		return fmt.Errorf("invalid host name (the last label must start with a letter)")
	}
	return nil
}
