package daemon

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/rtcp"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
)

// Status is the phone as the status API and the display show it.
type Status struct {
	State        string       `json:"state"`
	OffHook      bool         `json:"offhook"`
	Registration Registration `json:"registration"`
	Digits       string       `json:"digits,omitempty"`
	Reason       string       `json:"reason,omitempty"`
	Call         *CallStatus  `json:"call"` // the focused call (the one the handset is on)
	Calls        []CallInfo   `json:"calls"`
	Muted        bool         `json:"muted,omitempty"`
	LastCall     *CallStatus  `json:"last_call,omitempty"`
	Display      string       `json:"display"`
	// DTMFDropped counts key presses in a call that were never sent (their
	// call ended first, a send error); see dtmfq.go.
	DTMFDropped uint64     `json:"dtmf_dropped"`
	Audio       *AudioInfo `json:"audio,omitempty"` // the sound device, when Deps.Audio is set
	// SIPGuard counts requests refused by sip.accept_from, the per-source
	// rate and the cap on server transactions (firmware/daemon/guard.go).
	SIPGuard *sip.GuardStats `json:"sip_guard,omitempty"`
	// Config is the live reconfiguration: a config waiting for idle, the
	// last one applied. Absent until the first reload.
	Config *ConfigStatus `json:"config,omitempty"`
	// Provisioning: where the config is fetched from and how the last
	// check went (absent until the provisioner starts).
	Provisioning *ProvisioningStatus `json:"provisioning,omitempty"`
	// Storage: writes to the state directory that failed (storage.go).
	Storage *StorageStatus `json:"storage,omitempty"`
}

// CallInfo is one of the phone's calls in Status.Calls.
type CallInfo struct {
	ID        string `json:"id"` // the phone's name for the call (not the SIP Call-ID)
	Remote    string `json:"remote"`
	Direction string `json:"direction"`
	// State: calling (ours, not answered yet), ringing (theirs, not
	// answered, call waiting included) or talking (answered; Held and
	// HeldByRemote say who holds it).
	State        string  `json:"state"`
	Held         bool    `json:"held"`           // we hold it (or our hold/resume is being answered)
	HeldByRemote bool    `json:"held_by_remote"` // the far end holds it
	Focused      bool    `json:"focused"`        // the handset is on this call
	Conference   bool    `json:"conference"`     // a member of the local 3-way conference
	Waiting      bool    `json:"waiting,omitempty"`
	Codec        string  `json:"codec,omitempty"`
	Duration     float64 `json:"duration_s"`
	LocalDir     string  `json:"media_direction,omitempty"` // our SDP direction after our last re-INVITE
	SRTP         string  `json:"srtp"`                      // the SRTP suite (RFC 4568 name), "" for plain RTP
}

// AudioInfo is the sound device's part of Status.
type AudioInfo = device.Status

// AudioStatus reports the sound device's state (audio/device.Status):
// connected, path, latency, underruns and overruns.
type AudioStatus interface{ Status() AudioInfo }

// Registration is where the account's registration stands (RFC 3261 §10).
type Registration struct {
	// State: none (no registrar: direct calls), registering, registered,
	// unconfirmed (registered, but the last keep-alive went unanswered),
	// failed, unregistered.
	State     string  `json:"state"`
	Registrar string  `json:"registrar,omitempty"`
	Code      int     `json:"code,omitempty"`   // last final response; 0 for a timeout
	Reason    string  `json:"reason,omitempty"` // its reason phrase, or the error
	Expires   float64 `json:"expires_s,omitempty"`
	RetryIn   float64 `json:"retry_in_s,omitempty"`
	// Hint says in plain words what to check when registration failed
	// or is unconfirmed (hint.go); absent otherwise.
	Hint string `json:"hint,omitempty"`
}

// CallStatus describes the current (or last) call.
type CallStatus struct {
	Remote    string    `json:"remote"`
	Direction string    `json:"direction,omitempty"`
	Codec     string    `json:"codec,omitempty"`
	SRTP      string    `json:"srtp,omitempty"` // the SRTP suite; absent for plain RTP
	Duration  float64   `json:"duration_s"`
	Held      bool      `json:"held,omitempty"`          // the far end put the call on hold
	DTMF      string    `json:"dtmf_received,omitempty"` // digits the far end sent
	RTP       RTPCounts `json:"rtp"`
	// Quality is the call's RFC 3550 figures and its G.107 MOS estimate.
	Quality *rtcp.Summary `json:"quality,omitempty"`
	// Playout is the jitter buffer's delay and what it repaired.
	Playout *Playout `json:"playout,omitempty"`
	// RTCP is what the reports exchanged (RFC 3550 §6.4).
	RTCP *RTCPStatus `json:"rtcp,omitempty"`
	// Media is where the audio goes, for diagnosing one-way audio.
	Media *MediaStatus `json:"media,omitempty"`
}

