package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// desc is a session description as RFC 4566 §5 lays it out: the session
// part, then one part per m= line. Only what the phone reads is kept.
type desc struct {
	ID, Version uint64 // o= sess-id and sess-version
	Conn        string // session-level c= address ("" when none)
	Attrs       []attr
	Media       []*media
}

// media is one m= line and the lines that follow it.
type media struct {
	Stream
	Conn  string // media-level c= address ("" when none)
	Attrs []attr
}

// attr is an a= line: a=key or a=key:value (RFC 4566 §5.13).
type attr struct{ Key, Value string }

// maxLines bounds the lines of a description we read (a SIP body is at
// most 65,535 bytes; real ones have a few dozen lines).
const maxLines = 1024

// parseDesc parses an SDP body (RFC 4566 §5): lines end at CRLF or LF
// (§5: a parser should accept LF alone); v=0 comes first and o= second
// (§5.1, §5.2); every line is <type>=<value> with a lower-case letter
// type; c= is "IN IP4|IP6 <address>[/ttl][/n]" (§5.7); m= is
// "<media> <port>[/<n>] <proto> <fmt> ..." (§5.14). Lines of other known
// types are skipped; an unknown type refuses the description (§5: "MUST
// completely ignore any session description that contains a type letter
// that it does not understand").
func parseDesc(body []byte) (*desc, error) {
	d := &desc{}
	var cur *media
	n := 0
	for s := string(body); s != ""; {
		end := strings.IndexByte(s, '\n')
		line := s
		if end >= 0 {
			line, s = s[:end], s[end+1:]
		} else {
			s = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue // a blank line (a trailing one is common)
		}
		if n++; n > maxLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrMalformed, maxLines)
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, fmt.Errorf("%w: line %d is not <type>=<value>: %.40q", ErrMalformed, n, line)
		}
		typ, val := line[0], line[2:]
		switch {
		case n == 1 && (typ != 'v' || strings.TrimSpace(val) != "0"):
			return nil, fmt.Errorf("%w: the first line is not v=0", ErrMalformed)
		case n == 2 && typ != 'o':
			return nil, fmt.Errorf("%w: the second line is not o=", ErrMalformed)
		}
		switch typ {
		case 'v':
			if n != 1 {
				return nil, fmt.Errorf("%w: v= on line %d", ErrMalformed, n)
			}
		case 'o':
			f := strings.Fields(val)
			if len(f) != 6 {
				return nil, fmt.Errorf("%w: o= wants 6 fields, has %d", ErrMalformed, len(f))
			}
			var err1, err2 error
			d.ID, err1 = strconv.ParseUint(f[1], 10, 64)
			d.Version, err2 = strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%w: o= session id or version %q %q is not a number", ErrMalformed, f[1], f[2])
			}
		case 'c':
			f := strings.Fields(val)
			if len(f) != 3 || f[0] != "IN" {
				return nil, fmt.Errorf("%w: c= %.40q is not IN <addrtype> <address>", ErrMalformed, val)
			}
			addr, _, _ := strings.Cut(f[2], "/") // multicast TTL and count
			if cur != nil {
				cur.Conn = addr
			} else {
				d.Conn = addr
			}
		case 'a':
			k, v, _ := strings.Cut(val, ":")
			if cur != nil {
				cur.Attrs = append(cur.Attrs, attr{k, v})
			} else {
				d.Attrs = append(d.Attrs, attr{k, v})
			}
		case 'm':
			m, err := parseMediaLine(val)
			if err != nil {
				return nil, err
			}
			cur = m
			d.Media = append(d.Media, m)
		case 's', 'i', 'u', 'e', 'p', 'b', 't', 'r', 'z', 'k':
			// Known, and nothing the phone uses.
		default:
			return nil, fmt.Errorf("%w: unknown line type %q", ErrMalformed, typ)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	if n == 1 {
		return nil, fmt.Errorf("%w: no o= line", ErrMalformed)
	}
	return d, nil
}

// parseMediaLine parses the value of an m= line (RFC 4566 §5.14).
func parseMediaLine(val string) (*media, error) {
	f := strings.Fields(val)
	if len(f) < 3 {
		return nil, fmt.Errorf("%w: m= %.40q wants <media> <port> <proto> and formats", ErrMalformed, val)
	}
	portStr, _, _ := strings.Cut(f[1], "/") // a port count (hierarchical coding)
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: m= port %q", ErrMalformed, f[1])
	}
	return &media{Stream: Stream{Media: f[0], Port: port, Proto: f[2], Formats: f[3:]}}, nil
}
