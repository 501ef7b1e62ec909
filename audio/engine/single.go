package engine

import (
	"net/netip"

	"github.com/deskphone/phoned/audio/rtpstream"
)

// The single-stream methods below drive the leg named "", which the zero
// Mix focuses: for code that knows one stream at a time (the Pulse device's
// call test, the engine's own single-stream tests). The daemon uses legs.

// StartStream starts leg "" with p; ErrStreamActive while it runs. The
// stream owns p.Conn; on error the caller keeps it.
func (e *Engine) StartStream(p rtpstream.Params) error {
	return e.startLeg("", p, false)
}

// StopStream is StopLeg("").
func (e *Engine) StopStream() (rtpstream.Stats, bool) { return e.StopLeg("") }

// Stats is LegStats("").
func (e *Engine) Stats() (rtpstream.Stats, bool) { return e.LegStats("") }

// RedirectStream is RedirectLeg("", remote, rtcp, send).
func (e *Engine) RedirectStream(remote, rtcp netip.AddrPort, send bool) bool {
	return e.RedirectLeg("", remote, rtcp, send)
}
