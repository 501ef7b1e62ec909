package dtmf

import (
	"errors"
	"testing"
)

// run drives s for n frames of 160 samples from timestamp ts and returns
// the packets, stopping early once the sender is idle.
func run(s *Sender, ts uint32, n int) ([]Packet, uint32) {
	var out []Packet
	for i := 0; i < n; i++ {
		p, ok := s.Next(ts, 160)
		ts += 160
		if !ok {
			break
		}
		out = append(out, p)
	}
	return out, ts
}

func TestSenderQuickPress(t *testing.T) {
	var s Sender
	if _, ok := s.Next(1000, 160); ok || s.Active() {
		t.Fatal("idle sender yields a packet")
	}
	if err := s.Start(1, 800); err != nil {
		t.Fatal(err)
	}
	s.Stop() // released before its first frame: it still lasts 100 ms
	ps, _ := run(&s, 5000, 100)
	// 160..800 in five updates, the fifth is the first end; two more ends.
	want := []Packet{
		{Timestamp: 5000, Marker: true, Event: Event{Code: 1, Volume: 10, Duration: 160}},
		{Timestamp: 5000, Event: Event{Code: 1, Volume: 10, Duration: 320}},
		{Timestamp: 5000, Event: Event{Code: 1, Volume: 10, Duration: 480}},
		{Timestamp: 5000, Event: Event{Code: 1, Volume: 10, Duration: 640}},
		{Timestamp: 5000, Event: Event{Code: 1, End: true, Volume: 10, Duration: 800}},
		{Timestamp: 5000, Event: Event{Code: 1, End: true, Volume: 10, Duration: 800}},
		{Timestamp: 5000, Event: Event{Code: 1, End: true, Volume: 10, Duration: 800}, Last: true},
	}
	if len(ps) != len(want) {
		t.Fatalf("%d packets, want %d: %+v", len(ps), len(want), ps)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Fatalf("packet %d: %+v, want %+v", i, ps[i], want[i])
		}
	}
	if s.Active() {
		t.Fatal("still active after the last end packet")
	}
}

func TestSenderHeld(t *testing.T) {
	s := Sender{Volume: 20}
	s.Start(11, 800)
	ps, ts := run(&s, 0xFFFFFF00, 20) // across the timestamp wrap
	if len(ps) != 20 {
		t.Fatalf("%d packets while held", len(ps))
	}
	for i, p := range ps {
		if p.Timestamp != 0xFFFFFF00 || p.Marker != (i == 0) || p.Event.End || p.Event.Duration != uint16(160*(i+1)) || p.Event.Volume != 20 {
			t.Fatalf("packet %d: %+v", i, p)
		}
	}
	s.Stop()
	ps, _ = run(&s, ts, 10)
	if len(ps) != 3 {
		t.Fatalf("%d packets after release, want 3 ends", len(ps))
	}
	for i, p := range ps {
		if !p.Event.End || p.Event.Duration != 160*21 || p.Marker || p.Last != (i == 2) {
			t.Fatalf("end %d: %+v", i, p)
		}
	}
}

func TestSenderLongEventSegments(t *testing.T) {
	var s Sender
	s.Start(5, 0)
	const frames = 900 // 144000 units: three segments
	ps, ts := run(&s, 100, frames)
	if len(ps) != frames {
		t.Fatalf("%d packets", len(ps))
	}
	segs := map[uint32]uint16{}
	for i, p := range ps {
		if p.Marker != (i == 0) || p.Event.End {
			t.Fatalf("packet %d: %+v", i, p)
		}
		segs[p.Timestamp] = max(segs[p.Timestamp], p.Event.Duration)
	}
	// §2.5.1.3: segments at 100, 100+65535, 100+2*65535; the first two
	// end at exactly 0xFFFF.
	if len(segs) != 3 || segs[100] != 0xFFFF || segs[100+MaxDuration] != 0xFFFF || segs[100+2*MaxDuration] != frames*160-2*MaxDuration {
		t.Fatalf("segments %v", segs)
	}
	s.Stop()
	ps, _ = run(&s, ts, 10)
	if len(ps) != 3 || ps[0].Timestamp != 100+2*MaxDuration || ps[2].Event.Duration != (frames+1)*160-2*MaxDuration {
		t.Fatalf("ends %+v", ps)
	}
}

func TestSenderNextKeyQueued(t *testing.T) {
	var s Sender
	s.Start(1, 800)
	ps, ts := run(&s, 0, 2)
	if err := s.Start(2, 800); err != nil { // '1' is released by this press
		t.Fatal(err)
	}
	s.Stop() // releases '2'
	more, _ := run(&s, ts, 100)
	ps = append(ps, more...)
	var codes []uint8
	var ends, markers int
	for _, p := range ps {
		if p.Marker {
			markers++
			codes = append(codes, p.Event.Code)
		}
		if p.Event.End {
			ends++
		}
	}
	if markers != 2 || codes[0] != 1 || codes[1] != 2 || ends != 6 || len(ps) != 5+2+5+2 {
		t.Fatalf("codes %v, %d markers, %d ends, %d packets", codes, markers, ends, len(ps))
	}
	if ps[7].Timestamp != 7*160 {
		t.Fatalf("second event timestamp %d, want the frame it began", ps[7].Timestamp)
	}
	if err := s.Start(16, 0); !errors.Is(err, ErrDigit) {
		t.Fatalf("Start(16): %v", err)
	}
}

func TestSenderNoAllocs(t *testing.T) {
	var s Sender
	ts := uint32(0)
	i := 0
	if a := testing.AllocsPerRun(200, func() {
		if i%10 == 0 {
			s.Start(uint8(i/10%16), 800)
		}
		if i%10 == 3 {
			s.Stop()
		}
		s.Next(ts, 160)
		ts += 160
		i++
	}); a != 0 {
		t.Fatalf("%v allocs per frame", a)
	}
}

// A burst of presses (the local API, a fast finger) is sent in order, one
// event after the other; only more than MaxQueued waiting is refused.
func TestSenderBurstQueued(t *testing.T) {
	var s Sender
	for i := 0; i < MaxQueued; i++ {
		if err := s.Start(uint8(i%16), 800); err != nil {
			t.Fatalf("press %d: %v", i, err)
		}
		s.Stop()
	}
	if err := s.Start(1, 800); !errors.Is(err, ErrBusy) {
		t.Fatalf("press %d: %v, want ErrBusy", MaxQueued+1, err)
	}
	ps, _ := run(&s, 0, 20*MaxQueued)
	var codes []uint8
	for _, p := range ps {
		if p.Marker {
			codes = append(codes, p.Event.Code)
		}
	}
	if len(codes) != MaxQueued {
		t.Fatalf("%d events sent, want %d", len(codes), MaxQueued)
	}
	for i, c := range codes {
		if c != uint8(i%16) {
			t.Fatalf("events out of order: %v", codes)
		}
	}
	if s.Active() {
		t.Fatal("still active after the burst")
	}
}
