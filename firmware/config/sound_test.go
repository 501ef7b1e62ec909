package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/tone"
)

func TestSoundKeys(t *testing.T) {
	c, err := Parse("p.toml", []byte(`schema = 1
[audio]
state_dir = "/tmp/x"
latency = "60ms"
ringer_volume = 30
[audio.pulse]
cookie = "/run/pulse/.config/pulse/cookie"
[tones]
country = "de"
[tones.custom]
dial = "350+440/0"
ring-vip = "800/100,0/100"
`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.TonePlan()
	if c.Audio.StateDir != "/tmp/x" || c.Audio.Latency.Duration != 60*time.Millisecond || c.Audio.RingerVolume != 30 ||
		c.Audio.Pulse.Cookie == "" || p[tone.Dial].String() != "350+440/0" || p["ring-vip"].String() != "800/100,0/100" ||
		p[tone.Busy].String() != "425/480,0/480" {
		t.Fatalf("%+v %v", c.Audio, p)
	}
	if Default().TonePlan()[tone.Dial].String() != "350+440/0" {
		t.Fatal("default plan is not US")
	}
}

func TestSoundKeyErrors(t *testing.T) {
	_, err := Parse("phoned.toml", []byte(`schema = 1
[audio]
latency = "5ms"
ringer_volume = 101
state = "x"
[tones]
country = "xx"
[tones.custom]
dial = "350+x/0"
"Bad Name" = "425/0"
busy = 5
`))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		`phoned.toml:3: audio.latency: must be 10ms to 500ms, got "5ms"`,
		`phoned.toml:4: audio.ringer_volume: must be 0 to 100 (percent), got 101`,
		`phoned.toml:5: audio.state: unknown key`,
		`phoned.toml:7: tones.country: unknown country "xx" (want au, cn, de, fr, it, jp, nl, uk or us)`,
		`phoned.toml:11: tones.custom.busy: want a string, got integer`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	// With a known country the custom tones are checked, each error naming its key.
	_, err = Parse("phoned.toml", []byte("schema = 1\n[tones.custom]\ndial = \"350+x/0\"\n\"Bad Name\" = \"425/0\"\n"))
	for _, want := range []string{
		`phoned.toml:3: tones.custom.dial: syntax error: tone "350+x/0": segment 1 "350+x/0" at column 5: bad frequency "x"`,
		`phoned.toml:4: tones.custom."Bad Name": not a tone name`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}
