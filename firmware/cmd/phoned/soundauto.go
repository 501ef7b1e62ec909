package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	pa "github.com/jfreymuth/pulse"

	"github.com/deskphone/phoned/audio/device/pulse"
	"github.com/deskphone/phoned/firmware/config"
)

// autoProbeTimeout bounds the wait for each PulseAudio server audio.device
// = "auto" tries.
const autoProbeTimeout = 2 * time.Second

// autoDevice resolves audio.device = "auto": "pulse" when a PulseAudio
// server answers (audio.pulse.server, or the per-user then the system-wide
// one, as the pulse device tries them), else "null", said in one warning
// line that names the servers tried, so a silent `make run` explains
// itself. Other devices are returned as they are.
func autoDevice(cfg *config.Config, log *slog.Logger) string {
	if cfg.Audio.Device != "auto" {
		return cfg.Audio.Device
	}
	tried, err := probePulse(cfg.Audio.Pulse)
	if err != nil {
		log.Warn("audio.device auto: no PulseAudio server reachable; sound falls back to the null device (silence: the microphone hears nothing, nothing is played)",
			"tried", strings.Join(tried, ", "), "err", err)
		return "null"
	}
	log.Info("audio.device auto: playing through PulseAudio", "server", tried[len(tried)-1])
	return "pulse"
}

// probePulse connects to each candidate server in turn and hangs up; it
// returns the servers tried and nil as soon as one answers.
func probePulse(p config.Pulse) ([]string, error) {
	if p.Cookie != "" {
		os.Setenv("PULSE_COOKIE", p.Cookie) // the library reads only the environment (pulse.Open does the same)
	}
	servers := []string{p.Server}
	if p.Server == "" {
		servers = append(servers, pulse.SystemServer)
	}
	var tried []string
	var errs []string
	for _, s := range servers {
		name := s
		if name == "" {
			name = perUserServer()
		}
		tried = append(tried, name)
		c, err := pa.NewClient(pa.ClientServerString(s), pa.ClientApplicationName("phoned probe"), pa.ClientTimeout(autoProbeTimeout))
		if err == nil {
			c.Close()
			return tried, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", name, err))
	}
	return tried, errors.New(strings.Join(errs, "; ")) // one line on the terminal
}

// perUserServer names the server "" stands for, as the library finds it.
func perUserServer() string {
	if s := os.Getenv("PULSE_SERVER"); s != "" {
		return s
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return "unix:" + d + "/pulse/native"
	}
	return "the per-user server"
}
