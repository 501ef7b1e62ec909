package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/dtmf"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip/sdp"
)

// roomEngine is a fakeEngine whose DTMF sender takes room more presses,
// then answers dtmf.ErrBusy as the real one does with MaxQueued waiting.
type roomEngine struct {
	*fakeEngine
	room int
}

func (e *roomEngine) StartDTMF(id string, digit byte) error {
	if e.room == 0 {
		return fmt.Errorf("engine: leg %q dtmf %q: rtpstream: %w", id, digit, dtmf.ErrBusy)
	}
	e.room--
	return e.fakeEngine.StartDTMF(id, digit)
}

// newRoomGlue is newGlue over a roomEngine.
func newRoomGlue(t *testing.T) (*glue, *roomEngine) {
	t.Helper()
	r := &rec{}
	eng := &roomEngine{fakeEngine: &fakeEngine{rec: r, last: map[string]time.Time{}}, room: 1000}
	g := &glue{t: t, clk: clock.NewFake(time.Unix(1e6, 0)), log: r, ua: &fakeUA{rec: r, fail: map[string]error{}}, eng: eng.fakeEngine}
	g.d = New(Options{
		Machine: phone.DefaultConfig(), User: "1001", Domain: "example.test",
		MediaIP: netip.MustParseAddr("127.0.0.1"), RTPMin: 20000, RTPMax: 30000, Codecs: []sdp.Codec{sdp.PCMU}, DTMF: 101, Tones: tone.US,
		Clock: g.clk, Logger: quietLogger(),
	}, Deps{Calls: g.ua, Tones: eng, Media: eng, Ringer: fakeBoard{r}, Lamps: fakeBoard{r}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.d.ctx = ctx
	g.d.start()
	g.log.take()
	return g, eng
}

// retry lets the backlog's retry timer fire and delivers it as the loop
// would; it returns what the fakes were asked.
func (g *glue) retryDTMF() []string {
	g.t.Helper()
	g.clk.Advance(dtmfRetry)
	select {
	case <-g.d.dtmf.retry:
		g.d.flushDTMF()
	default:
		g.t.Fatal("no DTMF retry scheduled")
	}
	return g.log.take()
}

func press(keys string) []phone.Event {
	var evs []phone.Event
	for i := 0; i < len(keys); i++ {
		evs = append(evs, phone.Key{Key: keys[i]}, phone.KeyRelease{Key: keys[i]})
	}
	return evs
}

// Issue 18 item 9: presses the sender cannot take wait in order and go
// out as it makes room; none is dropped, and the API's admission sees
// them waiting.
func TestDTMFBacklogSendsEveryPress(t *testing.T) {
	g, eng := newRoomGlue(t)
	g.talking()
	g.log.take()
	eng.room = 2
	got := g.do(press("12345")...)
	want(t, "first presses", got, "StartDTMF out-1 1", "StartDTMF out-1 2")
	none(t, "sender full", got, "StartDTMF out-1 3")
	if g.d.DTMFRoom(dtmfAdmit - 2) {
		t.Fatalf("3 presses waiting, yet room for %d more", dtmfAdmit-2)
	}
	if !g.d.DTMFRoom(dtmfAdmit - 3) {
		t.Fatalf("3 presses waiting, no room for %d more", dtmfAdmit-3)
	}
	eng.room = 1
	want(t, "room for one", g.retryDTMF(), "StartDTMF out-1 3", "StopDTMF out-1")
	eng.room = 10
	want(t, "room for all", g.retryDTMF(), "StartDTMF out-1 4", "StopDTMF out-1", "StartDTMF out-1 5", "StopDTMF out-1")
	if st := g.d.Status(); st.DTMFDropped != 0 || !g.d.DTMFRoom(dtmfAdmit) {
		t.Fatalf("after sending all: dropped %d, room %t", st.DTMFDropped, g.d.DTMFRoom(dtmfAdmit))
	}
}

// Presses whose call ended before they could be sent are counted in the
// status, not lost silently.
func TestDTMFDroppedCounted(t *testing.T) {
	g, eng := newRoomGlue(t)
	g.talking()
	eng.room = 0
	g.do(press("78")...)
	g.do(phone.Hook{OffHook: false})
	eng.room = 10
	none(t, "call gone", g.retryDTMF(), "StartDTMF")
	if st := g.d.Status(); st.DTMFDropped != 2 {
		t.Fatalf("dtmf_dropped %d, want 2", st.DTMFDropped)
	}
}
