package rtpstream

import (
	"net/netip"
	"time"
)

// Source filtering (issue 12: RTP that cannot be injected). Once the
// stream knows where the peer's media comes from, RTP and RTCP from any
// other address:port are dropped before they are even parsed:
//
//   - with Params.Latch, from the moment the stream latched (RFC 4961:
//     latchAfter valid packets in a row from one source, or one from the
//     signalled address); before that any source may latch it, and with
//     SRTP only an authenticated packet counts toward latching;
//   - without Latch, the stream uses the signalled address: RTP from
//     anywhere else is dropped from the start (nothing is filtered while
//     the signalled address is unspecified, c=0.0.0.0 hold);
//   - RTCP comes from the latched RTCP source once its reports latched,
//     from the latched RTP source's host before that, and without Latch
//     from the signalled RTCP address.
//
// Only Redirect with a new remote address (a re-INVITE or UPDATE that
// changes the remote media) lets the stream latch again.

// filterLogEvery bounds the debug log of dropped sources to one line per
// interval, whatever the rate of the flood.
const filterLogEvery = 10 * time.Second

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// rtpSource is the one address RTP is accepted from, invalid while any
// is. Called with s.mu held.
func (s *Stream) rtpSource() netip.AddrPort {
	if s.latch {
		if s.latched {
			return s.latchFrom
		}
		return netip.AddrPort{}
	}
	if s.signalled.Addr().IsUnspecified() {
		return netip.AddrPort{}
	}
	return s.signalled
}

// rtpFromPeer reports whether an RTP datagram from `from` may be looked
// at, counting and logging (rate-limited, debug) the ones that may not.
func (s *Stream) rtpFromPeer(from netip.AddrPort) bool {
	from = unmap(from)
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.rtpSource()
	if !src.IsValid() || from == src {
		return true
	}
	s.stats.PacketsFiltered++
	s.logFiltered("rtp", from, src, s.stats.PacketsFiltered)
	return false
}

// rtcpFromPeer is rtpFromPeer for RTCP.
func (s *Stream) rtcpFromPeer(from netip.AddrPort) bool {
	from = unmap(from)
	s.rtcpMu.Lock()
	latched, src := s.rtcpSt.latched, s.rtcpSt.source
	s.rtcpMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := true
	switch {
	case s.latch && latched:
		ok = from == src
	case s.latch:
		if rtp := s.rtpSource(); rtp.IsValid() {
			ok, src = from.Addr() == rtp.Addr(), rtp
		}
	default:
		if to := *s.rtcpRemote.Load(); !to.Addr().IsUnspecified() && to.Port() != 0 {
			ok, src = from == to, to
		}
	}
	if !ok {
		s.stats.RTCPFiltered++
		s.logFiltered("rtcp", from, src, s.stats.RTCPFiltered)
	}
	return ok
}

// logFiltered logs a dropped source at most once per filterLogEvery.
// Called with s.mu held.
func (s *Stream) logFiltered(proto string, from, src netip.AddrPort, total uint64) {
	now := s.clk.Now()
	if !s.filterLogAt.IsZero() && now.Sub(s.filterLogAt) < filterLogEvery {
		return
	}
	s.filterLogAt = now
	s.log.Debug(proto+" from another source dropped", "from", from, "source", src, "dropped", total)
}
