package pulse

import (
	"fmt"
	"sync"
	"testing"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/scripts/tier"
)

// blocks cuts samples into 20 ms frames and marks each on (tone) or off.
func blocks(s []int16) []bool { return blocksOf(s, audio.FrameSamples) }

// blocksOf cuts samples into blocks of n and marks each on (tone) or off.
func blocksOf(s []int16, n int) []bool {
	var on []bool
	for i := 0; i+n <= len(s); i += n {
		b := s[i : i+n]
		on = append(on, detect.Energy(b) > float64(len(b))*300*300) // RMS 300: -37 dBm0
	}
	return on
}

// runs returns the run lengths of on, starting at the first on block.
func runs(on []bool) []int {
	var r []int
	started := false
	for i, b := range on {
		if !started && !b {
			continue
		}
		if !started || b != on[i-1] {
			r = append(r, 0)
			started = true
		}
		r[len(r)-1]++
	}
	return r
}

// TestTonesThroughPulse shows that a real server carries the tones: each
// case plays a tone through the device into a null sink, and a separate
// client records the sink's monitor. The sample-exact checks of every tone
// of every plan are TestEveryToneThroughThePlaybackPath's; this test takes
// one tone of each cadence shape (continuous, even, double ring, short
// beeps, fast) and checks, at 20 ms resolution, its on/off runs within a
// frame and its frequencies.
//
// Native only: the media loop is paced by the server in real time, and
// under qemu-user's emulation the loop cannot keep a 30 ms playback cushion
// fed, so the server plays gaps that are the emulator's, not the path's.
// Natively, a CPU starved by a loaded machine shows the same way, and the
// device says so: a try whose device counted underruns or overruns proves
// nothing about the path and is tried again (three tries at most).
func TestTonesThroughPulse(t *testing.T) {
	tier.NativeOnly(t, "tone cadence through a real-time sound server")
	type toneCase struct {
		country string
		name    tone.Name
		frames  int
	}
	cases := []toneCase{{"us", tone.Dial, 60}, {"us", tone.Busy, 130}, {"uk", tone.Ringback, 160},
		{"us", tone.CallWaiting, 60}, {"cn", tone.Congestion, 100}}
	sinks := make([]string, len(cases))
	for i := range cases {
		sinks[i] = fmt.Sprintf("t%d", i)
	}
	srv := pulsetestStart(t, sinks...)
	// Clients connect one at a time: the library sets its event callback
	// after subscribing, so another client's new stream during a connect
	// is a data race in the library (harmless, but the race detector
	// rightly reports it). The cases run two at a time, each on its own
	// sink.
	var wg sync.WaitGroup
	var connecting sync.Mutex
	slots := make(chan struct{}, 2)
	defer wg.Wait()
	for i, tc := range cases {
		wg.Add(1)
		go t.Run(tc.country+"-"+string(tc.name), func(t *testing.T) {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			tn := tone.Plans[tc.country][tc.name]
			const tries = 3
			for try := 1; ; try++ {
				got, st := playRecorded(t, srv, &connecting, sinks[i], tn, tc.frames)
				if st.Underruns != 0 || st.Overruns != 0 {
					if try == tries {
						t.Fatalf("the device was starved in all %d tries (last: %d underruns, %d overruns): the machine is too loaded to show the path", tries, st.Underruns, st.Overruns)
					}
					t.Logf("try %d: %d underruns, %d overruns: starved CPU, trying again", try, st.Underruns, st.Overruns)
					continue
				}
				checkRecordedTone(t, tn, tc.frames, got)
				return
			}
		})
	}
}

// playRecorded plays frames of tn through a device on sink while a second
// client records the sink's monitor; it returns the recording and the
// device's status after playing.
func playRecorded(t *testing.T, srv *pulsetest.Server, connecting *sync.Mutex, sink string, tn tone.Tone, frames int) ([]int16, device.Status) {
	t.Helper()
	var d *Device
	var rec *pulsetest.Recorder
	func() {
		connecting.Lock()
		defer connecting.Unlock()
		d = openActive(t, srv, Config{Paths: map[string]Path{"handset": {Sink: sink, Source: sink + ".monitor"}}})
		rec = srv.Record(t, sink+".monitor")
	}()
	defer d.Close()
	g := tone.NewGenerator(tn)
	in, out := make([]int16, 160), make([]int16, 160)
	// The first frames prime the streams; counters start after them.
	var st0 device.Status
	for k := 0; k < frames+10; k++ {
		if err := d.Read(in); err != nil {
			t.Fatal(err)
		}
		if k == 5 {
			st0 = d.Status()
		}
		clear(out)
		if k >= 5 && k < frames+5 {
			g.Fill(out)
		}
		d.Write(out)
	}
	st := d.Status()
	st.Underruns -= st0.Underruns
	st.Overruns -= st0.Overruns
	return rec.Samples(), st
}

// checkRecordedTone checks a recording of frames of tn: its on/off runs,
// in 2 ms blocks, match the offline rendering within 4 ms (resampling to
// the sink's rate and back smears each edge by a few samples, and the
// recording's block grid falls anywhere on the tone's), and its
// frequencies carry the energy of every segment long enough to resolve
// them.
func checkRecordedTone(t *testing.T, tn tone.Tone, frames int, got []int16) {
	t.Helper()
	ref := make([]int16, frames*160)
	tone.NewGenerator(tn).Fill(ref)
	const block = 16 // 2 ms
	gotRuns, wantRuns := runs(blocksOf(got, block)), runs(blocksOf(ref, block))
	if len(gotRuns) < len(wantRuns) {
		t.Fatalf("cadence %v, want %v (2 ms blocks)", gotRuns, wantRuns)
	}
	// All but the last run (cut short by the end of playing) match.
	for j := 0; j < len(wantRuns)-1; j++ {
		if diff := gotRuns[j] - wantRuns[j]; diff < -2 || diff > 2 {
			t.Fatalf("cadence %v, want %v (2 ms blocks; run %d)", gotRuns, wantRuns, j)
		}
	}
	start := 0
	for start < len(got) && detect.Energy(got[start:start+1]) == 0 {
		start++
	}
	pos := start
	for _, seg := range tn.Segments {
		n := int(seg.Duration.Seconds() * audio.SampleRate)
		if n == 0 {
			n = len(ref)
		}
		lo, hi := pos+n/8, min(pos+n-n/8, start+len(ref), len(got))
		pos += n
		if len(seg.Freqs) == 0 || hi-lo < 640 {
			continue
		}
		w := got[lo:hi]
		var share float64
		for _, f := range seg.Freqs {
			share += detect.Fraction(w, f, audio.SampleRate)
		}
		if share < 0.8 {
			t.Errorf("segment %v at sample %d: %.2f of the energy at its frequencies", seg.Freqs, lo-start, share)
		}
		if pos >= start+len(ref) {
			break
		}
	}
	t.Logf("cadence %v (want %v)", gotRuns, wantRuns)
}