// MediaStatus is the call's RTP addresses and packet time.
type MediaStatus struct {
	Local      string `json:"local"`       // our RTP socket
	Remote     string `json:"remote"`      // where RTP goes now
	RemoteRTCP string `json:"remote_rtcp"` // where RTCP goes now
	Latched    bool   `json:"latched"`     // Remote is where the peer's RTP comes from (RFC 4961 latching)
	PtimeMs    int    `json:"ptime_ms"`    // packet time sent
}

// Playout is the adaptive jitter buffer's part of CallStatus.
type Playout struct {
	TargetMs  float64 `json:"target_ms"`  // the delay it aims at
	CurrentMs float64 `json:"current_ms"` // the delay now
	Late      uint64  `json:"late"`       // packets that came after their time
	Duplicate uint64  `json:"duplicate"`
	Lost      uint64  `json:"lost"`      // frames missing at their time
	Concealed uint64  `json:"concealed"` // frames filled by loss concealment
	Inserted  uint64  `json:"inserted"`  // frames added to grow the delay
	Dropped   uint64  `json:"dropped"`   // frames skipped to shrink it
	Underruns uint64  `json:"underruns"`
	Resyncs   uint64  `json:"resyncs"`
}

// RTCPStatus counts the call's reports and what the peer's say of our stream.
type RTCPStatus struct {
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	// Dropped: reports from another source than the peer's, and SRTCP
	// packets failing authentication or replayed (RFC 3711 §3.4).
	Filtered    uint64 `json:"filtered,omitempty"`
	SRTCPFailed uint64 `json:"srtcp_failed,omitempty"`
	// The peer's last report block about our stream, if one came.
	RemoteLossPct  *float64 `json:"remote_loss_pct,omitempty"` // fraction lost in its last interval
	RemoteJitterMs *float64 `json:"remote_jitter_ms,omitempty"`
}

// RTPCounts are the call's packet counters (RFC 3550 §6.4, §A.3).
type RTPCounts struct {
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Lost     uint64 `json:"lost"`
	// Dropped: RTP from a source other than the latched or signalled
	// one, and SRTP packets that failed authentication or were replays
	// (RFC 3711 §3.3).
	Filtered   uint64 `json:"filtered,omitempty"`
	AuthFailed uint64 `json:"srtp_auth_failed,omitempty"`
	Replayed   uint64 `json:"srtp_replayed,omitempty"`
}

// snapshot is what publish copies out of the loop for other goroutines.
type snapshot struct {
	state phone.State
	calls map[phone.CallRef]call // copies
	last  *CallStatus
	reg   Registration
	// config is the live-reconfiguration status (reconfig.go).
	config ConfigStatus
	prov   *ProvisioningStatus
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// fillMedia puts a stream's counters into cs.
func (cs *CallStatus) fillMedia(st rtpstream.Stats) {
	cs.RTP = RTPCounts{Sent: st.PacketsSent, Received: st.PacketsReceived, Lost: st.PacketsLost,
		Filtered: st.PacketsFiltered, AuthFailed: st.SRTPAuthFailed, Replayed: st.SRTPReplayed}
	cs.SRTP = st.SRTP
	q := st.Quality()
	cs.Quality = &q
	p := st.Playout
	cs.Playout = &Playout{TargetMs: ms(p.Target), CurrentMs: ms(p.Current), Late: p.Late, Duplicate: p.Duplicate,
		Lost: p.Lost, Concealed: p.Concealed, Inserted: p.Inserted, Dropped: p.Dropped, Underruns: p.Underruns, Resyncs: p.Resyncs}
	cs.RTCP = &RTCPStatus{Sent: st.RTCPSent, Received: st.RTCPReceived, Filtered: st.RTCPFiltered, SRTCPFailed: st.SRTCPFailed}
	cs.Media = &MediaStatus{Local: st.Local.String(), Remote: st.Remote.String(), RemoteRTCP: st.RemoteRTCP.String(),
		Latched: st.Latched, PtimeMs: int(st.Ptime.Milliseconds())}
	if st.RemoteReported {
		loss, jit := st.RemoteFractionLost, ms(st.RemoteJitter)
		cs.RTCP.RemoteLossPct, cs.RTCP.RemoteJitterMs = &loss, &jit
	}
}

// publish copies the loop's state for Status and signals every
// subscriber; it runs in the loop.
func (d *Daemon) publish() {
	d.mu.Lock()
	d.snap.state = d.state
	d.snap.state.Calls = slices.Clone(d.state.Calls)
	d.snap.calls = make(map[phone.CallRef]call, len(d.calls))
	for ref, c := range d.calls {
		d.snap.calls[ref] = *c
	}
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
}

// Status returns the phone's status now. Safe from any goroutine.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	s, calls, last, reg := d.snap.state, d.snap.calls, d.snap.last, d.snap.reg
	var cfg *ConfigStatus
	if c := d.snap.config; c.AppliedAt != nil || len(c.Pending) > 0 {
		cfg = &c
	}
	var prov *ProvisioningStatus
	if d.snap.prov != nil {
		p := *d.snap.prov
		p.PendingRestart = d.snap.config.Restart
		prov = &p
	}
	var disk *StorageStatus
	if d.disk != nil {
		c := *d.disk
		disk = &c
	}
	d.mu.Unlock()
	st := Status{
		State:        s.Mode.String(),
		OffHook:      s.OffHook,
		Registration: reg,
		Digits:       s.Digits,
		Reason:       s.Reason,
		Muted:        s.MicMuted(),
		LastCall:     last,
		Calls:        []CallInfo{},
		Config:       cfg,
		Provisioning: prov,
		DTMFDropped:  d.DTMFDropped(),
		Storage:      disk,
	}
	now := d.clk.Now()
	for _, c := range s.Calls {
		info := CallInfo{ID: string(c.Ref), Remote: c.Remote, Direction: string(c.Direction), State: c.Phase.String(),
			Held: c.OnHold(), HeldByRemote: c.HeldByRemote, Focused: c.Ref == s.Focus, Conference: c.Conference,
			Waiting: c.Phase == phone.PhaseRinging && c.Ref != s.Focus}
		if dc, ok := calls[c.Ref]; ok && dc.streamed {
			info.Codec = dc.codec()
			info.Duration = now.Sub(dc.answered).Round(time.Millisecond).Seconds()
			info.LocalDir = dc.localDir
			info.SRTP = string(dc.legKeys.Suite)
		}
		st.Calls = append(st.Calls, info)
	}
	if c := s.Call(); c != nil {
		cs := &CallStatus{Remote: c.Remote, Direction: string(c.Direction), DTMF: c.Received}
		if dc, ok := calls[c.Ref]; ok && dc.streamed {
			cs.Codec = dc.codec()
			cs.Held = c.HeldByRemote
			cs.Duration = now.Sub(dc.answered).Round(time.Millisecond).Seconds()
			if d.media != nil && dc.service == "" { // a service call has no RTP to report
				if rs, ok := d.media.LegStats(string(c.Ref)); ok {
					cs.fillMedia(rs)
				}
			}
		}
		st.Call = cs
	}
	st.Display = display(d.opts.User, st, s)
	st.SIPGuard = d.guardStatus()
	if d.deps.Audio != nil {
		a := d.deps.Audio.Status()
		st.Audio = &a
	}
	return st
}

