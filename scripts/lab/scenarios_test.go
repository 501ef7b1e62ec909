package lab

import (
	"strings"
	"testing"
	"time"
)

func TestScenariosRender(t *testing.T) {
	t.Parallel()
	names := ScenarioNames()
	if len(names) < 6 {
		t.Fatalf("scenarios: %v", names)
	}
	for _, n := range names {
		text, err := RenderScenario(n, map[string]string{"contact": "sip:x@127.0.0.1:5999"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "{{") {
			t.Errorf("%s: placeholder left", n)
		}
	}
	if _, err := RenderScenario("uas_302", nil); err == nil || !strings.Contains(err.Error(), "contact") {
		t.Fatalf("uas_302 without contact: %v", err)
	}
}

// A baresip caller against each SIPp UAS scenario.
func TestSIPpUASScenariosAgainstBaresip(t *testing.T) {
	t.Parallel()
	t.Run("486", func(t *testing.T) {
		uas := RunSIPp(t, SIPpOptions{Scenario: "uas_486"})
		b := StartBaresip(t, BaresipOptions{User: "1002"})
		if err := b.Dial("sip:1003@" + uas.Addr().String()); err != nil {
			t.Fatal(err)
		}
		ev := b.WaitEvent(t, "CALL_CLOSED", 5*time.Second)
		if !strings.Contains(ev.Param, "486") {
			t.Errorf("CALL_CLOSED %q, want 486", ev.Param)
		}
		uas.WaitOK(t)
	})
	t.Run("302", func(t *testing.T) {
		uas := RunSIPp(t, SIPpOptions{Scenario: "uas_302", Params: map[string]string{"contact": "sip:1009@127.0.0.1:9"}})
		b := StartBaresip(t, BaresipOptions{User: "1002"})
		if err := b.Dial("sip:1003@" + uas.Addr().String()); err != nil {
			t.Fatal(err)
		}
		uas.WaitOK(t)
		t.Log(b.Events())
	})
	t.Run("early media", func(t *testing.T) {
		uas := RunSIPp(t, SIPpOptions{Scenario: "uas_early_media", Params: map[string]string{"early_ms": "300"}})
		b := StartBaresip(t, BaresipOptions{User: "1002"})
		if err := b.Dial("sip:1003@" + uas.Addr().String()); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
		if err := b.Hangup(); err != nil {
			t.Fatal(err)
		}
		uas.WaitOK(t)
		t.Log(b.Events())
	})
}

// Each SIPp UAC scenario against a baresip callee.
func TestSIPpUACScenariosAgainstBaresip(t *testing.T) {
	t.Parallel()
	t.Run("cancel", func(t *testing.T) {
		b := StartBaresip(t, BaresipOptions{User: "1002"})
		uac := RunSIPp(t, SIPpOptions{Scenario: "uac_cancel", Target: b.Addr(), Service: "1002", Params: map[string]string{"ring_ms": "50"}})
		uac.WaitOK(t)
		b.WaitEvent(t, "CALL_CLOSED", 5*time.Second)
	})
	t.Run("reinvite sendonly", func(t *testing.T) {
		b := StartBaresip(t, BaresipOptions{User: "1002", AnswerMode: AnswerAuto})
		uac := RunSIPp(t, SIPpOptions{Scenario: "uac_reinvite_sendonly", Target: b.Addr(), Service: "1002", Params: map[string]string{"hold_ms": "200"}})
		uac.WaitOK(t)
		b.WaitEvent(t, "CALL_CLOSED", 5*time.Second)
	})
	t.Run("dtmf 2833", func(t *testing.T) {
		b := StartBaresip(t, BaresipOptions{User: "1002", AnswerMode: AnswerAuto})
		uac := RunSIPp(t, SIPpOptions{Scenario: "uac_dtmf_2833", Target: b.Addr(), Service: "1002",
			Params: map[string]string{"pcap": "/usr/share/sip-tester/dtmf_2833_pound.pcap", "dtmf_ms": "600"}})
		uac.WaitOK(t)
		if got := b.WaitDTMF(t, 1, 3*time.Second); got != "#" {
			t.Errorf("baresip received DTMF %q, want #", got)
		}
	})
}
