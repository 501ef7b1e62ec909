package jitter

import (
	"testing"
)

// pkt returns n samples all equal to v.
func pkt(v int16, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// get pulls one 160-sample frame and returns its first and last sample.
func get(b *Fixed) (first, last int16, ok bool) {
	f := make([]int16, 160)
	ok = b.Get(f)
	return f[0], f[159], ok
}

func TestFixedPrefillAndOrder(t *testing.T) {
	b := NewFixed(320)
	if _, _, ok := get(b); ok {
		t.Fatal("audio before any packet")
	}
	const ts0 = 1000
	// Packets 1, 3, 2 (reordered), then 2 again (duplicate).
	verdicts := []Verdict{
		b.Put(ts0, pkt(1, 160)),
		b.Put(ts0+320, pkt(3, 160)),
		b.Put(ts0+160, pkt(2, 160)),
		b.Put(ts0+160, pkt(2, 160)),
	}
	want := []Verdict{Accepted, Accepted, Accepted, Duplicate}
	for i := range want {
		if verdicts[i] != want[i] {
			t.Fatalf("verdicts %v, want %v", verdicts, want)
		}
	}
	// Two frames of prefill silence, then 1, 2, 3, then silence for the
	// missing packet 4.
	for i, w := range []int16{0, 0, 1, 2, 3, 0} {
		f, l, ok := get(b)
		if f != w || l != w || ok != (w != 0) {
			t.Fatalf("frame %d: %d..%d ok=%v, want %d", i, f, l, ok, w)
		}
	}
	// Packet 4 arrives after its time: late.
	if v := b.Put(ts0+480, pkt(4, 160)); v != Late {
		t.Fatalf("late packet: %v", v)
	}
	if v := b.Put(ts0+640, pkt(5, 160)); v != Accepted {
		t.Fatalf("packet 5: %v", v)
	}
	if f, _, _ := get(b); f != 5 {
		t.Fatalf("after late packet, got %d want 5", f)
	}
}

func TestFixedPacketSizesAndPartialLate(t *testing.T) {
	b := NewFixed(160)
	// 10 ms and 30 ms packets land by timestamp.
	b.Put(0, pkt(1, 80))
	b.Put(80, pkt(2, 80))
	b.Put(160, pkt(3, 240))
	f := make([]int16, 160)
	b.Get(f) // prefill
	b.Get(f)
	if f[0] != 1 || f[79] != 1 || f[80] != 2 || f[159] != 2 {
		t.Fatalf("10 ms packets: %v", f)
	}
	b.Get(f)
	if f[0] != 3 || f[159] != 3 {
		t.Fatalf("30 ms packet: %d..%d", f[0], f[159])
	}
	b.Get(f)
	if f[0] != 3 || f[79] != 3 || f[80] != 0 {
		t.Fatalf("rest of the 30 ms packet: %d %d %d", f[0], f[79], f[80])
	}
	// Playout is at 480; a packet starting at 400 keeps its last 80 samples.
	if v := b.Put(400, pkt(4, 160)); v != Accepted {
		t.Fatalf("partly late: %v", v)
	}
	b.Get(f)
	if f[0] != 4 || f[79] != 4 || f[80] != 0 {
		t.Fatalf("partly late: %d %d %d", f[0], f[79], f[80])
	}
}

func TestFixedTimestampWrap(t *testing.T) {
	b := NewFixed(320)
	ts := uint32(0xFFFFFFFF - 200)
	for i := 0; i < 5; i++ {
		if v := b.Put(ts, pkt(int16(i+1), 160)); v != Accepted {
			t.Fatalf("packet %d: %v", i, v)
		}
		ts += 160
	}
	get(b)
	get(b)
	for i := 1; i <= 5; i++ {
		if f, l, _ := get(b); f != int16(i) || l != int16(i) {
			t.Fatalf("frame %d across the wrap: %d..%d", i, f, l)
		}
	}
}

func TestFixedResync(t *testing.T) {
	b := NewFixed(320)
	b.Put(5000, pkt(1, 160))
	get(b)
	// A jump far ahead restarts playout on the new timeline.
	if v := b.Put(5000+100000, pkt(7, 160)); v != Resync {
		t.Fatalf("jump ahead: %v", v)
	}
	get(b)
	get(b)
	if f, _, _ := get(b); f != 7 {
		t.Fatalf("after resync got %d, want 7", f)
	}
	// A jump back: late a few times, then resync.
	var v Verdict
	n := 0
	for v = Late; v == Late; n++ {
		v = b.Put(uint32(n*160), pkt(9, 160))
	}
	if v != Resync || n != maxLateRun+1 {
		t.Fatalf("jump back: %v after %d packets", v, n)
	}
}

func TestFixedInvalid(t *testing.T) {
	b := NewFixed(320)
	if v := b.Put(0, nil); v != Invalid {
		t.Fatal(v)
	}
	if v := b.Put(0, make([]int16, ringSize)); v != Invalid {
		t.Fatal(v)
	}
	if b.Delay() != 320 || NewFixed(1<<20).Delay() != ringSize/2 || NewFixed(-1).Delay() != 0 {
		t.Fatal("delay bounds")
	}
	for v := Accepted; v <= Invalid+1; v++ {
		if v.String() == "" {
			t.Fatal("empty verdict name")
		}
	}
}

func TestFixedNoAllocs(t *testing.T) {
	b := NewFixed(320)
	p := pkt(1, 160)
	f := make([]int16, 160)
	ts := uint32(0)
	if a := testing.AllocsPerRun(100, func() {
		b.Put(ts, p)
		b.Get(f)
		ts += 160
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
