package rtcp

import (
	"encoding/binary"
	"fmt"
)

// Packet types, RFC 3550 §12.1.
const (
	TypeSenderReport      uint8 = 200
	TypeReceiverReport    uint8 = 201
	TypeSourceDescription uint8 = 202
	TypeGoodbye           uint8 = 203
)

// SDESType is the type of an SDES item, RFC 3550 §6.5.
type SDESType uint8

// SDES item types, RFC 3550 §6.5 (0 ends a chunk's item list).
const (
	SDESEnd   SDESType = 0
	SDESCNAME SDESType = 1
	SDESName  SDESType = 2
	SDESEmail SDESType = 3
	SDESPhone SDESType = 4
	SDESLoc   SDESType = 5
	SDESTool  SDESType = 6
	SDESNote  SDESType = 7
	SDESPriv  SDESType = 8
)

// Wire sizes, RFC 3550 §6.4.1, §6.4.2.
const (
	headerLen      = 4  // V, P, count, PT, length
	senderInfoLen  = 20 // NTP (8), RTP (4), packet count (4), octet count (4)
	reportBlockLen = 24
	maxCount       = 31      // the 5-bit RC/SC field
	maxText        = 255     // an SDES item or BYE reason, RFC 3550 §6.5, §6.6
	maxWords       = 0x10000 // the 16-bit length field counts words minus one
	maxPacketLen   = 4 * maxWords
	maxTotalLost   = 0xFFFFFF // 24 bits
)

// Packet is one RTCP packet of a compound packet: *SenderReport,
// *ReceiverReport, *SourceDescription, *Goodbye, or *RawPacket for the
// types this package does not decode.
type Packet interface {
	// MarshalSize is the packet's length on the wire, header included.
	MarshalSize() int
	// appendTo checks the packet and appends its wire form to b.
	appendTo(b []byte) ([]byte, error)
}

// ReceptionReport is a report block, RFC 3550 §6.4.1.
type ReceptionReport struct {
	SSRC         uint32 // the source this block is about
	FractionLost uint8  // lost since the last report, in 1/256
	// TotalLost is the cumulative number of packets lost, the raw 24-bit
	// two's complement field (TotalLost decodes it).
	TotalLost          uint32
	LastSequenceNumber uint32 // extended highest sequence number received
	Jitter             uint32 // interarrival jitter, RTP timestamp units
	LastSenderReport   uint32 // LSR: middle 32 bits of the last SR's NTP time
	Delay              uint32 // DLSR: since that SR, in 1/65536 s
}

// SenderReport is an SR, RFC 3550 §6.4.1.
type SenderReport struct {
	SSRC        uint32
	NTPTime     uint64 // 32.32 fixed point, seconds since 1900
	RTPTime     uint32
	PacketCount uint32
	OctetCount  uint32
	Reports     []ReceptionReport // at most 31
}

// ReceiverReport is an RR, RFC 3550 §6.4.2.
type ReceiverReport struct {
	SSRC    uint32
	Reports []ReceptionReport // at most 31
}

// SourceDescriptionItem is one SDES item (CNAME, NAME, ..., PRIV kept as
// its raw text), RFC 3550 §6.5.
type SourceDescriptionItem struct {
	Type SDESType
	Text string // at most 255 octets
}

// SourceDescriptionChunk is the items about one source, RFC 3550 §6.5.
type SourceDescriptionChunk struct {
	Source uint32
	Items  []SourceDescriptionItem
}

// SourceDescription is an SDES packet, RFC 3550 §6.5.
type SourceDescription struct {
	Chunks []SourceDescriptionChunk // at most 31
}

// Goodbye is a BYE, RFC 3550 §6.6.
type Goodbye struct {
	Sources []uint32 // at most 31
	Reason  string   // optional, at most 255 octets
}

// RawPacket is a packet of a type this package does not decode (APP, XR,
// RTPFB, PSFB...), kept as received, header included. Unmarshal returns
// it so that a caller can count it; Marshal copies it as it is.
type RawPacket []byte

// MarshalSize implements Packet.
func (p *SenderReport) MarshalSize() int {
	return headerLen + 4 + senderInfoLen + reportBlockLen*len(p.Reports)
}

// MarshalSize implements Packet.
func (p *ReceiverReport) MarshalSize() int {
	return headerLen + 4 + reportBlockLen*len(p.Reports)
}

// MarshalSize implements Packet.
func (p *SourceDescription) MarshalSize() int {
	n := headerLen
	for _, c := range p.Chunks {
		n += chunkSize(c)
	}
	return n
}

// chunkSize is a chunk's wire size: SSRC, items, at least one null
// octet, padded to 32 bits (RFC 3550 §6.5).
func chunkSize(c SourceDescriptionChunk) int {
	n := 4 + 1
	for _, it := range c.Items {
		n += 2 + len(it.Text)
	}
	return pad4(n)
}

// MarshalSize implements Packet.
func (p *Goodbye) MarshalSize() int {
	n := headerLen + 4*len(p.Sources)
	if p.Reason != "" {
		n += pad4(1 + len(p.Reason))
	}
	return n
}

// MarshalSize implements Packet.
func (p RawPacket) MarshalSize() int { return len(p) }

func pad4(n int) int { return (n + 3) &^ 3 }

// appendHeader appends the common header of a packet of size octets
// (RFC 3550 §6.4.1): version 2, no padding, count, type, length in 32-bit
// words minus one.
func appendHeader(b []byte, count int, typ uint8, size int) []byte {
	return append(b, 2<<6|uint8(count), typ, byte((size/4-1)>>8), byte(size/4-1))
}

