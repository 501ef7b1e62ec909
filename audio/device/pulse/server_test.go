package pulse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/ringer"
	"github.com/deskphone/phoned/audio/tone"

	"github.com/deskphone/phoned/scripts/tier"
)

// TestSystemWideServer connects the way a system-wide server is reached:
// an explicit unix: server string and the server's cookie file (which the
// device hands to the library through $PULSE_COOKIE). A server string
// nobody listens on is reported in the status, naming it.
func TestSystemWideServer(t *testing.T) {
	srv := startServer(t)
	missing := "unix:" + filepath.Join(t.TempDir(), "native")
	d, err := Open(Config{Server: missing, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unreachable server reported", 5*time.Second, func() bool { return d.Status().Error != "connecting" })
	if st := d.Status(); st.Connected || !strings.Contains(st.Error, missing) {
		t.Fatalf("unreachable server: %+v", st)
	}
	d.Close()
	os.Unsetenv("PULSE_COOKIE")
	openDevice(t, srv, Config{}) // Server: srv.Addr(), Cookie: srv.Cookie
	if got := os.Getenv("PULSE_COOKIE"); got != srv.Cookie {
		t.Fatalf("PULSE_COOKIE = %q", got)
	}
}

// TestPerUserServer finds the server the way a desktop session does:
// no server string ($XDG_RUNTIME_DIR/pulse/native) and no cookie setting
// ($HOME/.config/pulse/cookie).
func TestPerUserServer(t *testing.T) {
	srv := startServer(t)
	run, home := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(run, "pulse"), 0o700)
	if err := os.Symlink(srv.Socket, filepath.Join(run, "pulse", "native")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".config", "pulse"), 0o700)
	cookie, _ := os.ReadFile(srv.Cookie)
	os.WriteFile(filepath.Join(home, ".config", "pulse", "cookie"), cookie, 0o600)
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv("HOME", home)
	t.Setenv("PULSE_SERVER", "")
	os.Unsetenv("PULSE_SERVER")
	t.Setenv("PULSE_COOKIE", "")
	os.Unsetenv("PULSE_COOKIE")
	d, err := Open(Config{Paths: loopPaths(), Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitConnected(t, d, true)
}

// TestRingerSink rings a distinctive cadence on the ringer sink while the
// voice path stays silent. (The cadence sample by sample is
// TestRingerCadenceThroughTheRingerPath's; this shows the server plays it.)
//
// Native only: the ring plays for a span of real time through a real-time
// server, which emulation cannot keep.
func TestRingerSink(t *testing.T) {
	tier.NativeOnly(t, "a ring cadence through a real-time sound server")
	srv := startServer(t)
	r := ringer.New(tone.US, 100, testLog)
	d := openDevice(t, srv, Config{Ringer: r, RingerSink: "ringer"})
	rec := srv.Record(t, "ringer.monitor")
	voice := srv.Record(t, "handset.monitor")
	time.Sleep(200 * time.Millisecond) // silence before the ring: real time
	d.SetRinger(true, "<http://pbx>;info=Bellcore-dr2")
	if on, _ := r.Ringing(); !on {
		t.Fatal("the device's SetRinger did not start the ringer")
	}
	// The ringer stream opens for the ring, and no voice stream with it.
	waitStreams(t, d, 0, true)
	time.Sleep(2200 * time.Millisecond) // long, pause, long
	d.SetRinger(false, "")
	waitStreams(t, d, 0, false)
	time.Sleep(300 * time.Millisecond)
	got := runs(blocksOf(rec.Samples(), 16))
	// dr2: 800 ms on, 400 off, 800 on (then 4 s off): 400, 200, 400 blocks
	// of 2 ms, within 4 ms (the block grid falls anywhere on the ring); the
	// first may lose up to 10 ms more to the stream's start (resampler).
	if len(got) < 3 || got[0] < 395 || got[0] > 402 || abs(got[1]-200) > 2 || abs(got[2]-400) > 2 {
		t.Fatalf("ring cadence %v (2 ms blocks), want [400 200 400 ...]", got)
	}
	for _, on := range blocks(voice.Samples()) {
		if on {
			t.Fatal("the ring leaked into the handset")
		}
	}
	s := rec.Samples()
	if !hasFreq(s, 800) || !hasFreq(s, 1000) {
		t.Fatal("ring frequencies missing")
	}
}

func abs(x int) int { return max(x, -x) }

func hasFreq(s []int16, f float64) bool {
	for _, on := range blocksWith(s, f) {
		if on {
			return true
		}
	}
	return false
}
