package daemon

import (
	"time"

	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/phone"
)

// Service calls (phone/service.go) are local: no SIP, the engine's local
// leg is the far end. The loop carries out their effects here: the leg
// starts with StartService; a hold or resume re-INVITE is answered at once
// (200, the phone itself is the far end); a REFER fails; Hangup only
// forgets the call (StopMedia stops the leg, as for any call).

// EchoDelay is how long the echo test waits before playing back what it
// heard.
const EchoDelay = time.Second

// testToneLevel and testToneHz are the tone test's steady tone after the
// ringback: 1004 Hz, the usual test tone frequency (ITU-T O.6 avoids
// submultiples of 8000 Hz), at the level of the tone plan's tones.
const (
	testToneHz    = 1004
	testToneLevel = tone.DefaultLevel
)

// localLegs are the engine's local legs (audio/engine local.go).
type localLegs interface {
	StartEchoLeg(id string, delay time.Duration) error
	StartToneLeg(id string, t tone.Tone) error
}

// startService starts a service call's local leg. Without a media engine
// that has local legs the call goes on in silence.
func (d *Daemon) startService(e phone.StartService) {
	c := &call{ref: e.Call, remote: e.Service.Title(), dir: phone.Outgoing, service: e.Service}
	d.calls[e.Call] = c
	ll, ok := d.media.(localLegs)
	if d.media == nil || !ok {
		d.log.Warn("service call without audio: no media engine", "call", string(e.Call), "service", string(e.Service))
		return
	}
	var err error
	switch e.Service {
	case phone.ServiceEcho:
		err = ll.StartEchoLeg(string(e.Call), EchoDelay)
	case phone.ServiceTone:
		err = ll.StartToneLeg(string(e.Call), d.testTone())
	}
	if err != nil {
		d.log.Error("service call media did not start", "call", string(e.Call), "service", string(e.Service), "err", err)
		return
	}
	c.streamed = true
	c.answered = d.clk.Now()
	d.log.Info("service call", "call", string(e.Call), "service", string(e.Service), "title", c.remote)
}

// testTone is the tone test: one cycle of the tone plan's ringback, then
// the steady test tone until the call ends.
func (d *Daemon) testTone() tone.Tone {
	var t tone.Tone
	if rb, ok := d.opts.Tones[tone.Name(phone.ToneRingback)]; ok && rb.Period() > 0 {
		t.Segments = append(t.Segments, rb.Segments...)
	}
	t.Segments = append(t.Segments, tone.Segment{Freqs: []float64{testToneHz}, Level: testToneLevel})
	return t
}

// serviceReinvite answers a hold or resume of a service call at once.
func (d *Daemon) serviceReinvite(c *call, e phone.Reinvite) {
	c.localDir = e.Direction
	d.pending = append(d.pending, phone.Reinvited{Call: e.Call, Code: 200, Reason: "OK"})
}

// codec is the call's codec as the status shows it: "local" for a
// service call (no RTP).
func (c *call) codec() string {
	if c.service != "" {
		return "local"
	}
	return c.media.Codec.String()
}
