package dnscache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Record types and class (RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 2782).
const (
	typeA     uint16 = 1
	typeCNAME uint16 = 5
	typeSOA   uint16 = 6
	typeAAAA  uint16 = 28
	typeSRV   uint16 = 33
	classIN   uint16 = 1
)

// Response codes (RFC 1035 §4.1.1).
const (
	rcodeOK       = 0
	rcodeNXDomain = 3
)

// ErrMalformed is a DNS message that cannot be parsed.
var ErrMalformed = errors.New("dnscache: malformed DNS message")

// ErrBadName is a name that cannot be put in a query.
var ErrBadName = errors.New("dnscache: bad domain name")

// maxMessage bounds what we read of one message (TCP answers included).
const maxMessage = 65535

// header flags (RFC 1035 §4.1.1).
const (
	flagQR = 1 << 15
	flagTC = 1 << 9
	flagRD = 1 << 8
)

// canonical lower-cases a name and drops the final dot.
func canonical(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// appendName writes name as labels (RFC 1035 §3.1): each 1..63 bytes,
// 255 bytes in all.
func appendName(b []byte, name string) ([]byte, error) {
	name = canonical(name)
	if name == "" || len(name) > 253 {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for _, l := range strings.Split(name, ".") {
		if len(l) == 0 || len(l) > 63 {
			return nil, fmt.Errorf("%w: %q", ErrBadName, name)
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0), nil
}

// buildQuery is a standard query for one name and type with recursion
// desired (RFC 1035 §4.1).
func buildQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	b := make([]byte, 12, 64)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], flagRD)
	binary.BigEndian.PutUint16(b[4:], 1) // QDCOUNT
	b, err := appendName(b, name)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, classIN), nil
}

// srv is one SRV record's data (RFC 2782).
type srv struct {
	Priority, Weight, Port uint16
	Target                 string
}

// rr is one resource record we understand; others are skipped.
type rr struct {
	name  string // canonical
	typ   uint16
	ttl   uint32
	addr  netip.Addr // A, AAAA
	srv   srv        // SRV
	cname string     // CNAME target, canonical
	// SOA: the MINIMUM field (RFC 2308 §4).
	minimum uint32
}

// reply is a parsed response.
type reply struct {
	id        uint16
	response  bool
	truncated bool
	rcode     int
	qname     string // canonical
	qtype     uint16
	answers   []rr
	authority []rr
}

// parser reads a message; every read is bounds checked.
type parser struct {
	b   []byte
	off int
}

func (p *parser) u16() (uint16, error) {
	if p.off+2 > len(p.b) {
		return 0, ErrMalformed
	}
	v := binary.BigEndian.Uint16(p.b[p.off:])
	p.off += 2
	return v, nil
}

func (p *parser) u32() (uint32, error) {
	if p.off+4 > len(p.b) {
		return 0, ErrMalformed
	}
	v := binary.BigEndian.Uint32(p.b[p.off:])
	p.off += 4
	return v, nil
}

// name reads a possibly compressed name at p.off (RFC 1035 §4.1.4).
// Pointers must point backwards, which also rules out loops.
func (p *parser) name() (string, error) {
	s, next, err := readName(p.b, p.off)
	if err != nil {
		return "", err
	}
	p.off = next
	return s, nil
}

