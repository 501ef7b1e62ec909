package lab

import (
	"testing"
	"time"
)

func TestSIPpUACToUAS(t *testing.T) {
	t.Parallel()
	uas := RunSIPp(t, SIPpOptions{Scenario: "uas", Calls: 5})
	time.Sleep(100 * time.Millisecond)
	uac := RunSIPp(t, SIPpOptions{Scenario: "uac", Target: uas.Addr(), Calls: 5, Rate: 50})
	uac.WaitOK(t)
	uas.WaitOK(t)
	tr, err := uac.Trace()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range tr[:8] {
		t.Logf("%+v", m)
	}
}
