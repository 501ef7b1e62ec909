package daemon

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deskphone/phoned/audio/device"
)

func TestStatusCarriesAudio(t *testing.T) {
	d := New(Options{User: "1001", Logger: quietLogger()}, Deps{Audio: device.Fixed("null")})
	b, _ := json.Marshal(d.Status())
	if !strings.Contains(string(b), `"audio":{"device":"null","connected":true,"latency_ms":0,"underruns":0,"overruns":0,"reconnects":0}`) {
		t.Fatalf("status %s", b)
	}
	if d := New(Options{User: "1001", Logger: quietLogger()}, Deps{}); d.Status().Audio != nil {
		t.Fatal("audio without a provider")
	}
}
