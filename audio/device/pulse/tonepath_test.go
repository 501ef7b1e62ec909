package pulse

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/ringer"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

// The unit tier's proof of tones on the device path, with no server and no
// real time: frames from the tone generator go through Write into the
// playback FIFO and come out of the callback Pulse would call, in the
// uneven chunks Pulse asks for. What comes out must be the generator's
// samples exactly, so its cadence is sample-exact: silent segments are
// zeros at exactly their sample positions, tone segments carry their
// frequencies. TestTonesThroughPulse then shows, natively, that a real
// server carries them.

// playThrough renders n samples of tn through the device's playback path,
// pulled in chunks of random size (seeded, so a failure replays).
func playThrough(t *testing.T, tn tone.Tone, n int, seed uint64) []int16 {
	t.Helper()
	d := bare(clock.NewFake(time.Unix(1000, 0)))
	g := tone.NewGenerator(tn)
	rng := rand.New(rand.NewPCG(seed, 1))
	frame := make([]int16, audio.FrameSamples)
	out := make([]int16, 0, n)
	written := 0
	for len(out) < n {
		// Keep the FIFO fed the way the media loop does: a whole frame
		// whenever one fits.
		for written < n && d.playback.Len()+len(frame) <= playbackCap {
			g.Fill(frame)
			if err := d.Write(frame); err != nil {
				t.Fatal(err)
			}
			written += len(frame)
		}
		queued := d.playback.Len()
		if written < n && queued < primeLevel {
			t.Fatalf("FIFO holds %d samples, below the prime level", queued)
		}
		chunk := make([]int16, 1+rng.IntN(min(queued, n-len(out))))
		d.fillPlayback("handset", chunk)
		out = append(out, chunk...)
	}
	if d.underruns != 0 {
		t.Fatalf("%d underruns on a fed FIFO", d.underruns)
	}
	return out
}

// render is the generator's own output, n samples.
func render(tn tone.Tone, n int) []int16 {
	s := make([]int16, n)
	g := tone.NewGenerator(tn)
	for i := 0; i < n; i += audio.FrameSamples {
		g.Fill(s[i:min(i+audio.FrameSamples, n)])
	}
	return s
}

// span is one segment's place in a rendering: samples [from, to).
type span struct {
	from, to int
	seg      tone.Segment
}

// schedule lays tn's segments over n samples: the cadence repeats from
// the start unless a continuous segment (duration 0) ends it.
func schedule(tn tone.Tone, n int) []span {
	var spans []span
	pos := 0
	for pos < n {
		for _, seg := range tn.Segments {
			length := int(seg.Duration.Seconds()*audio.SampleRate + 0.5)
			if seg.Duration == 0 {
				length = n - pos
			}
			spans = append(spans, span{pos, min(pos+length, n), seg})
			pos += length
			if pos >= n {
				break
			}
		}
	}
	return spans
}

// checkCadence checks s against tn's schedule sample by sample.
func checkCadence(t *testing.T, what string, tn tone.Tone, s []int16) {
	t.Helper()
	for _, sp := range schedule(tn, len(s)) {
		seg := s[sp.from:sp.to]
		if len(sp.seg.Freqs) == 0 {
			for i, v := range seg {
				if v != 0 {
					t.Fatalf("%s: sample %d is %d inside the silence [%d, %d)", what, sp.from+i, v, sp.from, sp.to)
				}
			}
			continue
		}
		// A tone starts and stops on its segment's edges, give or take a
		// zero crossing of its sine.
		first := slices.IndexFunc(seg, func(v int16) bool { return v != 0 })
		last := len(seg) - 1
		for last >= 0 && seg[last] == 0 {
			last--
		}
		if first < 0 || first > 2 || (sp.to < len(s) && last < len(seg)-3) {
			t.Fatalf("%s: tone %v in [%d, %d) sounds from %d to %d", what, sp.seg.Freqs, sp.from, sp.to, sp.from+first, sp.from+last)
		}
		for i := 8; i+80 <= len(seg)-8; i += 80 { // every whole 10 ms inside
			if e := detect.Energy(seg[i : i+80]); e < 80*300*300 {
				t.Fatalf("%s: tone %v silent at sample %d", what, sp.seg.Freqs, sp.from+i)
			}
		}
		if len(seg) >= 320 {
			var share float64
			for _, f := range sp.seg.Freqs {
				share += detect.Fraction(seg, f, audio.SampleRate)
			}
			if share < 0.9 {
				t.Fatalf("%s: [%d, %d): %.2f of the energy at %v", what, sp.from, sp.to, share, sp.seg.Freqs)
			}
		}
	}
}

// cycle is how many samples to render of tn: two whole cadences (at least
// a second), or a second of a continuous tone.
func cycle(tn tone.Tone) int {
	var d time.Duration
	for _, seg := range tn.Segments {
		if seg.Duration == 0 {
			return audio.SampleRate
		}
		d += seg.Duration
	}
	return max(2*int(d.Seconds()*audio.SampleRate), audio.SampleRate)
}

// TestEveryToneThroughThePlaybackPath: every tone of every built-in plan
// comes out of the playback callback sample-exact, with its cadence.
func TestEveryToneThroughThePlaybackPath(t *testing.T) {
	var seed uint64
	for _, country := range tone.Countries() {
		for name, tn := range tone.Plans[country] {
			seed++
			n := cycle(tn)
			got := playThrough(t, tn, n, seed)
			if want := render(tn, n); !slices.Equal(got, want) {
				i := 0
				for i < n && got[i] == want[i] {
					i++
				}
				t.Fatalf("%s %s: sample %d is %d, the generator made %d (seed %d)", country, name, i, got[i], want[i], seed)
			}
			checkCadence(t, country+" "+string(name), tn, got)
		}
	}
}

// TestRingerCadenceThroughTheRingerPath: the ringer stream's callback, in
// uneven chunks, gives each distinctive cadence sample-exact.
func TestRingerCadenceThroughTheRingerPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, alert := range []string{"", "<http://pbx>;info=Bellcore-dr2", "<http://pbx>;info=Bellcore-dr3", "<http://pbx>;info=Bellcore-dr4"} {
		r := ringer.New(tone.US, 100, testLog)
		d := bare(clock.NewFake(time.Unix(1000, 0)))
		d.cfg.Ringer = r
		r.SetRinger(true, alert)
		_, name := r.Ringing()
		tn := tone.US[name]
		n := cycle(tn)
		got := make([]int16, 0, n)
		for len(got) < n {
			chunk := make([]int16, 1+rng.IntN(min(1000, n-len(got))))
			d.fillRinger(chunk)
			got = append(got, chunk...)
		}
		if want := render(tn, n); !slices.Equal(got, want) {
			t.Fatalf("ring %q (%s) differs from the generator", alert, name)
		}
		checkCadence(t, "ring "+string(name), tn, got)
	}
}
