package tone

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/detect"
)

var wantCountries = []string{"au", "cn", "de", "fr", "it", "jp", "nl", "uk", "us"}

func TestBuiltInPlansComplete(t *testing.T) {
	if got := strings.Join(Countries(), ","); got != strings.Join(wantCountries, ",") {
		t.Fatalf("countries %s, want %s", got, strings.Join(wantCountries, ","))
	}
	for _, c := range wantCountries {
		p, err := Country(strings.ToUpper(c))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range Names {
			if _, ok := p[n]; !ok {
				t.Errorf("%s: no %s tone", c, n)
			}
		}
	}
	if _, err := Country("xx"); !errors.Is(err, ErrUnknownCountry) || !strings.Contains(err.Error(), "au, cn") {
		t.Fatalf("unknown country: %v", err)
	}
	// Country returns a copy: changing it leaves the built-in plan alone.
	p, _ := Country("us")
	delete(p, Dial)
	if _, ok := US[Dial]; !ok {
		t.Fatal("Country shared the built-in map")
	}
}

// TestBuiltInPlansRender renders every segment of every built-in tone and
// checks by Goertzel that its frequencies carry the energy and that its
// pauses are silent.
func TestBuiltInPlansRender(t *testing.T) {
	for _, c := range wantCountries {
		for name, tn := range Plans[c] {
			g := NewGenerator(tn)
			for i, s := range tn.Segments {
				n := int(s.Duration / (time.Second / 8000))
				if n == 0 {
					n = 8000 // continuous: look at a second of it
				}
				buf := make([]int16, n)
				g.Fill(buf)
				if len(s.Freqs) == 0 {
					if detect.Energy(buf) != 0 {
						t.Errorf("%s %s segment %d: pause not silent", c, name, i+1)
					}
					continue
				}
				if n < 640 {
					continue // too short to resolve close pairs such as 400+416 Hz
				}
				w := buf[n/8 : n-n/8]
				var share float64
				for _, f := range s.Freqs {
					share += detect.Fraction(w, f, 8000)
				}
				if share < 0.9 {
					t.Errorf("%s %s segment %d (%v): %.2f of the energy at its frequencies", c, name, i+1, s.Freqs, share)
				}
			}
		}
	}
}

func TestPlanWith(t *testing.T) {
	p, err := US.With(map[string]string{"dial": "425/0", "ring-vip": "800/100,0/100"})
	if err != nil {
		t.Fatal(err)
	}
	if p[Dial].String() != "425/0" || p["ring-vip"].String() != "800/100,0/100" || p[Busy].String() != US[Busy].String() {
		t.Fatalf("With: %v %v %v", p[Dial], p["ring-vip"], p[Busy])
	}
	if US[Dial].String() != "350+440/0" {
		t.Fatal("With changed the built-in plan")
	}
	_, err = US.With(map[string]string{"busy": "480+620/500,0/500", "dial": "350+x/0"})
	if !errors.Is(err, ErrSyntax) || !strings.HasPrefix(err.Error(), `tone "dial": `) {
		t.Fatalf("bad tone: %v", err)
	}
	_, err = US.With(map[string]string{"Dial Tone": "425/0"})
	if !errors.Is(err, ErrBadName) {
		t.Fatalf("bad name: %v", err)
	}
	if p, err := Plan(nil).With(map[string]string{"dial": "425/0"}); err != nil || len(p) != 1 {
		t.Fatalf("nil plan: %v %v", p, err)
	}
}

func TestParsePlansErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"us dial\n", "plans.txt:1: want COUNTRY NAME TONE, got 2 fields"},
		{"# c\n\nus Dial 425/0\n", `plans.txt:3: tone: bad tone name "Dial"`},
		{"us dial 425/0\nus dial 350/0\n", "plans.txt:2: us dial defined twice"},
		{"us dial 425/x # comment\n", "plans.txt:1: us dial: tone: syntax error"},
	} {
		_, err := parsePlans(tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("parsePlans(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
	p, err := parsePlans("* ring 800/0\nde ring 425/0\nde dial 425/0\nfr dial 440/0\n")
	if err != nil || p["de"][Ring].String() != "425/0" || p["fr"][Ring].String() != "800/0" {
		t.Fatalf("defaults: %v %v", p, err)
	}
}

func TestValidNameAndDistinctive(t *testing.T) {
	for s, ok := range map[string]bool{"dial": true, "ring-dr2": true, "": false, "2ring": false, "Ring": false, "a_b": false, strings.Repeat("a", 33): false} {
		if ValidName(s) != ok {
			t.Errorf("ValidName(%q) = %v", s, !ok)
		}
	}
	if DistinctiveRing(1) != Ring || DistinctiveRing(3) != "ring-dr3" {
		t.Fatal("DistinctiveRing")
	}
}
