package pulse

import (
	"errors"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/ring"
	"github.com/deskphone/phoned/firmware/clock"
)

// bare returns a device with no supervisor, "connected", for the buffer
// logic between the callbacks and Read/Write.
func bare(clk clock.Clock) *Device {
	return &Device{
		cfg: Config{Paths: map[string]Path{"handset": {}}}, clk: clk, log: testLog,
		data: make(chan struct{}, 1), stop: make(chan struct{}),
		capture: ring.New(captureCap), playback: ring.New(playbackCap),
		path: "handset", volumes: map[string]int{}, conn: &conn{}, voiceUp: true,
	}
}

func TestPlaybackPrimeConcealAndCount(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	d := bare(clk)
	frame := make([]int16, 160)
	for i := range frame {
		frame[i] = 1000
	}
	req := make([]int16, 80)
	// Nothing queued: silence, not an underrun (not primed yet).
	d.fillPlayback("handset", req)
	if req[0] != 0 || d.underruns != 0 {
		t.Fatalf("unprimed: %d, underruns %d", req[0], d.underruns)
	}
	d.Write(frame)
	d.fillPlayback("handset", req)
	if req[0] != 0 {
		t.Fatal("played before a frame and a half was queued")
	}
	d.Write(frame) // 320 queued: primed
	for k := 0; k < 4; k++ {
		d.fillPlayback("handset", req)
		if req[79] != 1000 {
			t.Fatalf("request %d: %d", k, req[79])
		}
	}
	// A request bigger than what is left: concealed, counted.
	d.Write(frame[:100])
	big := make([]int16, 120)
	d.fillPlayback("handset", big)
	if d.underruns != 1 || big[99] != 1000 || big[100] == 0 || big[119] >= big[100] {
		t.Fatalf("conceal: underruns %d, %v", d.underruns, big[95:])
	}
	// Dry: silence and prime again.
	d.fillPlayback("handset", req)
	if d.underruns != 2 || req[0] != 0 || d.primed {
		t.Fatalf("dry: underruns %d primed %v", d.underruns, d.primed)
	}
	// Another path's stream gets silence, whatever is queued.
	d.Write(frame)
	d.Write(frame)
	d.fillPlayback("speaker", req)
	if req[0] != 0 || d.playback.Len() != 320 {
		t.Fatal("the path not in use played the call")
	}
	// More than 80 ms queued: the oldest goes, counted.
	for k := 0; k < 3; k++ {
		d.Write(frame)
	}
	if d.overruns != 1 || d.playback.Len() != playbackCap {
		t.Fatalf("overrun: %d, len %d", d.overruns, d.playback.Len())
	}
	// Idle (no Write for IdleAfter): running dry is not an underrun.
	clk.Advance(time.Second)
	d.playback.Reset()
	d.primed = true
	d.fillPlayback("handset", req)
	if d.underruns != 2 {
		t.Fatal("an idle device counted an underrun")
	}
}

func TestCaptureReadDropsStaleAndBacklog(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	d := bare(clk)
	chunk := make([]int16, 80)
	for i := 0; i < 10; i++ { // 800 samples captured while idle
		for j := range chunk {
			chunk[j] = int16(i*80 + j)
		}
		d.onCapture("handset", chunk)
	}
	d.onCapture("speaker", chunk) // another path's capture is dropped
	frame := make([]int16, 160)
	// Waking from idle: only the newest frame is returned, at once.
	if err := d.Read(frame); err != nil || frame[0] != 640 || frame[159] != 799 {
		t.Fatalf("after idle: %v %d..%d", err, frame[0], frame[159])
	}
	if d.overruns != 0 {
		t.Fatal("stale capture counted as an overrun")
	}
	// Active, with more than 80 ms waiting: trimmed to 80 ms, counted.
	for i := 0; i < 12; i++ {
		d.onCapture("handset", chunk)
	}
	d.Read(frame)
	if d.overruns != 1 || d.capture.Len() != captureBacklog-160 {
		t.Fatalf("backlog: overruns %d, left %d", d.overruns, d.capture.Len())
	}
}

func TestNoServerKeepsPace(t *testing.T) {
	d, err := Open(Config{Server: "unix:/nonexistent/phoned-test", Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	frame := []int16{1, 2, 3}
	for k := 0; k < 5; k++ {
		if err := d.Read(frame); err != nil || frame[0] != 0 {
			t.Fatalf("read %d: %v %v", k, frame, err)
		}
		if err := d.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if st := d.Status(); st.Connected || st.Device != "pulse" {
		t.Fatalf("%+v", st)
	}
	d.Close()
	if err := d.Read(frame); !errors.Is(err, device.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := d.Write(frame); !errors.Is(err, device.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := Open(Config{Paths: map[string]Path{"speaker": {}}, Path: "handset"}); !errors.Is(err, ErrUnknownPath) {
		t.Fatalf("bad initial path: %v", err)
	}
}

// TestBriefUseLeavesNothingQueued: frames written during a use that ended
// before any stream opened are dropped, so the next use does not start
// with them.
func TestBriefUseLeavesNothingQueued(t *testing.T) {
	d := bare(clock.NewFake(time.Unix(1000, 0)))
	d.voiceUp = false
	d.SetActive(true)
	if err := d.Write(make([]int16, 160)); err != nil {
		t.Fatal(err)
	}
	d.SetActive(false)
	if n := d.playback.Len(); n != 0 {
		t.Fatalf("%d samples left queued after a use with no stream", n)
	}
}