// readName reads the name at off; next is the offset after it in the
// original position (after the first pointer, if any).
func readName(b []byte, off int) (name string, next int, err error) {
	var sb strings.Builder
	next = -1
	limit := off // a pointer must point before the label it appears in
	for {
		if off >= len(b) {
			return "", 0, ErrMalformed
		}
		l := int(b[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			return canonical(sb.String()), next, nil
		case l&0xC0 == 0xC0:
			if off+1 >= len(b) {
				return "", 0, ErrMalformed
			}
			ptr := (l&0x3F)<<8 | int(b[off+1])
			if ptr >= limit {
				return "", 0, fmt.Errorf("%w: forward compression pointer", ErrMalformed)
			}
			if next < 0 {
				next = off + 2
			}
			off, limit = ptr, ptr
		case l&0xC0 != 0:
			return "", 0, fmt.Errorf("%w: label type %#x", ErrMalformed, l&0xC0)
		default:
			if off+1+l > len(b) {
				return "", 0, ErrMalformed
			}
			if sb.Len()+l+1 > 255 {
				return "", 0, fmt.Errorf("%w: name too long", ErrMalformed)
			}
			sb.Write(b[off+1 : off+1+l])
			sb.WriteByte('.')
			off += 1 + l
		}
	}
}

// parseReply parses a response. Records of types we do not use are
// skipped; the additional section is ignored.
func parseReply(b []byte) (reply, error) {
	var r reply
	if len(b) < 12 || len(b) > maxMessage {
		return r, ErrMalformed
	}
	p := &parser{b: b}
	r.id, _ = p.u16()
	flags, _ := p.u16()
	r.response = flags&flagQR != 0
	r.truncated = flags&flagTC != 0
	r.rcode = int(flags & 0xF)
	qd, _ := p.u16()
	an, _ := p.u16()
	ns, _ := p.u16()
	_, _ = p.u16() // ARCOUNT
	if qd != 1 {
		return r, fmt.Errorf("%w: %d questions", ErrMalformed, qd)
	}
	var err error
	if r.qname, err = p.name(); err != nil {
		return r, err
	}
	if r.qtype, err = p.u16(); err != nil {
		return r, err
	}
	if _, err = p.u16(); err != nil { // QCLASS
		return r, err
	}
	if r.truncated {
		return r, nil // the rest may be cut anywhere; TCP will tell
	}
	if r.answers, err = p.records(int(an)); err != nil {
		return r, err
	}
	if r.authority, err = p.records(int(ns)); err != nil {
		return r, err
	}
	return r, nil
}

func (p *parser) records(n int) ([]rr, error) {
	var out []rr
	for i := 0; i < n; i++ {
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		typ, err := p.u16()
		if err != nil {
			return nil, err
		}
		class, err := p.u16()
		if err != nil {
			return nil, err
		}
		ttl, err := p.u32()
		if err != nil {
			return nil, err
		}
		rdlen, err := p.u16()
		if err != nil {
			return nil, err
		}
		end := p.off + int(rdlen)
		if end > len(p.b) {
			return nil, ErrMalformed
		}
		// RFC 2181 §8: a TTL with the top bit set is read as 0.
		if ttl > 1<<31-1 {
			ttl = 0
		}
		rec := rr{name: name, typ: typ, ttl: ttl}
		ok := class == classIN
		if ok {
			ok, err = p.rdata(&rec, end)
			if err != nil {
				return nil, err
			}
		}
		if ok {
			out = append(out, rec)
		}
		p.off = end
	}
	return out, nil
}

// rdata reads the data of the types we use; false for others.
func (p *parser) rdata(rec *rr, end int) (bool, error) {
	data := p.b[p.off:end]
	switch rec.typ {
	case typeA:
		if len(data) != 4 {
			return false, fmt.Errorf("%w: A of %d bytes", ErrMalformed, len(data))
		}
		rec.addr = netip.AddrFrom4([4]byte(data))
	case typeAAAA:
		if len(data) != 16 {
			return false, fmt.Errorf("%w: AAAA of %d bytes", ErrMalformed, len(data))
		}
		rec.addr = netip.AddrFrom16([16]byte(data))
	case typeCNAME:
		s, next, err := readName(p.b, p.off)
		if err != nil || next > end {
			return false, ErrMalformed
		}
		rec.cname = s
	case typeSRV:
		if len(data) < 7 {
			return false, ErrMalformed
		}
		rec.srv.Priority = binary.BigEndian.Uint16(data[0:])
		rec.srv.Weight = binary.BigEndian.Uint16(data[2:])
		rec.srv.Port = binary.BigEndian.Uint16(data[4:])
		s, next, err := readName(p.b, p.off+6)
		if err != nil || next > end {
			return false, ErrMalformed
		}
		rec.srv.Target = s
	case typeSOA:
		// MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM.
		_, next, err := readName(p.b, p.off)
		if err != nil || next > end {
			return false, ErrMalformed
		}
		_, next, err = readName(p.b, next)
		if err != nil || next+20 > end {
			return false, ErrMalformed
		}
		rec.minimum = binary.BigEndian.Uint32(p.b[next+16:])
		if rec.minimum > 1<<31-1 {
			rec.minimum = 0
		}
	default:
		return false, nil
	}
	return true, nil
}