func checkCount(what string, n int) error {
	if n > maxCount {
		return fmt.Errorf("%w: %d %s, at most %d", ErrBuild, n, what, maxCount)
	}
	return nil
}

func appendBlocks(b []byte, reports []ReceptionReport) ([]byte, error) {
	for _, r := range reports {
		if r.TotalLost > maxTotalLost {
			return nil, fmt.Errorf("%w: cumulative loss %#x does not fit 24 bits", ErrBuild, r.TotalLost)
		}
		b = binary.BigEndian.AppendUint32(b, r.SSRC)
		b = binary.BigEndian.AppendUint32(b, uint32(r.FractionLost)<<24|r.TotalLost)
		b = binary.BigEndian.AppendUint32(b, r.LastSequenceNumber)
		b = binary.BigEndian.AppendUint32(b, r.Jitter)
		b = binary.BigEndian.AppendUint32(b, r.LastSenderReport)
		b = binary.BigEndian.AppendUint32(b, r.Delay)
	}
	return b, nil
}

func (p *SenderReport) appendTo(b []byte) ([]byte, error) {
	if err := checkCount("report blocks", len(p.Reports)); err != nil {
		return nil, err
	}
	b = appendHeader(b, len(p.Reports), TypeSenderReport, p.MarshalSize())
	b = binary.BigEndian.AppendUint32(b, p.SSRC)
	b = binary.BigEndian.AppendUint64(b, p.NTPTime)
	b = binary.BigEndian.AppendUint32(b, p.RTPTime)
	b = binary.BigEndian.AppendUint32(b, p.PacketCount)
	b = binary.BigEndian.AppendUint32(b, p.OctetCount)
	return appendBlocks(b, p.Reports)
}

func (p *ReceiverReport) appendTo(b []byte) ([]byte, error) {
	if err := checkCount("report blocks", len(p.Reports)); err != nil {
		return nil, err
	}
	b = appendHeader(b, len(p.Reports), TypeReceiverReport, p.MarshalSize())
	b = binary.BigEndian.AppendUint32(b, p.SSRC)
	return appendBlocks(b, p.Reports)
}

func (p *SourceDescription) appendTo(b []byte) ([]byte, error) {
	if err := checkCount("SDES chunks", len(p.Chunks)); err != nil {
		return nil, err
	}
	size := p.MarshalSize()
	if size > maxPacketLen {
		return nil, fmt.Errorf("%w: SDES of %d octets, at most %d", ErrBuild, size, maxPacketLen)
	}
	b = appendHeader(b, len(p.Chunks), TypeSourceDescription, size)
	for _, c := range p.Chunks {
		start := len(b)
		b = binary.BigEndian.AppendUint32(b, c.Source)
		for _, it := range c.Items {
			if it.Type == SDESEnd || len(it.Text) > maxText {
				return nil, fmt.Errorf("%w: SDES item of type %d and %d octets (type 1 to 255, at most %d octets)",
					ErrBuild, it.Type, len(it.Text), maxText)
			}
			b = append(b, byte(it.Type), byte(len(it.Text)))
			b = append(b, it.Text...)
		}
		// One null octet ends the list, more pad the chunk to 32 bits.
		for n := pad4(len(b) - start + 1); len(b)-start < n; {
			b = append(b, 0)
		}
	}
	return b, nil
}

func (p *Goodbye) appendTo(b []byte) ([]byte, error) {
	if err := checkCount("BYE sources", len(p.Sources)); err != nil {
		return nil, err
	}
	if len(p.Reason) > maxText {
		return nil, fmt.Errorf("%w: BYE reason of %d octets, at most %d", ErrBuild, len(p.Reason), maxText)
	}
	b = appendHeader(b, len(p.Sources), TypeGoodbye, p.MarshalSize())
	for _, s := range p.Sources {
		b = binary.BigEndian.AppendUint32(b, s)
	}
	if p.Reason != "" {
		start := len(b)
		b = append(b, byte(len(p.Reason)))
		b = append(b, p.Reason...)
		for n := pad4(len(b) - start); len(b)-start < n; {
			b = append(b, 0)
		}
	}
	return b, nil
}

func (p RawPacket) appendTo(b []byte) ([]byte, error) {
	if len(p) < headerLen || len(p)%4 != 0 || len(p) > maxPacketLen {
		return nil, fmt.Errorf("%w: raw packet of %d octets", ErrBuild, len(p))
	}
	return append(b, p...), nil
}

// Marshal builds a compound packet (RFC 3550 §6.1): the first packet must
// be an SR or an RR; the rest follow in the order given (an SDES with the
// CNAME, then a BYE if leaving, is what §6.1 asks of every interval).
func Marshal(pkts ...Packet) ([]byte, error) {
	if len(pkts) == 0 {
		return nil, fmt.Errorf("%w: empty compound packet", ErrBuild)
	}
	if _, err := reporter(pkts[0]); err != nil {
		return nil, err
	}
	size := 0
	for i, p := range pkts {
		if isNil(p) {
			return nil, fmt.Errorf("%w: packet %d is nil", ErrBuild, i)
		}
		size += p.MarshalSize()
	}
	b := make([]byte, 0, size)
	for _, p := range pkts {
		var err error
		if b, err = p.appendTo(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// isNil reports a nil interface or a nil pointer in one.
func isNil(p Packet) bool {
	switch p := p.(type) {
	case nil:
		return true
	case *SenderReport:
		return p == nil
	case *ReceiverReport:
		return p == nil
	case *SourceDescription:
		return p == nil
	case *Goodbye:
		return p == nil
	case RawPacket:
		return p == nil
	}
	return false
}
