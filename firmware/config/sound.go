package config

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/tomlpos"
)

// This file holds the sound keys: [tones], and audio.state_dir,
// audio.latency, audio.ringer_volume and audio.pulse.cookie. decode.go and
// validate.go call in here; the rules are documented in configs/README.md.

// Tones is [tones]: the call-progress tone plan.
type Tones struct {
	Country string            // a built-in plan, tone.Countries()
	Custom  map[string]string // tone name -> tone in the tone grammar; never nil
}

// Bounds of the sound keys.
const (
	MinLatency   = 10 * time.Millisecond
	MaxLatency   = 500 * time.Millisecond
	MaxRingerVol = 100
)

// decodeTones decodes [tones] and its [tones.custom] table.
func (d *decoder) decodeTones(tree map[string]any, c *Config) {
	t, p := d.Table(tree, nil, "tones")
	if t == nil {
		return
	}
	d.Unknown(t, p, "country", "custom")
	d.Str(t, p, "country", &c.Tones.Country)
	if cu, p := d.Table(t, p, "custom"); cu != nil {
		// Every key is a tone: names are checked by validate, values here.
		for _, k := range tomlpos.SortedKeys(cu) {
			var s string
			if d.Str(cu, p, k, &s) {
				c.Tones.Custom[k] = s
			}
		}
	}
}

// decodeAudioSound decodes the sound keys of [audio] (t, at path p).
func (d *decoder) decodeAudioSound(t map[string]any, p []string, c *Config) {
	d.Str(t, p, "state_dir", &c.Audio.StateDir)
	d.duration(t, p, "latency", &c.Audio.Latency)
	d.Int(t, p, "ringer_volume", &c.Audio.RingerVolume)
}

// validateSound checks the sound keys and stores the tone plan.
func (v *validator) validateSound(c *Config) {
	p := func(keys ...string) []string { return keys }
	au := c.Audio
	v.text(p("audio", "state_dir"), au.StateDir)
	v.text(p("audio", "pulse", "cookie"), au.Pulse.Cookie)
	if au.Latency.Duration < MinLatency || au.Latency.Duration > MaxLatency {
		v.fail(p("audio", "latency"), "must be %v to %v, got %q", MinLatency, MaxLatency, au.Latency.String())
	}
	if au.RingerVolume < 0 || au.RingerVolume > MaxRingerVol {
		v.fail(p("audio", "ringer_volume"), "must be 0 to %d (percent), got %d", MaxRingerVol, au.RingerVolume)
	}
	if c.Tones.Custom == nil {
		c.Tones.Custom = map[string]string{}
	}
	c.tonePlan = nil
	plan, err := tone.Country(c.Tones.Country)
	if err != nil {
		v.fail(p("tones", "country"), "unknown country %q (want %s)", c.Tones.Country, wantList(tone.Countries()))
		return
	}
	ok := true
	for _, name := range slices.Sorted(maps.Keys(c.Tones.Custom)) {
		at := p("tones", "custom", name)
		if !tone.ValidName(name) {
			v.fail(at, "not a tone name (want 1 to 32 of a-z, 0-9 and -, starting with a letter)")
			ok = false
			continue
		}
		t, err := tone.Parse(c.Tones.Custom[name])
		if err != nil {
			v.fail(at, "%s", strings.TrimPrefix(err.Error(), "tone: "))
			ok = false
			continue
		}
		plan[tone.Name(name)] = t
	}
	if ok {
		c.tonePlan = plan
	}
}

// TonePlan is the tone plan: tones.country's built-in plan with
// tones.custom over it.
func (c *Config) TonePlan() tone.Plan {
	if c.tonePlan == nil {
		if p, err := tone.Country(c.Tones.Country); err == nil {
			if q, err := p.With(c.Tones.Custom); err == nil {
				return q
			}
			return p
		}
		return tone.US
	}
	return c.tonePlan
}
