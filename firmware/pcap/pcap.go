// Package pcap writes and reads the classic libpcap file format
// (https://www.tcpdump.org/manpages/pcap-savefile.5.txt, and
// draft-ietf-opsawg-pcap) with link type LINKTYPE_RAW (101): each record
// is an IPv4 or IPv6 packet, no link-layer header. The phone captures at
// the socket, not the wire, so Writer builds the IP and UDP/TCP headers
// around each payload from the socket's addresses: Wireshark and tshark
// open the file and decode SIP and, given the port, RTP.
//
// Pure Go, no cgo, no libpcap. Read is the inverse, for tests and for
// checking a file before it is served; it refuses what it cannot frame
// with an error, never a panic.
package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

const (
	// magic is the microsecond-resolution pcap magic number.
	magic = 0xa1b2c3d4
	// LinkTypeRaw is LINKTYPE_RAW: the packet begins with an IP header.
	LinkTypeRaw = 101
	// SnapLen is the snapshot length written in the file header.
	SnapLen = 65535
	// HeaderLen is the file header's size; RecordHeaderLen each record's.
	HeaderLen       = 24
	RecordHeaderLen = 16

	protoTCP = 6
	protoUDP = 17

	ipv4Len = 20
	ipv6Len = 40
	udpLen  = 8
	tcpLen  = 20
)

// MaxPayload is the most payload one record carries: an IPv4 packet's
// total length is 16 bits. WriteUDP refuses more; WriteTCP splits.
const MaxPayload = 65535 - ipv4Len - tcpLen

// ErrTooLarge is returned for a UDP payload over MaxPayload.
var ErrTooLarge = errors.New("pcap: payload too large")

// ErrFormat is wrapped by Read for a file it cannot frame.
var ErrFormat = errors.New("pcap: bad file")

// Writer writes a pcap stream. Not safe for concurrent use.
type Writer struct {
	w  io.Writer
	id uint16 // IPv4 identification, counting up
}

// NewWriter writes the file header to w.
func NewWriter(w io.Writer) (*Writer, error) {
	var h [HeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], SnapLen)
	binary.LittleEndian.PutUint32(h[20:], LinkTypeRaw)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Writer{w: w}, nil
}

// UDPSize is the bytes WriteUDP adds to the file for a payload of n
// bytes between addresses of src's family.
func UDPSize(src netip.AddrPort, n int) int {
	return RecordHeaderLen + ipLen(src.Addr().Unmap()) + udpLen + n
}

// TCPSize is the bytes WriteTCP adds for n payload bytes (one segment).
func TCPSize(src netip.AddrPort, n int) int {
	return RecordHeaderLen + ipLen(src.Addr().Unmap()) + tcpLen + n
}

func ipLen(a netip.Addr) int {
	if a.Is4() {
		return ipv4Len
	}
	return ipv6Len
}

// WriteUDP writes one UDP datagram from src to dst.
func (w *Writer) WriteUDP(t time.Time, src, dst netip.AddrPort, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	s, d := family(src.Addr(), dst.Addr())
	l4 := make([]byte, udpLen+len(payload))
	binary.BigEndian.PutUint16(l4[0:], src.Port())
	binary.BigEndian.PutUint16(l4[2:], dst.Port())
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	copy(l4[udpLen:], payload)
	c := checksum(s, d, protoUDP, l4)
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(l4[6:], c)
	return w.record(t, s, d, protoUDP, l4)
}

// WriteTCP writes a TCP segment (PSH, ACK) from src to dst with sequence
// number seq carrying payload; a payload over MaxPayload becomes several
// segments with seq counting on. It returns the next sequence number.
func (w *Writer) WriteTCP(t time.Time, src, dst netip.AddrPort, seq, ack uint32, payload []byte) (uint32, error) {
	s, d := family(src.Addr(), dst.Addr())
	for first := true; first || len(payload) > 0; first = false {
		n := min(len(payload), MaxPayload)
		l4 := make([]byte, tcpLen+n)
		binary.BigEndian.PutUint16(l4[0:], src.Port())
		binary.BigEndian.PutUint16(l4[2:], dst.Port())
		binary.BigEndian.PutUint32(l4[4:], seq)
		binary.BigEndian.PutUint32(l4[8:], ack)
		l4[12] = (tcpLen / 4) << 4
		l4[13] = 0x18 // PSH, ACK
		binary.BigEndian.PutUint16(l4[14:], 65535)
		copy(l4[tcpLen:], payload[:n])
		binary.BigEndian.PutUint16(l4[16:], checksum(s, d, protoTCP, l4))
		if err := w.record(t, s, d, protoTCP, l4); err != nil {
			return seq, err
		}
		seq += uint32(n)
		payload = payload[n:]
	}
	return seq, nil
}

// family gives both addresses in one IP family: unmapped IPv4 when both
// are IPv4 (or IPv4-mapped), else IPv6.
func family(a, b netip.Addr) (netip.Addr, netip.Addr) {
	a, b = a.Unmap(), b.Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if !b.IsValid() {
		b = netip.IPv4Unspecified()
	}
	if a.Is4() && b.Is4() {
		return a, b
	}
	return netip.AddrFrom16(a.As16()), netip.AddrFrom16(b.As16())
}

func (w *Writer) record(t time.Time, src, dst netip.Addr, proto byte, l4 []byte) error {
	var ip []byte
	if src.Is4() {
		ip = make([]byte, ipv4Len, ipv4Len+len(l4))
		ip[0] = 0x45 // version 4, 5 words (RFC 791 §3.1)
		binary.BigEndian.PutUint16(ip[2:], uint16(ipv4Len+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], w.id)
		w.id++
		ip[6] = 0x40 // don't fragment
		ip[8] = 64   // TTL
		ip[9] = proto
		s, d := src.As4(), dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip)))
	} else {
		ip = make([]byte, ipv6Len, ipv6Len+len(l4))
		ip[0] = 0x60 // version 6 (RFC 8200 §3)
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6] = proto
		ip[7] = 64 // hop limit
		s, d := src.As16(), dst.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
	}
	pkt := append(ip, l4...)
	var h [RecordHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(t.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(pkt)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(pkt)))
	if _, err := w.w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.w.Write(pkt)
	return err
}

// checksum is the UDP/TCP checksum over the pseudo-header (RFC 768,
// RFC 9293 §3.1, RFC 8200 §8.1) and the segment l4 (its checksum field 0).
func checksum(src, dst netip.Addr, proto byte, l4 []byte) uint16 {
	var s uint32
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		s = sum(s, a[:])
		s = sum(s, b[:])
	} else {
		a, b := src.As16(), dst.As16()
		s = sum(s, a[:])
		s = sum(s, b[:])
	}
	s += uint32(proto) + uint32(len(l4))
	return ^fold(sum(s, l4))
}

func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if s > 0x7fffffff {
			s = s&0xffff + s>>16
		}
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
