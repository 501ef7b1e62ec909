package dtmf

import (
	"errors"
	"testing"
)

func TestEventRoundTrip(t *testing.T) {
	for _, e := range []Event{
		{},
		{Code: 1, Volume: 10, Duration: 160},
		{Code: 11, End: true, Volume: 63, Duration: 0xFFFF},
		{Code: 255, End: true, Duration: 1},
	} {
		var b [PayloadSize]byte
		if n, err := e.MarshalTo(b[:]); n != PayloadSize || err != nil {
			t.Fatalf("%+v: %d %v", e, n, err)
		}
		got, err := Unmarshal(b[:])
		if err != nil || got != e {
			t.Fatalf("round trip %+v -> % x -> %+v %v", e, b, got, err)
		}
	}
}

func TestEventWire(t *testing.T) {
	// RFC 4733 §2.3: '#' (11), end, reserved bit clear, -10 dBm0, 800.
	var b [4]byte
	Event{Code: 11, End: true, Volume: 10, Duration: 800}.MarshalTo(b[:])
	if want := [4]byte{11, 0x8A, 0x03, 0x20}; b != want {
		t.Fatalf("% x, want % x", b, want)
	}
	// The R bit is ignored on receipt (§2.3.3).
	e, err := Unmarshal([]byte{5, 0x40 | 7, 0, 160})
	if err != nil || e != (Event{Code: 5, Volume: 7, Duration: 160}) {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := Unmarshal([]byte{1, 2, 3}); !errors.Is(err, ErrShort) {
		t.Fatalf("short payload: %v", err)
	}
	if _, err := (Event{}).MarshalTo(make([]byte, 3)); !errors.Is(err, ErrShort) {
		t.Fatalf("short buffer: %v", err)
	}
}

func TestCodes(t *testing.T) {
	for i, k := range []byte("0123456789*#ABCD") {
		c, err := Code(k)
		if err != nil || c != uint8(i) {
			t.Fatalf("Code(%q) = %d %v", k, c, err)
		}
		if got, ok := Key(uint8(i)); !ok || got != k {
			t.Fatalf("Key(%d) = %q", i, got)
		}
	}
	if c, err := Code('b'); err != nil || c != 13 {
		t.Fatalf("Code('b') = %d %v", c, err)
	}
	for _, k := range []byte("eE+ \x00") {
		if _, err := Code(k); !errors.Is(err, ErrDigit) {
			t.Fatalf("Code(%q): %v", k, err)
		}
	}
	if _, ok := Key(16); ok {
		t.Fatal("Key(16) (flash) is not a digit")
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte{1, 0x8A, 0x03, 0x20})
	f.Add([]byte{})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Unmarshal(b)
		if err != nil {
			if len(b) >= PayloadSize {
				t.Fatalf("%d bytes rejected: %v", len(b), err)
			}
			return
		}
		var out [PayloadSize]byte
		e.MarshalTo(out[:])
		// Everything but the R bit survives a round trip.
		if out[0] != b[0] || out[1] != b[1]&^0x40 || out[2] != b[2] || out[3] != b[3] {
			t.Fatalf("% x -> %+v -> % x", b[:4], e, out)
		}
		var r Receiver
		r.Feed(nil, 0, b, epoch)
	})
}
