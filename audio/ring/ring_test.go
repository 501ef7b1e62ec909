package ring

import (
	"math/rand/v2"
	"testing"
)

func seq(from, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(from + i)
	}
	return s
}

func TestFIFOAndWrap(t *testing.T) {
	b := New(10)
	if d := b.Write(seq(0, 7)); d != 0 || b.Len() != 7 {
		t.Fatalf("write 7: dropped %d len %d", d, b.Len())
	}
	p := make([]int16, 5)
	if n := b.Read(p); n != 5 || p[0] != 0 || p[4] != 4 {
		t.Fatalf("read %d %v", n, p)
	}
	// Head at 5, 2 held: this write wraps around the end.
	if d := b.Write(seq(7, 8)); d != 0 || b.Len() != 10 {
		t.Fatalf("wrap write: dropped %d len %d", d, b.Len())
	}
	out := make([]int16, 20)
	if n := b.Read(out); n != 10 {
		t.Fatalf("read %d", n)
	}
	for i := 0; i < 10; i++ {
		if out[i] != int16(5+i) {
			t.Fatalf("out[%d] = %d, want %d (%v)", i, out[i], 5+i, out[:10])
		}
	}
	if n := b.Read(out); n != 0 {
		t.Fatalf("read from empty: %d", n)
	}
}

func TestOverrunDropsOldest(t *testing.T) {
	b := New(8)
	b.Write(seq(0, 6))
	if d := b.Write(seq(6, 5)); d != 3 {
		t.Fatalf("dropped %d, want 3", d)
	}
	out := make([]int16, 8)
	b.Read(out)
	for i, s := range out {
		if s != int16(3+i) {
			t.Fatalf("after overrun %v, want 3..10", out)
		}
	}
	// A write longer than the buffer keeps its newest samples.
	if d := b.Write(seq(100, 12)); d != 4 || b.Len() != 8 {
		t.Fatalf("long write dropped %d len %d", d, b.Len())
	}
	b.Read(out)
	if out[0] != 104 || out[7] != 111 {
		t.Fatalf("long write kept %v", out)
	}
}

func TestDiscardAndReset(t *testing.T) {
	b := New(4)
	b.Write(seq(0, 3))
	if n := b.Discard(5); n != 3 || b.Len() != 0 {
		t.Fatalf("discard %d len %d", n, b.Len())
	}
	if n := b.Discard(-1); n != 0 {
		t.Fatal("negative discard")
	}
	b.Write(seq(0, 3))
	b.Reset()
	if b.Len() != 0 || b.Cap() != 4 {
		t.Fatal("reset")
	}
	if New(0).Cap() != 1 {
		t.Fatal("zero capacity")
	}
}

// TestAgainstModel drives the buffer with uneven writes and reads, as a
// sound server's callbacks and the 20 ms loop do, and checks every sample
// against a plain slice model.
func TestAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := New(480)
	var model []int16
	next := 0
	drops := 0
	tmp := make([]int16, 1000)
	for step := 0; step < 20000; step++ {
		if r.IntN(2) == 0 {
			n := r.IntN(400)
			d := b.Write(seq(next, n))
			next += n
			model = append(model, seq(next-n, n)...)
			if over := len(model) - 480; over > 0 {
				model = model[over:]
				if d != over {
					t.Fatalf("step %d: dropped %d, model %d", step, d, over)
				}
				drops += d
			} else if d != 0 {
				t.Fatalf("step %d: dropped %d with room", step, d)
			}
		} else {
			n := b.Read(tmp[:r.IntN(300)])
			for i := 0; i < n; i++ {
				if tmp[i] != model[i] {
					t.Fatalf("step %d: sample %d = %d, want %d", step, i, tmp[i], model[i])
				}
			}
			model = model[n:]
		}
		if b.Len() != len(model) {
			t.Fatalf("step %d: len %d, model %d", step, b.Len(), len(model))
		}
	}
	if drops == 0 {
		t.Fatal("the run never overran")
	}
}

func TestNoAllocs(t *testing.T) {
	b := New(1600)
	in, out := make([]int16, 160), make([]int16, 160)
	if a := testing.AllocsPerRun(100, func() {
		b.Write(in[:97])
		b.Write(in[:63])
		b.Read(out)
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func BenchmarkWriteRead(b *testing.B) {
	r := New(1600)
	in, out := make([]int16, 160), make([]int16, 160)
	for b.Loop() {
		r.Write(in)
		r.Read(out)
	}
}
