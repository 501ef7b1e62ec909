package sdp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
)

// Suite is an SDES crypto-suite name (RFC 4568 §6.2, RFC 7714 §12).
type Suite string

// The suites the phone speaks (RFC 4568 §6.2.1, §6.2.2; RFC 7714 §12).
const (
	AESCM128SHA1_80 Suite = "AES_CM_128_HMAC_SHA1_80"
	AESCM128SHA1_32 Suite = "AES_CM_128_HMAC_SHA1_32"
	AEADAES128GCM   Suite = "AEAD_AES_128_GCM"
)

// OfferSuites are the suites we offer, in preference order:
// AES_CM_128_HMAC_SHA1_80 is the one every SDES peer has (RFC 4568
// §6.2.1 makes it the default), _32 saves 6 octets a packet. GCM is
// accepted when a peer offers it, but not offered: few desk phones and
// SBCs take it in SDES and some refuse an offer naming it.
var OfferSuites = []Suite{AESCM128SHA1_80, AESCM128SHA1_32}

// keySaltLen is the length of the master key||salt for a suite: 128-bit
// key and 112-bit salt for AES_CM (RFC 3711 §8.2, RFC 4568 §6.2.1), a
// 96-bit salt for AEAD_AES_128_GCM (RFC 7714 §12).
func (s Suite) keySaltLen() (int, bool) {
	switch s {
	case AESCM128SHA1_80, AESCM128SHA1_32:
		return 30, true
	case AEADAES128GCM:
		return 28, true
	}
	return 0, false
}

// Supported reports whether we can use suite s.
func (s Suite) Supported() bool { _, ok := s.keySaltLen(); return ok }

// Sentinel errors of the SDES code.
var (
	// ErrCrypto is a malformed or unusable a=crypto attribute.
	ErrCrypto = errors.New("sdp: unusable a=crypto")
	// ErrNoSRTP: SRTP is required (by us, or by an RTP/SAVP offer) and
	// the other side's description has no crypto line we can use. A SIP
	// layer answers it with 488 (RFC 4568 §7.1.2, RFC 3264 §6).
	ErrNoSRTP = errors.New("sdp: no usable SRTP crypto")
)

// Key is an SRTP master key||salt. It never prints: fmt (every verb) and
// slog show "[key]".
type Key []byte

const keyShown = "[key]"

// String implements fmt.Stringer.
func (Key) String() string { return keyShown }

// GoString implements fmt.GoStringer.
func (Key) GoString() string { return "sdp.Key(" + keyShown + ")" }

// Format implements fmt.Formatter: no verb shows the bytes.
func (Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, keyShown) }

// LogValue implements slog.LogValuer.
func (Key) LogValue() slog.Value { return slog.StringValue(keyShown) }

// MarshalText implements encoding.TextMarshaler (and so JSON).
func (Key) MarshalText() ([]byte, error) { return []byte(keyShown), nil }

// Crypto is one a=crypto attribute (RFC 4568 §9.1) that we can use: one
// inline key, no MKI, no session parameters.
type Crypto struct {
	Tag   uint32 // 1*9DIGIT
	Suite Suite
	Key   Key // master key||salt
	// Lifetime is the key's lifetime in packets as signalled (0 when
	// absent). Only lifetimes a call cannot outlive are accepted.
	Lifetime uint64
}

// Attribute limits, RFC 4568 §6.1 and §6.2.1.
const (
	// minLifetime is the shortest lifetime we accept: 2^31 packets,
	// 497 days of 20 ms packets. We never rekey (no MKI), so a shorter
	// one is a lifetime we cannot honour (RFC 4568 §6.1: the key MUST NOT
	// be used past it); 2^48 is the SRTP maximum (RFC 3711 §9.2).
	minLifetime = 1 << 31
	maxLifetime = 1 << 48
)

// isTag reports whether s is 1*9DIGIT (RFC 4568 §9.1).
func isTag(s string) bool {
	if len(s) == 0 || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NewCrypto makes a fresh key for suite from crypto/rand.
func NewCrypto(tag uint32, suite Suite) (Crypto, error) {
	n, ok := suite.keySaltLen()
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite %q not supported", ErrCrypto, suite)
	}
	k := make(Key, n)
	if _, err := rand.Read(k); err != nil {
		return Crypto{}, fmt.Errorf("sdp: random key: %w", err)
	}
	return Crypto{Tag: tag, Suite: suite, Key: k}, nil
}

