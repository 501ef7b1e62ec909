package main

import (
	"fmt"
	"log/slog"

	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/device/pulse"
	"github.com/deskphone/phoned/audio/ringer"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/board"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/daemon"
)

// sound is the phone's sound side as the daemon needs it.
type sound struct {
	dev    device.Device
	status daemon.AudioStatus // the "audio" part of the status API
	plan   tone.Plan          // tones.country with tones.custom
	audio  *ringer.Ringer     // the audible ringer; nil without a Pulse device
	pulse  *pulse.Device      // nil without a Pulse device
}

// openSound opens audio.device ("auto" is resolved first). With "pulse" the device has a voice
// path per board path (handset always; speaker and headset when the board
// names them), the ringer on the board's ringer sink, and volumes kept in
// audio.state_dir. It does not wait for the server.
func openSound(cfg *config.Config, brd board.Board, clk clock.Clock, log *slog.Logger) (*sound, error) {
	dev := autoDevice(cfg, log) // "auto": pulse when a server answers, else null (soundauto.go)
	s := &sound{plan: cfg.TonePlan(), status: device.Fixed(dev)}
	switch dev {
	case "wav":
		d, err := device.OpenWAV(cfg.Audio.WAV.Input, cfg.Audio.WAV.Output, clk)
		if err != nil {
			return nil, err
		}
		s.dev = d
	case "null":
		s.dev = device.NewNull(clk)
	case "pulse":
		s.audio = ringer.New(s.plan, cfg.Audio.RingerVolume, log)
		d, err := pulse.Open(pulse.Config{
			Server:     cfg.Audio.Pulse.Server,
			Cookie:     cfg.Audio.Pulse.Cookie,
			Paths:      pulsePaths(brd.Audio, cfg.Audio.Pulse),
			RingerSink: brd.Audio.Ringer,
			Ringer:     s.audio,
			Latency:    cfg.Audio.Latency.Duration,
			StateDir:   cfg.Audio.StateDir,
			Clock:      clk,
			Logger:     log,
		})
		if err != nil {
			return nil, err
		}
		s.dev, s.status, s.pulse = d, d, d
	default:
		return nil, fmt.Errorf("audio.device %q is not available in this build", cfg.Audio.Device)
	}
	return s, nil
}

// pulsePaths turns the board's paths into the device's: names the board
// leaves empty come from audio.pulse.sink/source ("" is the server's
// default). The handset is always there; the speaker and headset when the
// board names a sink or source for them.
func pulsePaths(a board.Audio, p config.Pulse) map[string]pulse.Path {
	or := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	paths := map[string]pulse.Path{}
	for name, bp := range map[string]board.Path{"handset": a.Handset, "speaker": a.Speaker, "headset": a.Headset} {
		if name != "handset" && bp.Sink == "" && bp.Source == "" {
			continue
		}
		paths[name] = pulse.Path{Sink: or(bp.Sink, p.Sink), Source: or(bp.Source, p.Source)}
	}
	return paths
}

// ringer returns what the daemon rings: the board's ringer output, and the
// audible ringer when there is one (through the Pulse device, which opens
// the ringer stream only while it rings).
func (s *sound) ringer(boardRinger daemon.Ringer) daemon.Ringer {
	if s.pulse == nil {
		return boardRinger
	}
	return ringer.Tee(s.pulse, boardRinger)
}

// volume is what the volume keys turn: the Pulse device, or nothing.
func (s *sound) volume() daemon.Volume {
	if s.pulse == nil {
		return nil // not a typed nil: the daemon checks for nil
	}
	return s.pulse
}
