package interop

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
)

// TestPulseVolumeKeysAndAPI: the volume keys turn the volume of the path
// in use, POST /api/v1/volume sets it, the status shows it, and it is
// stored in audio.state_dir/volume.json, so a restarted phoned has it.
func TestPulseVolumeKeysAndAPI(t *testing.T) {
	srv := pulsetest.Start(t, "handset", "mic")
	state := t.TempDir()
	start := func() *ourPhone {
		pp, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
			return pulseConfig(srv, sipPort, apiPort, fmt.Sprintf("state_dir = %q", state), "")
		})
		return &ourPhone{Phone: pp}
	}
	p := start()
	volume := func(what string, want int) {
		t.Helper()
		_, err := p.Until(within, what, func(s phonedStatus) bool { return s.Audio != nil && s.Audio.Volume == want })
		must(t, err)
	}
	volume("the default", 100)
	must(t, p.Function("volume_down"))
	must(t, p.Function("volume_down"))
	volume("two presses of volume_down", 80)
	must(t, p.Function("volume_up"))
	volume("volume_up", 90)

	post := func(body string) (int, string) {
		resp, err := p.Do("POST", "/api/v1/volume", "application/json", body)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"volume": 40}`); code != 200 || !strings.Contains(body, `"path": "handset"`) {
		t.Fatalf("POST volume 40: %d %s", code, body)
	}
	volume("POST /api/v1/volume", 40)
	if code, body := post(`{"path": "speaker", "volume": 40}`); code != 400 || !strings.Contains(body, "speaker") {
		t.Fatalf("a path the board lacks: %d %s", code, body)
	}
	b, err := os.ReadFile(filepath.Join(state, "volume.json"))
	must(t, err)
	var stored struct{ Volumes map[string]int }
	if err := json.Unmarshal(b, &stored); err != nil || stored.Volumes["handset"] != 40 {
		t.Fatalf("volume.json: %s %v", b, err)
	}
	must(t, p.Stop())
	p = start()
	volume("after a restart", 40)
}
