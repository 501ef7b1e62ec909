package pulse

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/audio/tone"
)

// blocks cuts samples into 20 ms frames and marks each on (tone) or off.
func blocks(s []int16) []bool {
	var on []bool
	for i := 0; i+audio.FrameSamples <= len(s); i += audio.FrameSamples {
		b := s[i : i+audio.FrameSamples]
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

// TestTonesThroughPulse plays every tone of the US plan, and the cadences
// of the other countries that differ in shape, through the device into a
// null sink and checks from the sink's monitor, recorded by a separate
// client, that each has its frequencies and its cadence.
func TestTonesThroughPulse(t *testing.T) {
	type toneCase struct {
		country string
		name    tone.Name
		frames  int
	}
	var cases []toneCase
	for _, n := range []tone.Name{tone.Dial, tone.Ringback, tone.Busy, tone.Congestion, tone.CallWaiting,
		tone.StutterDial, tone.OffHookWarning, tone.Confirm, tone.Ring} {
		cases = append(cases, toneCase{"us", n, 130})
	}
	cases = append(cases, toneCase{"uk", tone.Ringback, 160}, toneCase{"it", tone.Dial, 130},
		toneCase{"au", tone.CallWaiting, 60}, toneCase{"de", tone.Busy, 100}, toneCase{"fr", tone.Ringback, 130},
		toneCase{"jp", tone.Ringback, 130}, toneCase{"cn", tone.Congestion, 130}, toneCase{"nl", tone.CallWaiting, 60})
	sinks := make([]string, len(cases))
	for i := range cases {
		sinks[i] = fmt.Sprintf("t%d", i)
	}
	srv := pulsetestStart(t, sinks...)
	// The cases run six at a time, each on its own sink, whatever
	// -parallel says: they wait on audio, not on the CPU. Clients connect
	// one at a time: the library sets its event callback after subscribing,
	// so another client's new stream during a connect is a data race in
	// the library (harmless, but the race detector rightly reports it).
	var wg sync.WaitGroup
	var connecting sync.Mutex
	slots := make(chan struct{}, 6)
	defer wg.Wait()
	for i, tc := range cases {
		wg.Add(1)
		go t.Run(tc.country+"-"+string(tc.name), func(t *testing.T) {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			tn := tone.Plans[tc.country][tc.name]
			var d *Device
			var rec *pulsetest.Recorder
			func() {
				connecting.Lock()
				defer connecting.Unlock()
				t0 := time.Now()
				d = openDevice(t, srv, Config{Paths: map[string]Path{"handset": {Sink: sinks[i], Source: sinks[i] + ".monitor"}}})
				rec = srv.Record(t, sinks[i]+".monitor")
				t.Logf("open took %v", time.Since(t0))
			}()
			g := tone.NewGenerator(tn)
			in, out := make([]int16, 160), make([]int16, 160)
			for k := 0; k < tc.frames+10; k++ {
				if err := d.Read(in); err != nil {
					t.Fatal(err)
				}
				clear(out)
				if k < tc.frames {
					g.Fill(out)
				}
				d.Write(out)
			}
			got := rec.Samples()
			// The reference: the same tone rendered offline, same length.
			ref := make([]int16, tc.frames*160)
			tone.NewGenerator(tn).Fill(ref)
			gotRuns, wantRuns := runs(blocks(got)), runs(blocks(ref))
			if len(gotRuns) < len(wantRuns) {
				t.Fatalf("cadence %v, want %v", gotRuns, wantRuns)
			}
			// All but the last run (cut short by the end of playing) match
			// within a frame: resampling to the sink's rate and back
			// smears each edge by a few samples.
			for j := 0; j < len(wantRuns)-1; j++ {
				if diff := gotRuns[j] - wantRuns[j]; diff < -1 || diff > 1 {
					t.Fatalf("cadence %v, want %v (run %d)", gotRuns, wantRuns, j)
				}
			}
			// Frequencies: in every segment long enough to resolve them,
			// its frequencies carry the energy.
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
			st := d.Status()
			t.Logf("cadence %v (want %v); %+v", gotRuns, wantRuns, st)
		})
	}
}
