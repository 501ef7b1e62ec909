package ringer

import (
	"testing"

	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/tone"
)

func TestPattern(t *testing.T) {
	plan, err := tone.US.With(map[string]string{"ring-vip": "800/100,0/100"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]tone.Name{
		"":             tone.Ring,
		"Bellcore-dr2": "ring-dr2",
		"<http://www.notused.com>;info=Bellcore-dr3": "ring-dr3",
		"<Bellcore-dr4>":                          "ring-dr4",
		"bellcore-dr1":                            tone.Ring,
		"Bellcore-dr9":                            tone.Ring,
		"Bellcore-dr22":                           tone.Ring,
		"<urn:alert:source:internal>":             "ring-dr2",
		"<urn:alert:service:normal>":              tone.Ring,
		"<urn:alert:priority:high>":               "ring-dr3",
		"<urn:alert:service:forward>":             "ring-dr4",
		"<http://127.0.0.1>;info=alert-internal":  "ring-dr2",
		"<http://127.0.0.1>;info=alert-group":     "ring-dr4",
		"<http://x>;info=ring5":                   "ring-dr5",
		"<http://x>; info=Ring-3":                 "ring-dr3",
		"<http://x>;info=ring-vip":                "ring-vip",
		"<urn:alert:service:ring-vip>":            "ring-vip",
		"<http://x>;info=dial":                    tone.Ring, // not a ring tone
		"<http://x/a,b>, Bellcore-dr2":            "ring-dr2",
		"<http://www.example.com/sounds/moo.wav>": tone.Ring,
		"garbage <<<;;;==,,":                      tone.Ring,
	} {
		if got := Pattern(plan, in); got != want {
			t.Errorf("Pattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRingerCadenceAndVolume(t *testing.T) {
	r := New(tone.US, 50, nil)
	f := make([]int16, 160)
	f[0] = 7
	r.Fill(f)
	if detect.Energy(f) != 0 {
		t.Fatal("ringer off is not silent")
	}
	r.SetRinger(true, "Bellcore-dr2")
	if on, p := r.Ringing(); !on || p != "ring-dr2" {
		t.Fatalf("ringing %v %q", on, p)
	}
	// dr2 is 800 on, 400 off, 800 on, 4000 off: render 2 s.
	var on []bool
	peak := 0
	for i := 0; i < 100; i++ {
		r.Fill(f)
		on = append(on, detect.Energy(f) > 0)
		for _, s := range f {
			peak = max(peak, int(s), -int(s))
		}
		if i == 10 && !detect.Present(f, 800) {
			t.Fatal("no 800 Hz in the ring")
		}
	}
	want := func(i int) bool { return i < 40 || i >= 60 && i < 100 }
	for i := range on {
		if on[i] != want(i) {
			t.Fatalf("frame %d on=%v", i, on[i])
		}
	}
	// -4 dBm0 per tone, two tones, at 50 %: about 14300 peak.
	if peak < 13000 || peak > 15000 {
		t.Fatalf("peak %d at 50%%", peak)
	}
	r.SetRinger(false, "")
	r.Fill(f)
	if on, _ := r.Ringing(); on || detect.Energy(f) != 0 {
		t.Fatal("ringer did not stop")
	}
	if a := testing.AllocsPerRun(50, func() { r.Fill(f) }); a != 0 {
		t.Fatalf("%v allocs per Fill", a)
	}
}

type rec struct{ calls []string }

func (r *rec) SetRinger(on bool, p string) {
	if on {
		r.calls = append(r.calls, "on "+p)
	} else {
		r.calls = append(r.calls, "off")
	}
}

func TestTee(t *testing.T) {
	a, b := &rec{}, &rec{}
	s := Tee(a, b)
	s.SetRinger(true, "x")
	s.SetRinger(false, "")
	if len(a.calls) != 2 || len(b.calls) != 2 || b.calls[0] != "on x" {
		t.Fatalf("%v %v", a.calls, b.calls)
	}
}
