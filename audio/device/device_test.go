package device

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/wav"
	"github.com/deskphone/phoned/firmware/clock"
)

// virtualClock is a clock whose SleepUntil jumps time forward at once and
// records every deadline, so pacing is checked without waiting.
type virtualClock struct {
	now    time.Time
	sleeps []time.Time
}

func (c *virtualClock) Now() time.Time { return c.now }
func (c *virtualClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	panic("not used")
}
func (c *virtualClock) SleepUntil(t time.Time) {
	c.sleeps = append(c.sleeps, t)
	if t.After(c.now) {
		c.now = t
	}
}

var t0 = time.Unix(1000, 0)

func TestPacingDeadlines(t *testing.T) {
	clk := &virtualClock{now: t0}
	d := NewNull(clk)
	frame := make([]int16, 160)
	for i := 0; i < 3; i++ {
		d.Read(frame)
	}
	// Processing time does not accumulate: deadlines stay on the 20 ms grid.
	clk.now = clk.now.Add(15 * time.Millisecond)
	d.Read(frame)
	// A little behind (under MaxLag): catch up on the grid, no sleep needed.
	clk.now = clk.now.Add(60 * time.Millisecond)
	d.Read(frame)
	d.Read(frame)
	want := []time.Duration{20, 40, 60, 80, 100, 120}
	for i, w := range want {
		if got := clk.sleeps[i].Sub(t0); got != w*time.Millisecond {
			t.Fatalf("deadline %d at %v, want %v ms (all: %v)", i, got, w, clk.sleeps)
		}
	}
	// Idle for a second: restart from now instead of bursting 50 frames.
	idle := clk.now.Add(time.Second)
	clk.now = idle
	d.Read(frame)
	if got := clk.sleeps[len(clk.sleeps)-1]; !got.Equal(idle.Add(20 * time.Millisecond)) {
		t.Fatalf("after idle, deadline %v, want now+20ms", got.Sub(idle))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Read(frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

func TestNullBlocksOnFakeClock(t *testing.T) {
	clk := clock.NewFake(t0)
	d := NewNull(clk)
	frame := []int16{1, 2, 3}
	done := make(chan error)
	go func() { done <- d.Read(frame[:]) }()
	if !clk.WaitSleepers(1, 10*time.Second) {
		t.Fatal("Read never slept on the clock")
	}
	clk.Advance(audioDur(3) - time.Nanosecond)
	if clk.Sleepers() != 1 {
		t.Fatal("Read returned before its deadline")
	}
	clk.Advance(time.Nanosecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if frame[0] != 0 || frame[2] != 0 {
		t.Fatal("Null did not return silence")
	}
}

func audioDur(n int) time.Duration { return time.Duration(n) * time.Second / 8000 }

func writeWAV(t *testing.T, path string, f wav.Format, samples []int16) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w, err := wav.NewWriter(fh, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(samples); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

func TestWAVLoopsAndRecords(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "mic.wav"), filepath.Join(dir, "spk.wav")
	ramp := make([]int16, 250)
	for i := range ramp {
		ramp[i] = int16(i)
	}
	writeWAV(t, in, wav.Telephone, ramp)
	clk := &virtualClock{now: t0}
	d, err := OpenWAV(in, out, clk)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	var got []int16
	for i := 0; i < 4; i++ {
		if err := d.Read(frame); err != nil {
			t.Fatal(err)
		}
		got = append(got, frame...)
		if err := d.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range got {
		if int(s) != i%250 {
			t.Fatalf("mic sample %d = %d, want %d (looped)", i, s, i%250)
		}
	}
	// Readable before Close, as after a crash.
	rec, f, err := wav.ReadFile(out)
	if err != nil || f != wav.Telephone || len(rec) != 640 {
		t.Fatalf("before Close: %d samples, %v, %v", len(rec), f, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rec, _, err = wav.ReadFile(out)
	if err != nil || len(rec) != 640 || rec[250] != 0 || rec[639] != int16(639%250) {
		t.Fatalf("after Close: %d samples, %v", len(rec), err)
	}
	if err := d.Write(frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if len(clk.sleeps) != 4 {
		t.Fatalf("%d paced reads, want 4", len(clk.sleeps))
	}
}

func TestWAVOptionalFiles(t *testing.T) {
	d, err := OpenWAV("", "", &virtualClock{now: t0})
	if err != nil {
		t.Fatal(err)
	}
	f := []int16{5}
	if err := d.Read(f); err != nil || f[0] != 0 {
		t.Fatalf("silent mic: %v %v", f, err)
	}
	if err := d.Write(f); err != nil {
		t.Fatal(err)
	}
	d.Close()
}

func TestWAVOpenErrors(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeWAV(t, p("stereo.wav"), wav.Format{Tag: wav.FormatPCM, Channels: 2, SampleRate: 44100, BitsPerSample: 16}, []int16{1, 2})
	writeWAV(t, p("16k.wav"), wav.Format{Tag: wav.FormatPCM, Channels: 1, SampleRate: 16000, BitsPerSample: 16}, []int16{1, 2})
	writeWAV(t, p("empty.wav"), wav.Telephone, nil)
	eight := []byte("RIFF\x26\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x02\x00\x00\x00\x80\x80")
	os.WriteFile(p("8bit.wav"), eight, 0o644)
	os.WriteFile(p("trunc.wav"), eight[:30], 0o644)
	os.WriteFile(p("song.mp3"), []byte("ID3\x04 not a wave file at all"), 0o644)
	tests := []struct {
		in   string
		err  error
		want string
	}{
		{"stereo.wav", ErrFormat, "stereo.wav: 44100 Hz 2-channel 16-bit PCM, want 8000 Hz mono 16-bit PCM"},
		{"16k.wav", ErrFormat, "16k.wav: 16000 Hz mono 16-bit PCM, want 8000 Hz mono 16-bit PCM"},
		{"8bit.wav", ErrFormat, "8bit.wav: 8000 Hz mono 8-bit PCM, want 8000 Hz mono 16-bit PCM"},
		{"empty.wav", ErrFormat, "empty.wav: no samples"},
		{"trunc.wav", wav.ErrTruncated, "trunc.wav"},
		{"song.mp3", wav.ErrNotWAV, "song.mp3"},
		{"missing.wav", os.ErrNotExist, "missing.wav"},
	}
	for _, tt := range tests {
		_, err := OpenWAV(p(tt.in), "", &virtualClock{now: t0})
		if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %v mentioning %q", tt.in, err, tt.err, tt.want)
		}
	}
	if _, err := OpenWAV("", filepath.Join(dir, "no", "such", "dir.wav"), &virtualClock{now: t0}); err == nil {
		t.Error("speaker in a missing directory opened")
	}
}

func TestWAVNoAllocsPerFrame(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "mic.wav")
	writeWAV(t, in, wav.Telephone, make([]int16, 1000))
	d, err := OpenWAV(in, filepath.Join(dir, "spk.wav"), &virtualClock{now: t0, sleeps: make([]time.Time, 0, 1000)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	frame := make([]int16, 160)
	d.Write(frame) // grow the writer's buffer once
	if a := testing.AllocsPerRun(100, func() {
		d.Read(frame)
		d.Write(frame)
	}); a != 0 {
		t.Fatalf("%v allocs per frame", a)
	}
}
