package rtcp

import (
	"errors"
	"fmt"
)

// Errors from building and parsing compound packets.
var (
	// ErrParse wraps every reason an incoming RTCP packet is rejected.
	ErrParse = errors.New("rtcp: bad packet")
	// ErrBuild wraps every reason a compound packet cannot be built.
	ErrBuild = errors.New("rtcp: cannot build packet")
)

// maxCNAME is the longest SDES item text, RFC 3550 §6.5.
const maxCNAME = maxText

// MarshalReport builds the compound packet of RFC 3550 §6.1 that every
// report interval sends: first (an SR or an RR, from SenderReport or an
// ReceiverReport with the Receiver's block), then an SDES with our
// CNAME.
func MarshalReport(first Packet, cname string) ([]byte, error) {
	return marshal(first, cname, nil)
}

// MarshalBye builds the compound packet that ends our participation (RFC
// 3550 §6.1, §6.6): the report, the SDES CNAME, then a BYE for our SSRC
// with an optional reason (at most 255 octets).
func MarshalBye(first Packet, cname, reason string) ([]byte, error) {
	if len(reason) > maxCNAME {
		return nil, fmt.Errorf("%w: BYE reason of %d octets, at most %d", ErrBuild, len(reason), maxCNAME)
	}
	ssrc, err := reporter(first)
	if err != nil {
		return nil, err
	}
	return marshal(first, cname, &Goodbye{Sources: []uint32{ssrc}, Reason: reason})
}

func reporter(first Packet) (uint32, error) {
	switch p := first.(type) {
	case *SenderReport:
		if p == nil {
			break
		}
		return p.SSRC, nil
	case *ReceiverReport:
		if p == nil {
			break
		}
		return p.SSRC, nil
	}
	return 0, fmt.Errorf("%w: first packet is %T, want *SenderReport or *ReceiverReport", ErrBuild, first)
}

func marshal(first Packet, cname string, bye *Goodbye) ([]byte, error) {
	ssrc, err := reporter(first)
	if err != nil {
		return nil, err
	}
	if cname == "" || len(cname) > maxCNAME {
		return nil, fmt.Errorf("%w: CNAME of %d octets, want 1 to %d", ErrBuild, len(cname), maxCNAME)
	}
	sdes := &SourceDescription{Chunks: []SourceDescriptionChunk{{
		Source: ssrc, Items: []SourceDescriptionItem{{Type: SDESCNAME, Text: cname}},
	}}}
	if bye != nil {
		return Marshal(first, sdes, bye)
	}
	return Marshal(first, sdes)
}

// Incoming is what a received RTCP packet (compound or not) says.
type Incoming struct {
	// SenderReports and ReceiverReports in the order they came.
	SenderReports   []*SenderReport
	ReceiverReports []*ReceiverReport
	// CNAME is the first SDES CNAME, if any.
	CNAME string
	// CNAMESSRC is the source the CNAME belongs to.
	CNAMESSRC uint32
	// Bye lists the sources that said goodbye; ByeReason is the first reason.
	Bye       []uint32
	ByeReason string
	// Other counts packets of other types (APP, feedback, XR...), ignored.
	Other int
}

// Blocks returns every report block in the packet (from SRs and RRs).
func (in *Incoming) Blocks() []ReceptionReport {
	var out []ReceptionReport
	for _, sr := range in.SenderReports {
		out = append(out, sr.Reports...)
	}
	for _, rr := range in.ReceiverReports {
		out = append(out, rr.Reports...)
	}
	return out
}

// BlockFor returns the report block about source ssrc (ours), if any.
func (in *Incoming) BlockFor(ssrc uint32) (ReceptionReport, bool) {
	for _, sr := range in.SenderReports {
		for _, b := range sr.Reports {
			if b.SSRC == ssrc {
				return b, true
			}
		}
	}
	for _, rr := range in.ReceiverReports {
		for _, b := range rr.Reports {
			if b.SSRC == ssrc {
				return b, true
			}
		}
	}
	return ReceptionReport{}, false
}

// Parse decodes a received compound RTCP datagram (Unmarshal: RFC 3550
// §A.2 checks, first packet SR or RR; we do not negotiate RFC 5506
// reduced-size RTCP). It never panics, and any malformed input is an error
// wrapping ErrParse.
func Parse(b []byte) (*Incoming, error) {
	pkts, err := Unmarshal(b)
	if err != nil {
		return nil, err
	}
	in := &Incoming{}
	for _, p := range pkts {
		switch p := p.(type) {
		case *SenderReport:
			in.SenderReports = append(in.SenderReports, p)
		case *ReceiverReport:
			in.ReceiverReports = append(in.ReceiverReports, p)
		case *SourceDescription:
			if in.CNAME != "" {
				continue
			}
			for _, c := range p.Chunks {
				for _, it := range c.Items {
					if it.Type == SDESCNAME && in.CNAME == "" {
						in.CNAME, in.CNAMESSRC = it.Text, c.Source
					}
				}
			}
		case *Goodbye:
			in.Bye = append(in.Bye, p.Sources...)
			if in.ByeReason == "" {
				in.ByeReason = p.Reason
			}
		default:
			in.Other++
		}
	}
	return in, nil
}
