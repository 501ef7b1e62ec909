package sip

import "testing"

// The dispatcher counts the event in the consumer's hands as pending, so
// a blocked consumer cannot hide one from the bound; order is kept and
// stop delivers what is queued.
func TestDispatcherPendingAndOrder(t *testing.T) {
	gate := make(chan struct{})
	var got []CallID
	d := newDispatcher(func(e Event) {
		<-gate
		got = append(got, e.CallID())
	})
	for _, id := range []CallID{"a", "b", "c"} {
		d.push(Ended{ID: id})
	}
	if n := d.Pending(); n != 3 {
		t.Fatalf("pending %d, want 3 (one in the consumer's hands)", n)
	}
	if !d.room(4) || d.room(3) {
		t.Fatalf("room(4)=%v room(3)=%v with 3 pending", d.room(4), d.room(3))
	}
	close(gate)
	d.stop()
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("delivered %v, want a b c", got)
	}
	if n := d.Pending(); n != 0 {
		t.Fatalf("pending %d after stop", n)
	}
}
