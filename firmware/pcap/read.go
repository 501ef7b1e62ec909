package pcap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Packet is one record as Read frames it.
type Packet struct {
	Time     time.Time
	Proto    string // "udp" or "tcp"
	Src, Dst netip.AddrPort
	Seq      uint32 // TCP only
	Payload  []byte
	// ChecksumOK reports the IPv4 header (if any) and UDP/TCP checksums
	// verify.
	ChecksumOK bool
}

// MaxRecords bounds what Read frames from one file.
const MaxRecords = 1 << 20

// Read frames a whole pcap file written by Writer (little-endian,
// microseconds, LINKTYPE_RAW, IPv4/IPv6 with UDP or TCP).
func Read(b []byte) ([]Packet, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the file header", ErrFormat, len(b))
	}
	if binary.LittleEndian.Uint32(b) != magic {
		return nil, fmt.Errorf("%w: not a little-endian microsecond pcap file", ErrFormat)
	}
	if lt := binary.LittleEndian.Uint32(b[20:]); lt != LinkTypeRaw {
		return nil, fmt.Errorf("%w: link type %d, not raw IP", ErrFormat, lt)
	}
	b = b[HeaderLen:]
	var out []Packet
	for len(b) > 0 {
		if len(out) == MaxRecords {
			return out, fmt.Errorf("%w: more than %d records", ErrFormat, MaxRecords)
		}
		if len(b) < RecordHeaderLen {
			return out, fmt.Errorf("%w: record %d: truncated header", ErrFormat, len(out)+1)
		}
		sec, usec := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		incl, orig := binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
		b = b[RecordHeaderLen:]
		if incl != orig || incl > SnapLen || int(incl) > len(b) || usec >= 1e6 {
			return out, fmt.Errorf("%w: record %d: bad lengths or time", ErrFormat, len(out)+1)
		}
		p, err := parseIP(b[:incl])
		if err != nil {
			return out, fmt.Errorf("%w: record %d: %v", ErrFormat, len(out)+1, err)
		}
		p.Time = time.Unix(int64(sec), int64(usec)*1000)
		out = append(out, p)
		b = b[incl:]
	}
	return out, nil
}

func parseIP(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 1 {
		return p, fmt.Errorf("empty packet")
	}
	var src, dst netip.Addr
	var proto byte
	var l4 []byte
	ipOK := true
	switch b[0] >> 4 {
	case 4:
		if len(b) < ipv4Len || b[0]&0x0f != 5 {
			return p, fmt.Errorf("bad IPv4 header")
		}
		if int(binary.BigEndian.Uint16(b[2:])) != len(b) {
			return p, fmt.Errorf("IPv4 length does not match the record")
		}
		ipOK = fold(sum(0, b[:ipv4Len])) == 0xffff
		proto = b[9]
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		l4 = b[ipv4Len:]
	case 6:
		if len(b) < ipv6Len || int(binary.BigEndian.Uint16(b[4:]))+ipv6Len != len(b) {
			return p, fmt.Errorf("bad IPv6 header")
		}
		proto = b[6]
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		l4 = b[ipv6Len:]
	default:
		return p, fmt.Errorf("IP version %d", b[0]>>4)
	}
	switch proto {
	case protoUDP:
		if len(l4) < udpLen || int(binary.BigEndian.Uint16(l4[4:])) != len(l4) {
			return p, fmt.Errorf("bad UDP header")
		}
		p.Proto, p.Payload = "udp", l4[udpLen:]
	case protoTCP:
		if len(l4) < tcpLen || l4[12]>>4 != tcpLen/4 {
			return p, fmt.Errorf("bad TCP header")
		}
		p.Proto, p.Payload = "tcp", l4[tcpLen:]
		p.Seq = binary.BigEndian.Uint32(l4[4:])
	default:
		return p, fmt.Errorf("IP protocol %d", proto)
	}
	p.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:]))
	p.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:]))
	p.ChecksumOK = ipOK && verify(src, dst, proto, l4)
	return p, nil
}

// verify checks a UDP/TCP checksum: the sum over pseudo-header and
// segment, checksum included, folds to all ones.
func verify(src, dst netip.Addr, proto byte, l4 []byte) bool {
	var s uint32
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		s = sum(sum(s, a[:]), b[:])
	} else {
		a, b := src.As16(), dst.As16()
		s = sum(sum(s, a[:]), b[:])
	}
	s += uint32(proto) + uint32(len(l4))
	return fold(sum(s, l4)) == 0xffff
}
