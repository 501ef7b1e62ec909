package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/sip/sdp"
)

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

// In a call, INFO digits and session changes from the peer find the queue
// full (the firmware's loop is not taking events): each gets 503 with
// Retry-After, so the peer knows, and no event is queued for it.
func TestInDialogRequestsRefusedWhenQueueFull(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	id, _ := establish(t, a, b)
	t.Cleanup(func() {
		go func() {
			for range b.ev { // let b's queue drain before Close
			}
		}()
	})
	// b's consumer takes cap(b.ev) events, then blocks: fill its queue.
	for range queueInDialog + cap(b.ev) + 1 {
		b.events.push(Ended{ID: "filler"})
	}
	waitFor(t, "b's queue full", func() bool { return !b.events.room(queueInDialog) })
	if err := a.SendDTMFInfo(id, '5', 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("INFO into a full queue: %v, want refused with 503", err)
	}
	if err := a.Reinvite(id, held(media(4000, 0), sdp.SendOnly)); err != nil {
		t.Fatal(err)
	}
	if r := next[Reinvited](t, a); r.Code != 503 {
		t.Fatalf("re-INVITE into a full queue: %+v, want 503", r)
	}
	if n := b.Overflows(); n != 2 {
		t.Fatalf("%d requests counted as refused, want 2", n)
	}
}
