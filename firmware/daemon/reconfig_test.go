package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
)

// reconf hands r to the loop's handler and lets it apply what it can, as
// Run does after every event.
func (g *glue) reconf(r Reconfig) {
	g.d.reconfigure(r)
}

// settle is what Run does after each event: apply a waiting config.
func (g *glue) settle() { g.d.applyNext() }

func withDirectory(g *glue, dir map[string]string) Reconfig {
	o := g.d.opts
	o.Directory = dir
	return Reconfig{Options: o, Keys: []string{"directory"}, Source: "test"}
}

// Idle: a new config applies at once, and the status says so.
func TestReconfigIdleAppliesAtOnce(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	applied := 0
	r := withDirectory(g, map[string]string{"1003": "sip:1003@new.test"})
	r.Apply = func() { applied++ }
	g.reconf(r)
	if got := g.d.Target("1003"); got != "sip:1003@new.test" || applied != 1 {
		t.Fatalf("target %s, Apply called %d times", got, applied)
	}
	st := g.d.Status().Config
	if st == nil || st.AppliedAt == nil || !slices.Equal(st.AppliedKey, []string{"directory"}) || st.Source != "test" || len(st.Pending) != 0 {
		t.Fatalf("config status %+v", st)
	}
}

// Never during a call: off-hook, ringing or talking, the config waits
// (pending in the status) and applies the moment the phone is idle again;
// a newer config replaces the waiting one. Mutation: applying without the
// idle check makes the dialled number go to the new directory mid-call.
func TestReconfigWaitsForIdle(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.do(phone.Hook{OffHook: true})
	g.reconf(withDirectory(g, map[string]string{"1003": "sip:1003@first.test"}))
	st := g.d.Status().Config
	if st == nil || !slices.Equal(st.Pending, []string{"directory"}) || st.AppliedAt != nil {
		t.Fatalf("off-hook: config status %+v, want pending", st)
	}
	// The call goes by the running config.
	want(t, "dial", g.do(keys("1003#")...), "Dial sip:1003@pbx.test")
	g.sip(answered("sip-1"))
	g.settle()
	g.reconf(withDirectory(g, map[string]string{"1003": "sip:1003@second.test"}))
	g.settle()
	if g.d.Target("1003") != "sip:1003@pbx.test" {
		t.Fatal("applied during a call")
	}
	g.sip(sip.Ended{ID: "sip-1", Reason: "remote hangup", Remote: true})
	g.settle()
	if g.d.Target("1003") != "sip:1003@pbx.test" {
		t.Fatal("applied while still off-hook")
	}
	g.do(phone.Hook{OffHook: false})
	g.settle()
	if got := g.d.Target("1003"); got != "sip:1003@second.test" {
		t.Fatalf("after hang-up: target %s, want the newest config's", got)
	}
	if st := g.d.Status().Config; st == nil || len(st.Pending) != 0 || st.AppliedAt == nil {
		t.Fatalf("config status %+v", st)
	}
}

// A change that needs a restart calls Restart once idle, and not before;
// the options are left alone (the caller builds a new phone).
func TestReconfigRestartWhenIdle(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.sip(incoming("sip-9"))
	restarts := 0
	r := withDirectory(g, map[string]string{"1003": "sip:1003@new.test"})
	r.Keys, r.Restart = []string{"sip.listen"}, func() { restarts++ }
	g.reconf(r)
	g.settle()
	if st := g.d.Status().Config; restarts != 0 || st == nil || !st.Restart {
		t.Fatalf("ringing: %d restarts, status %+v", restarts, st)
	}
	g.sip(sip.Ended{ID: "sip-9", Reason: "caller cancelled", Remote: true})
	g.settle()
	if restarts != 1 || g.d.Target("1003") != "sip:1003@pbx.test" {
		t.Fatalf("idle: %d restarts, target %s", restarts, g.d.Target("1003"))
	}
}

// New machine timers take effect: the off-hook timer of the new config
// runs on the next off-hook.
func TestReconfigTimers(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	o := g.d.opts
	o.Machine.OffHook = 3 * time.Second
	g.reconf(Reconfig{Options: o, Keys: []string{"phone.offhook_timeout"}})
	g.do(phone.Hook{OffHook: true})
	g.advance(3 * time.Second)
	if g.state() == "dialtone" {
		t.Fatalf("state %s 3 s after off-hook with a 3 s off-hook timer", g.state())
	}
}
