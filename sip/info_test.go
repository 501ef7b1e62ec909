package sip

import (
	"testing"
	"time"
)

// The INFO fallback for DTMF (application/dtmf-relay) between two UAs.
func TestDTMFByInfo(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	id, inID := establish(t, a, b)
	for _, d := range []byte("5#") {
		if err := a.SendDTMFInfo(id, d, 120*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		got := next[DTMF](t, b)
		if got.ID != inID || got.Digit != d || got.Duration != 120*time.Millisecond {
			t.Fatalf("got %+v, want %c", got, d)
		}
	}
	if err := a.SendDTMFInfo(id, 'x', time.Millisecond); err == nil {
		t.Fatal("a bad digit was sent")
	}
	if err := a.SendDTMFInfo("nope", '1', time.Millisecond); err == nil {
		t.Fatal("DTMF on an unknown call was sent")
	}
}

func TestParseDTMFRelay(t *testing.T) {
	cases := []struct {
		body  string
		digit byte
		dur   time.Duration
		ok    bool
	}{
		{"Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, true},
		{"signal= *\nduration=100", '*', 100 * time.Millisecond, true},
		{"Signal=11\r\nDuration=250\r\n", '#', 250 * time.Millisecond, true},
		{"Signal=a\r\n", 'A', 0, true},
		{"Duration=160\r\n", 0, 0, false},
		{"Signal=55\r\n", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		d, dur, ok := parseDTMFRelay([]byte(c.body))
		if d != c.digit || dur != c.dur || ok != c.ok {
			t.Errorf("%q: %q %v %v, want %q %v %v", c.body, d, dur, ok, c.digit, c.dur, c.ok)
		}
	}
}

func FuzzParseDTMFRelay(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("Signal=10"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, _, ok := parseDTMFRelay(b); ok && !validDigit(d) {
			t.Fatalf("invalid digit %q accepted", d)
		}
	})
}
