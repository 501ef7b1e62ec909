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