// display renders the one-line display of a desk phone:
//
//	[1001 direct] talking 1002 PCMU 01:23
//
// The head is the account and its registration: "direct" when no
// registrar is configured (calls go straight to the dialled URI).
func display(user string, st Status, s phone.State) string {
	reg := st.Registration.State
	if reg == "none" || reg == "" {
		reg = "direct"
	}
	head := fmt.Sprintf("[%s %s]", user, reg)
	switch s.Mode {
	case phone.Idle:
		if st.Reason != "" {
			return head + " idle (" + st.Reason + ")" + others(st, s)
		}
		return head + " idle" + others(st, s)
	case phone.DialTone:
		if s.Xfer.Phase == phone.XferDialing {
			return head + " transfer to?" + others(st, s)
		}
		return head + " dial tone" + others(st, s)
	case phone.Dialing:
		if s.Xfer.Phase == phone.XferDialing {
			return head + " transfer to " + s.Digits + others(st, s)
		}
		return head + " dialing " + s.Digits + others(st, s)
	case phone.Calling:
		if c := s.Call(); c != nil && (c.Progress == 180 || c.Progress == 183) {
			return head + " ringing " + st.Call.Remote
		}
		return head + " calling " + st.Call.Remote
	case phone.Ringing:
		return head + " incoming call from " + st.Call.Remote
	case phone.Talking:
		line := head + " talking " + st.Call.Remote
		if c := s.Call(); c != nil && c.Conference {
			line = head + " conference"
			for _, cc := range s.Calls {
				if cc.Conference {
					line += " " + cc.Remote
				}
			}
		}
		if st.Call.Codec != "" {
			d := time.Duration(st.Call.Duration * float64(time.Second))
			line += fmt.Sprintf(" %s %02d:%02d", st.Call.Codec, int(d.Minutes()), int(d.Seconds())%60)
		}
		if st.Call.Held {
			line += " (held)"
		}
		if c := s.Call(); c != nil && c.OnHold() {
			line += " (on hold)"
		}
		return line + others(st, s)
	case phone.Busy:
		return head + " busy: " + s.Reason
	case phone.Congestion:
		return head + " call failed: " + s.Reason
	case phone.Howler:
		return head + " please hang up"
	}
	return head + " " + s.Mode.String()
}

// others lists on the display the calls the handset is not on (held,
// waiting), then a feature's note (a transfer, a failed hold), and mute.
func others(st Status, s phone.State) string {
	var b strings.Builder
	for _, c := range st.Calls {
		switch {
		case c.Focused || c.Conference && s.Call() != nil && s.Call().Conference:
		case c.Waiting:
			b.WriteString(" | waiting: " + c.Remote)
		case c.State == "talking":
			b.WriteString(" | held: " + c.Remote)
		case c.State == "calling":
			b.WriteString(" | calling: " + c.Remote)
		}
	}
	if s.Mode == phone.Talking && st.Reason != "" {
		b.WriteString(" (" + st.Reason + ")")
	}
	if st.Muted {
		b.WriteString(" [muted]")
	}
	return b.String()
}
