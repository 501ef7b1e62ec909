package pulse

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
)

var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// loopPaths plays each path into its own null sink and captures from that
// sink's monitor: what the device writes comes back to its Read.
func loopPaths() map[string]Path {
	return map[string]Path{
		"handset": {Sink: "handset", Source: "handset.monitor"},
		"speaker": {Sink: "speaker", Source: "speaker.monitor"},
		"headset": {Sink: "headset", Source: "headset.monitor"},
	}
}

func startServer(t testing.TB) *pulsetest.Server {
	return pulsetest.Start(t, "handset", "speaker", "headset", "ringer", "mic")
}

func openDevice(t testing.TB, srv *pulsetest.Server, cfg Config) *Device {
	t.Helper()
	cfg.Server, cfg.Cookie = srv.Addr(), srv.Cookie
	if cfg.Paths == nil {
		cfg.Paths = loopPaths()
	}
	if cfg.Logger == nil {
		cfg.Logger = testLog
	}
	d, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	waitConnected(t, d, true)
	return d
}

// openActive opens a device and uses it as the media loop would: active,
// with every path's voice streams running.
func openActive(t testing.TB, srv *pulsetest.Server, cfg Config) *Device {
	t.Helper()
	d := openDevice(t, srv, cfg)
	d.SetActive(true)
	waitStreams(t, d, len(d.cfg.Paths), false)
	return d
}

// waitStreams waits until the device has voice streams on that many paths
// and the ringer's stream open (ringer) or not.
func waitStreams(t testing.TB, d *Device, voice int, ringer bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		v, r := d.Streams()
		if v == voice && r == ringer {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("streams voice=%d ringer=%v not reached (have %d, %v): %+v", voice, ringer, v, r, d.Status())
		}
		time.Sleep(5 * time.Millisecond) // polling a real server, not timing
	}
}

func waitConnected(t testing.TB, d *Device, want bool) time.Duration {
	t.Helper()
	start := time.Now()
	for d.Connected() != want {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("connected=%v not reached: %+v", want, d.Status())
		}
		time.Sleep(5 * time.Millisecond) // polling a real server, not timing
	}
	return time.Since(start)
}

func pulsetestStart(t testing.TB, sinks ...string) *pulsetest.Server {
	return pulsetest.Start(t, sinks...)
}
