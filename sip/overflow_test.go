package sip

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// Issue 12 item 5: a flood of INVITEs (SIPp) while the consumer of the
// UA's events (the phone's loop) is blocked. The queue holds
// queueNewDialogs events; every INVITE beyond gets 503 with Retry-After
// at once (SIPp checks the header), while the consumer is still blocked:
// sipgo's goroutines never wait for it. Once released, the consumer
// takes every queued call (refused 486 here), so nothing was lost.
func TestInviteFloodWhileLoopBlocked(t *testing.T) {
	tier.Interop(t, "sipp")
	const calls = queueNewDialogs + 44
	gate := make(chan struct{})
	got := make(chan Event, 2*calls)
	ua, err := New(Config{
		Listen: netip.MustParseAddrPort("127.0.0.1:0"), User: "1001", Domain: "example.test",
		Logger: slog.New(slog.DiscardHandler),
	}, func(e Event) {
		<-gate // the loop is busy
		got <- e
	})
	if err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			close(gate)
		}
	}
	t.Cleanup(func() { release(); ua.Close() })
	base := runtime.NumGoroutine()

	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_busy_or_503", Target: ua.Addr(), Service: "1001",
		Calls: calls, Rate: 200, Limit: calls, Timeout: 60 * time.Second})

	waitFor(t, "44 INVITEs refused while the loop is blocked", func() bool { return ua.Overflows() >= calls-queueNewDialogs })
	if n := ua.Overflows(); n != calls-queueNewDialogs {
		t.Fatalf("%d INVITEs refused, want %d", n, calls-queueNewDialogs)
	}
	if n := ua.PendingEvents(); n != queueNewDialogs {
		t.Fatalf("%d events pending, want the bound %d", n, queueNewDialogs)
	}
	// Each call waiting for the phone holds its handler and transaction
	// goroutines; the refused ones hold none once answered.
	if n := runtime.NumGoroutine() - base; n > 8*queueNewDialogs {
		t.Errorf("%d goroutines for %d calls waiting: not bounded by the queue", n, queueNewDialogs)
	}

	release()
	for i := 0; i < queueNewDialogs; i++ {
		select {
		case e := <-got:
			in, ok := e.(Incoming)
			if !ok {
				t.Fatalf("event %d: %T, want Incoming", i, e)
			}
			if err := ua.Reject(in.ID, 486, "Busy Here"); err != nil {
				t.Fatal(err)
			}
		case <-time.After(wait):
			t.Fatalf("only %d of %d queued calls delivered", i, queueNewDialogs)
		}
	}
	s.WaitOK(t)
	trace, err := os.ReadFile(filepath.Join(s.Dir(), "messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(trace), "SIP/2.0 503 "); n < calls-queueNewDialogs {
		t.Fatalf("SIPp saw %d 503s, want %d", n, calls-queueNewDialogs)
	}
}