// NewKeys makes one fresh key per suite, tags 1, 2, ... in order: the
// crypto lines of an offer, or the keys an answer picks from.
func NewKeys(suites []Suite) ([]Crypto, error) {
	out := make([]Crypto, 0, len(suites))
	for i, s := range suites {
		c, err := NewCrypto(uint32(i+1), s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// String shows the attribute with its key masked (RFC 4568 §9.1 syntax).
func (c Crypto) String() string {
	return fmt.Sprintf("%d %s inline:%s", c.Tag, c.Suite, keyShown)
}

// Format implements fmt.Formatter, so %v, %+v and %#v of a Crypto, or of
// anything holding one, never show the key.
func (c Crypto) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer.
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// attribute is the value of our a=crypto line, with the key: for the SDP
// body only, which goes to the peer and nowhere else.
func (c Crypto) attribute() string {
	return fmt.Sprintf("%d %s inline:%s", c.Tag, c.Suite, base64.StdEncoding.EncodeToString(c.Key))
}

// ParseCrypto parses the value of an a=crypto attribute (RFC 4568 §9.1):
//
//	tag SP crypto-suite SP "inline:" key||salt ["|" lifetime] ["|" MKI ":" length]
//
// strictly: a suite we support, a base64 key||salt of that suite's
// length, one key parameter, a lifetime we can honour (2^31 to 2^48
// packets), no MKI (we never rekey, RFC 4568 §6.1) and no session
// parameters (RFC 4568 §6.3: all are optional to support, and a line with
// one we do not apply cannot be used). Errors wrap ErrCrypto and never
// quote the key.
func ParseCrypto(v string) (Crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w: %d fields, want tag, suite and key", ErrCrypto, len(f))
	}
	if len(f) > 3 {
		return Crypto{}, fmt.Errorf("%w: session parameters not supported (%d extra fields)", ErrCrypto, len(f)-3)
	}
	if !isTag(f[0]) {
		return Crypto{}, fmt.Errorf("%w: tag %q", ErrCrypto, truncate(f[0]))
	}
	tag, _ := strconv.ParseUint(f[0], 10, 32) // 9 digits fit
	c := Crypto{Tag: uint32(tag), Suite: Suite(f[1])}
	n, ok := c.Suite.keySaltLen()
	if !ok {
		return Crypto{}, fmt.Errorf("%w: suite %q not supported", ErrCrypto, truncate(f[1]))
	}
	params := f[2]
	if strings.Contains(params, ";") {
		return Crypto{}, fmt.Errorf("%w: several key parameters (MKI rekeying) not supported", ErrCrypto)
	}
	info, ok := strings.CutPrefix(params, "inline:")
	if !ok {
		return Crypto{}, fmt.Errorf("%w: key method is not inline", ErrCrypto)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return Crypto{}, fmt.Errorf("%w: %d '|' fields in the key", ErrCrypto, len(parts)-1)
	}
	key, err := decodeKey(parts[0])
	if err != nil || len(key) != n {
		return Crypto{}, fmt.Errorf("%w: key||salt for %s is not %d octets of base64", ErrCrypto, c.Suite, n)
	}
	c.Key = key
	for _, p := range parts[1:] {
		if strings.Contains(p, ":") {
			return Crypto{}, fmt.Errorf("%w: MKI not supported", ErrCrypto)
		}
		if c.Lifetime != 0 {
			return Crypto{}, fmt.Errorf("%w: two lifetimes", ErrCrypto)
		}
		lt, err := parseLifetime(p)
		if err != nil {
			return Crypto{}, err
		}
		c.Lifetime = lt
	}
	return c, nil
}

// decodeKey reads base64 with or without padding (RFC 4568 §6.1 uses
// RFC 3548 base64; some peers leave the padding off).
func decodeKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// parseLifetime reads a lifetime, decimal or "2^" exponent (RFC 4568
// §6.1), and refuses one we cannot honour.
func parseLifetime(s string) (uint64, error) {
	var lt uint64
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.ParseUint(e, 10, 8)
		if err != nil || n > 63 {
			return 0, fmt.Errorf("%w: lifetime %q", ErrCrypto, truncate(s))
		}
		lt = 1 << n
	} else {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n > math.MaxInt64 {
			return 0, fmt.Errorf("%w: lifetime %q", ErrCrypto, truncate(s))
		}
		lt = n
	}
	if lt < minLifetime || lt > maxLifetime {
		return 0, fmt.Errorf("%w: lifetime %d packets, we honour 2^31 to 2^48", ErrCrypto, lt)
	}
	return lt, nil
}

// asciiLower lowers A-Z only, byte for byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// truncate keeps what an error quotes short.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// MaskKeys returns an SDP body (or a whole SIP message) with every
// inline key (what follows "inline:", any case, up to '|', ';' or white
// space) replaced by "[key]": what a log may show. A key in a body is a
// credential (RFC 4568 §8.1). (No regexp: the package would cost the
// firmware 100 KiB.)
func MaskKeys(b []byte) string {
	const prefix = "inline:"
	s := string(b)
	lower := asciiLower(s) // same length as s, unlike strings.ToLower
	var out strings.Builder
	for {
		i := strings.Index(lower, prefix)
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		i += len(prefix)
		out.WriteString(s[:i])
		j := i
		for j < len(s) && !strings.ContainsRune("|; \t\r\n", rune(s[j])) {
			j++
		}
		if j > i {
			out.WriteString(keyShown)
		}
		s, lower = s[j:], lower[j:]
	}
}
