package main

// The adapter between the daemon's consumer interfaces (issue 11 contract:
// an engine of legs, a UA with re-INVITE and REFER) and today's
// single-stream engine and UA. Delete this file when the engine-mixer and
// sip-dialog branches are merged: *engine.Engine and *sip.UA then satisfy
// the daemon's interfaces themselves.

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

// The adapters satisfy the daemon's interfaces (Deps.Media is checked by
// daemon.New at run time, so check it here at compile time).
var _ daemon.MediaEngine = (*legacyEngine)(nil)

// legacyUA is today's UA: no re-INVITE, REFER or transfer dialling.
type legacyUA struct{ *sip.UA }

func (u legacyUA) DialWith(target string, local sdp.Media, o daemon.DialOptions) (sip.CallID, error) {
	if o != (daemon.DialOptions{}) {
		return "", fmt.Errorf("dial with Referred-By/Replaces: %w", daemon.ErrNotSupported)
	}
	return u.Dial(target, local)
}
func (legacyUA) Reinvite(sip.CallID, sdp.Media) error {
	return fmt.Errorf("re-INVITE: %w", daemon.ErrNotSupported)
}
func (legacyUA) Refer(sip.CallID, string, sip.CallID) error {
	return fmt.Errorf("REFER: %w", daemon.ErrNotSupported)
}
func (legacyUA) NotifyRefer(sip.CallID, int, string) error {
	return fmt.Errorf("NOTIFY: %w", daemon.ErrNotSupported)
}

// legacyEngine is today's engine: one stream, which is the one leg.
type legacyEngine struct {
	*engine.Engine
	mu  sync.Mutex
	leg string // the running leg's id; "" none
}

func (e *legacyEngine) StartLeg(id string, p rtpstream.Params) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leg != "" && e.leg != id {
		return fmt.Errorf("second leg %s: %w", id, daemon.ErrNotSupported)
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

func (e *legacyEngine) SetMix(daemon.Mix) {} // one stream: always heard

func (e *legacyEngine) StartDTMF(id string, digit byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != e.leg {
		return fmt.Errorf("DTMF on leg %s: no such leg", id)
	}
	return e.Engine.StartDTMF(digit)
}

func (e *legacyEngine) StopDTMF(string) { e.Engine.StopDTMF() }
