package rtcp

import (
	"encoding/binary"
	"fmt"
)

// Unmarshal decodes a compound RTCP packet, checking it as RFC 3550
// Appendix A.2 does: every packet is version 2, the first is an SR or an
// RR, only the last may carry padding, each length field stays inside the
// datagram and the lengths add up to it exactly. Report, source and chunk
// counts must fit their packet. SR, RR, SDES and BYE are decoded; other
// types (APP, XR, RTPFB, PSFB...) come back as RawPacket rather than
// failing. Every error wraps ErrParse; nothing is allocated beyond what
// the datagram's own length bounds.
func Unmarshal(b []byte) ([]Packet, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d octets, shorter than an RTCP header", ErrParse, len(b))
	}
	pkts := make([]Packet, 0, 4) // SR or RR, SDES, BYE, one more: what phones send
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < headerLen {
			return nil, fmt.Errorf("%w: %d octets left at offset %d, shorter than a header", ErrParse, len(rest), off)
		}
		if v := rest[0] >> 6; v != 2 {
			return nil, fmt.Errorf("%w: version %d at offset %d, want 2", ErrParse, v, off)
		}
		if t := rest[1]; off == 0 && t != TypeSenderReport && t != TypeReceiverReport {
			return nil, fmt.Errorf("%w: first packet of type %d, want SR (200) or RR (201)", ErrParse, t)
		}
		size := 4 * (int(binary.BigEndian.Uint16(rest[2:4])) + 1)
		if size > len(rest) {
			return nil, fmt.Errorf("%w: packet at offset %d says %d octets, %d left", ErrParse, off, size, len(rest))
		}
		pkt := rest[:size:size]
		body := pkt[headerLen:]
		if pkt[0]&0x20 != 0 { // P: the last octet counts the padding
			if off+size != len(b) {
				return nil, fmt.Errorf("%w: padding in packet at offset %d, not the last", ErrParse, off)
			}
			n := int(pkt[size-1])
			if n == 0 || n > len(body) {
				return nil, fmt.Errorf("%w: %d octets of padding in a %d-octet packet", ErrParse, n, size)
			}
			body = body[:len(body)-n]
		}
		p, err := decode(pkt[1], int(pkt[0]&0x1F), body)
		if err != nil {
			return nil, fmt.Errorf("%w (packet at offset %d)", err, off)
		}
		if p == nil {
			p = RawPacket(pkt)
		}
		pkts = append(pkts, p)
		off += size
	}
	return pkts, nil
}

// decode decodes the body (after the header, without padding) of a
// packet of type typ whose 5-bit count field is count. It returns nil,
// nil for a type it does not decode.
func decode(typ uint8, count int, body []byte) (Packet, error) {
	switch typ {
	case TypeSenderReport:
		if len(body) < 4+senderInfoLen+count*reportBlockLen {
			return nil, fmt.Errorf("%w: SR of %d octets cannot hold %d report blocks", ErrParse, len(body), count)
		}
		p := &SenderReport{
			SSRC:        binary.BigEndian.Uint32(body),
			NTPTime:     binary.BigEndian.Uint64(body[4:]),
			RTPTime:     binary.BigEndian.Uint32(body[12:]),
			PacketCount: binary.BigEndian.Uint32(body[16:]),
			OctetCount:  binary.BigEndian.Uint32(body[20:]),
			Reports:     blocks(body[4+senderInfoLen:], count),
		}
		return p, nil // octets after the blocks: a profile extension, ignored (§6.4.1)
	case TypeReceiverReport:
		if len(body) < 4+count*reportBlockLen {
			return nil, fmt.Errorf("%w: RR of %d octets cannot hold %d report blocks", ErrParse, len(body), count)
		}
		return &ReceiverReport{SSRC: binary.BigEndian.Uint32(body), Reports: blocks(body[4:], count)}, nil
	case TypeSourceDescription:
		return sdes(count, body)
	case TypeGoodbye:
		return bye(count, body)
	}
	return nil, nil
}

// blocks decodes count report blocks; the caller checked the length.
func blocks(b []byte, count int) []ReceptionReport {
	if count == 0 {
		return nil
	}
	out := make([]ReceptionReport, count)
	for i := range out {
		r := b[i*reportBlockLen:]
		out[i] = ReceptionReport{
			SSRC:               binary.BigEndian.Uint32(r),
			FractionLost:       r[4],
			TotalLost:          binary.BigEndian.Uint32(r[4:]) & maxTotalLost,
			LastSequenceNumber: binary.BigEndian.Uint32(r[8:]),
			Jitter:             binary.BigEndian.Uint32(r[12:]),
			LastSenderReport:   binary.BigEndian.Uint32(r[16:]),
			Delay:              binary.BigEndian.Uint32(r[20:]),
		}
	}
	return out
}

// sdes decodes the count chunks of an SDES packet, RFC 3550 §6.5: each
// an SSRC, items of type, length and text, a null octet ending the list
// and null octets up to the next 32-bit boundary. The chunks must fill
// the body exactly (which also catches chunk padding past its end).
func sdes(count int, body []byte) (Packet, error) {
	p := &SourceDescription{}
	if count > 0 {
		p.Chunks = make([]SourceDescriptionChunk, 0, count)
	}
	off := 0
	for i := range count {
		if len(body)-off < 4 {
			return nil, fmt.Errorf("%w: SDES chunk %d of %d truncated", ErrParse, i+1, count)
		}
		c := SourceDescriptionChunk{Source: binary.BigEndian.Uint32(body[off:])}
		pos := off + 4
		for {
			if pos >= len(body) {
				return nil, fmt.Errorf("%w: SDES chunk %d has no end of its item list", ErrParse, i+1)
			}
			typ := SDESType(body[pos])
			if typ == SDESEnd {
				pos = off + pad4(pos+1-off)
				break
			}
			if pos+2 > len(body) || pos+2+int(body[pos+1]) > len(body) {
				return nil, fmt.Errorf("%w: SDES item of type %d overruns chunk %d", ErrParse, typ, i+1)
			}
			n := int(body[pos+1])
			c.Items = append(c.Items, SourceDescriptionItem{Type: typ, Text: string(body[pos+2 : pos+2+n])})
			pos += 2 + n
		}
		p.Chunks = append(p.Chunks, c)
		off = pos
	}
	if off != len(body) {
		return nil, fmt.Errorf("%w: SDES with %d chunks leaves %d octets over", ErrParse, count, len(body)-off)
	}
	return p, nil
}

// bye decodes a BYE, RFC 3550 §6.6: count sources, then optionally a
// reason (length octet and text), padded to 32 bits.
func bye(count int, body []byte) (Packet, error) {
	if len(body) < 4*count {
		return nil, fmt.Errorf("%w: BYE of %d octets cannot hold %d sources", ErrParse, len(body), count)
	}
	p := &Goodbye{}
	if count > 0 {
		p.Sources = make([]uint32, count)
		for i := range p.Sources {
			p.Sources[i] = binary.BigEndian.Uint32(body[4*i:])
		}
	}
	if rest := body[4*count:]; len(rest) > 0 {
		n := int(rest[0])
		if 1+n > len(rest) {
			return nil, fmt.Errorf("%w: BYE reason of %d octets, %d left", ErrParse, n, len(rest)-1)
		}
		p.Reason = string(rest[1 : 1+n])
	}
	return p, nil
}
