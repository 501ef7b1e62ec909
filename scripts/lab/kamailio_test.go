package lab

import (
	"strings"
	"testing"
)

func TestKamailioStarts(t *testing.T) {
	t.Parallel()
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1001": "secret"}, ChallengeInvite: true})
	if !k.Addr().IsValid() || !strings.Contains(k.Log(), "lab: OPTIONS") {
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
