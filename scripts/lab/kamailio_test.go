package lab

import (
	"testing"
	"time"
)

func TestKamailioStarts(t *testing.T) {
	t.Parallel()
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1001": "secret"}, ChallengeInvite: true})
	// The log line may trail the OPTIONS reply: wait for it (bounded).
	if !k.Addr().IsValid() || !k.WaitLog("lab: OPTIONS", 5*time.Second) {
		t.Fatalf("addr %v, log without the readiness OPTIONS:\n%s", k.Addr(), k.Log())
	}
	k.Stop()
}

func TestKamailioConfigRejectsBadUser(t *testing.T) {
	t.Parallel()
	for _, users := range []map[string]string{{`a"b`: "x"}, {"1001": `se"cret`}, {"": "x"}} {
		if _, err := KamailioConfig(KamailioOptions{Users: users}, 5060); err == nil {
			t.Errorf("users %q accepted", users)
		}
	}
}

// Restart brings Kamailio back on the same port with the same config,
// a new process (whose log starts afresh: the readiness OPTIONS again).
func TestKamailioRestart(t *testing.T) {
	t.Parallel()
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1001": "secret"}})
	addr, cfg, pid := k.Addr(), k.ConfigPath(), k.p.cmd.Process.Pid
	k.Restart(t)
	if k.Addr() != addr || k.ConfigPath() != cfg || k.p.cmd.Process.Pid == pid {
		t.Fatalf("restarted at %v with %s (pid %d), want %v with %s and a new process", k.Addr(), k.ConfigPath(), k.p.cmd.Process.Pid, addr, cfg)
	}
	if !k.WaitLog("lab: OPTIONS", 5*time.Second) {
		t.Fatalf("restarted Kamailio's log without the readiness OPTIONS:\n%s", k.Log())
	}
	k.Stop()
	k.Start(t) // after a slow restart too
	if k.Addr() != addr {
		t.Fatalf("started again at %v, want %v", k.Addr(), addr)
	}
}
