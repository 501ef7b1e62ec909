package logring

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestRingKeepsNewestLinesWithinSize(t *testing.T) {
	r := New(100)
	for i := range 50 {
		fmt.Fprintf(r, "line %02d\n", i) // 8 bytes with the newline
	}
	got := string(r.Snapshot())
	if len(got) > 100 {
		t.Fatalf("snapshot %d bytes, over the ring's 100", len(got))
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 12 || lines[0] != "line 38" || lines[11] != "line 49" {
		t.Fatalf("kept %q, want lines 38 to 49", lines)
	}
}

func TestRingLongAndPartialLines(t *testing.T) {
	r := New(1 << 20)
	r.Write([]byte("first half, "))
	r.Write([]byte("second half\nand "))
	r.Write(append(bytes.Repeat([]byte("x"), 3*MaxLine), '\n'))
	r.Write([]byte("rest\n"))
	lines := strings.Split(strings.TrimSuffix(string(r.Snapshot()), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "first half, second half" || lines[2] != "rest" {
		t.Fatalf("lines %.80q", lines)
	}
	if !strings.HasPrefix(lines[1], "and xxx") || len(lines[1]) != MaxLine+len(" [cut]") || !strings.HasSuffix(lines[1], " [cut]") {
		t.Fatalf("long line kept as %d bytes ending %q, want cut at %d", len(lines[1]), lines[1][len(lines[1])-10:], MaxLine)
	}
	// One line over the size still shows (the newest is always kept).
	small := New(10)
	small.Write([]byte("a line longer than the ring\n"))
	if got := string(small.Snapshot()); got != "a line longer than the ring\n" {
		t.Fatalf("small ring %q", got)
	}
}

func TestFollow(t *testing.T) {
	r := New(1 << 10)
	r.Write([]byte("before\n"))
	backlog, f, err := r.Follow()
	if err != nil {
		t.Fatal(err)
	}
	if string(backlog) != "before\n" {
		t.Fatalf("backlog %q", backlog)
	}
	r.Write([]byte("after\n"))
	if l := <-f.Lines(); string(l) != "after" {
		t.Fatalf("followed %q", l)
	}
	// A follower that does not read loses lines, counted; the writer
	// never blocks.
	for i := range followerQueue + 10 {
		fmt.Fprintf(r, "flood %d\n", i)
	}
	if n := f.Lost(); n != 10 {
		t.Fatalf("lost %d, want 10", n)
	}
	if n := f.Lost(); n != 0 {
		t.Fatalf("lost count not reset: %d", n)
	}
	f.Stop()
	f.Stop() // twice is harmless
	for range f.Lines() {
	}
}

func TestFollowersBounded(t *testing.T) {
	r := New(1 << 10)
	var fs []*Follower
	for range MaxFollowers {
		_, f, err := r.Follow()
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if _, _, err := r.Follow(); err != ErrBusy {
		t.Fatalf("follower %d: %v, want ErrBusy", MaxFollowers+1, err)
	}
	fs[0].Stop()
	if _, _, err := r.Follow(); err != nil {
		t.Fatalf("after one stopped: %v", err)
	}
	r.EndFollowers()
	for _, f := range fs[1:] {
		if _, ok := <-f.Lines(); ok {
			t.Fatal("a follower's channel open after EndFollowers")
		}
	}
	r.Write([]byte("still kept\n"))
	_, f, err := r.Follow()
	if err != nil {
		t.Fatalf("following after EndFollowers: %v", err)
	}
	if !strings.Contains(string(r.Snapshot()), "still kept") {
		t.Fatal("the ring stopped keeping lines")
	}
	f.Stop()
}

func FuzzRingWrite(f *testing.F) {
	f.Add([]byte("a\nb\n"), []byte("c"), 16)
	f.Fuzz(func(t *testing.T, a, b []byte, size int) {
		if size <= 0 || size > 1<<16 {
			return
		}
		r := New(size)
		r.Write(a)
		r.Write(b)
		s := r.Snapshot()
		if len(s) > 0 && s[len(s)-1] != '\n' {
			t.Fatalf("snapshot does not end in a newline: %q", s)
		}
		if n := bytes.Count(s, []byte("\n")); n > 1 && len(s) > size {
			t.Fatalf("%d lines in %d bytes, over %d", n, len(s), size)
		}
	})
}
