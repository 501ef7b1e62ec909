package rtpstream

// RFC 3550 §A.1 constants.
const (
	seqMod      = 1 << 16
	maxDropout  = 3000
	maxMisorder = 100
)

// seqState tracks a source's sequence numbers as in RFC 3550 §A.1
// (without the probation period: the source was negotiated in SDP, so its
// first packet is believed).
type seqState struct {
	maxSeq   uint16 // highest sequence number seen
	cycles   uint32 // shifted count of wraps
	baseSeq  uint32
	badSeq   uint32 // last 'bad' sequence number + 1
	received uint64 // packets counted by update (init counts the first)
}

func (s *seqState) init(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = seqMod + 1 // so seq == badSeq is false
	s.cycles = 0
	s.received = 1
}

// update accounts for packet seq and reports whether it is valid.
func (s *seqState) update(seq uint16) bool {
	udelta := seq - s.maxSeq // modulo 2^16
	switch {
	case udelta < maxDropout:
		// In order, with a permissible gap.
		if seq < s.maxSeq {
			s.cycles += seqMod // wrapped
		}
		s.maxSeq = seq
	case uint32(udelta) <= seqMod-maxMisorder:
		// A very large jump. Two sequential packets mean the other side
		// restarted without telling us: resync to them.
		if uint32(seq) == s.badSeq {
			s.init(seq)
			return true
		}
		s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
		return false
	default:
		// Duplicate or reordered packet.
	}
	s.received++
	return true
}

// extendedMax is the extended highest sequence number received.
func (s *seqState) extendedMax() uint64 { return uint64(s.cycles) + uint64(s.maxSeq) }

// lost is RFC 3550 §A.3 cumulative loss, clamped at zero.
func (s *seqState) lost() uint64 {
	if s.received == 0 {
		return 0
	}
	expected := s.extendedMax() - uint64(s.baseSeq) + 1
	if expected <= s.received {
		return 0
	}
	return expected - s.received
}
