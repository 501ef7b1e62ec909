package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/board"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/phoneproc"
)

func TestPulsePaths(t *testing.T) {
	got := pulsePaths(board.Audio{Speaker: board.Path{Sink: "spk"}}, config.Pulse{Sink: "def", Source: "mic"})
	if len(got) != 2 || got["handset"].Sink != "def" || got["handset"].Source != "mic" ||
		got["speaker"].Sink != "spk" || got["speaker"].Source != "mic" {
		t.Fatalf("%+v", got)
	}
}

// TestPhonedOnPulse runs the daemon with audio.device = "pulse" against a
// private PulseAudio server: the status API reports the device, and
// lifting the handset plays US dial tone on the handset sink.
func TestPhonedOnPulse(t *testing.T) {
	srv := pulsetest.Start(t, "handset", "mic")
	dir := t.TempDir()
	bin, err := phoneproc.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	api := l.Addr().String()
	l.Close()
	cfg := writeConfig(t, fmt.Sprintf(`schema = 1
[sip]
listen = %q
[audio]
device = "pulse"
state_dir = %q
[audio.pulse]
server = %q
cookie = %q
sink = "handset"
source = "mic.monitor"
[api]
listen = %q
`, freeUDP(t), filepath.Join(dir, "state"), srv.Addr(), srv.Cookie, api))
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-config", cfg, "-keypad", "off")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("phoned:\n%s", logs.String())
		}
	}()
	type status struct {
		State string `json:"state"`
		Audio *struct {
			Device    string `json:"device"`
			Connected bool   `json:"connected"`
			Path      string `json:"path"`
		} `json:"audio"`
	}
	get := func() (st status) {
		r, err := http.Get("http://" + api + "/api/status")
		if err != nil {
			return
		}
		defer r.Body.Close()
		json.NewDecoder(r.Body).Decode(&st)
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for st := get(); st.Audio == nil || !st.Audio.Connected; st = get() {
		if time.Now().After(deadline) {
			t.Fatalf("status never showed a connected pulse device: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := get(); st.Audio.Device != "pulse" || st.Audio.Path != "handset" {
		t.Fatalf("audio status %+v", *st.Audio)
	}
	rec := srv.Record(t, "handset.monitor")
	r, err := http.Post("http://"+api+"/api/hook", "application/json", strings.NewReader(`{"offhook": true}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	deadline = time.Now().Add(5 * time.Second)
	for {
		s := rec.Samples()
		if n := len(s); n > 1600 && detect.Present(s[n-1600:], 350) && detect.Present(s[n-1600:], 440) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dial tone on the handset sink (state %s)", get().State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
