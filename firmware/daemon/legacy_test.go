package daemon

// The component tests' copy of firmware/cmd/phoned/legacy.go: today's UA
// and single-stream engine behind the daemon's interfaces. Delete it with
// that file when the sip-dialog and engine-mixer branches are merged.

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

type legacyUA struct{ *sip.UA }

func (u legacyUA) DialWith(target string, local sdp.Media, o DialOptions) (sip.CallID, error) {
	if o != (DialOptions{}) {
		return "", fmt.Errorf("dial with options: %w", ErrNotSupported)
	}
	return u.Dial(target, local)
}
func (legacyUA) Reinvite(sip.CallID, sdp.Media) error       { return ErrNotSupported }
func (legacyUA) Refer(sip.CallID, string, sip.CallID) error { return ErrNotSupported }
func (legacyUA) NotifyRefer(sip.CallID, int, string) error  { return ErrNotSupported }

type legacyEngine struct {
	*engine.Engine
	mu  sync.Mutex
	leg string
}

func (e *legacyEngine) StartLeg(id string, p rtpstream.Params) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leg != "" && e.leg != id {
		return ErrNotSupported
	}
	if err := e.StartStream(p); err != nil {
		return err
	}
	e.leg = id
	return nil
}

func (e *legacyEngine) StopLeg(id string) (rtpstream.Stats, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != e.leg {
		return rtpstream.Stats{}, false
	}
	e.leg = ""
	return e.StopStream()
}

func (e *legacyEngine) LegStats(id string) (rtpstream.Stats, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != e.leg {
		return rtpstream.Stats{}, false
	}
	return e.Stats()
}

func (e *legacyEngine) RedirectLeg(id string, remote, rtcp netip.AddrPort, send bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return id == e.leg && e.RedirectStream(remote, rtcp, send)
}

func (e *legacyEngine) SetMix(Mix) {}

func (e *legacyEngine) StartDTMF(id string, digit byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != e.leg {
		return fmt.Errorf("no leg %s", id)
	}
	return e.Engine.StartDTMF(digit)
}

func (e *legacyEngine) StopDTMF(string) { e.Engine.StopDTMF() }

// stats are the leg of the phone's focused call (or of its only leg).
func (p *testPhone) stats() (rtpstream.Stats, bool) {
	return p.eng.Stats()
}
