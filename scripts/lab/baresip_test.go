package lab

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/wav"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// baresip registers at Kamailio with digest auth, challenged with 401 or,
// with RegisterProxyAuth, 407.
func TestBaresipRegistersWithAuth(t *testing.T) {
	t.Parallel()
	for _, proxyAuth := range []bool{false, true} {
		k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1002": "pw1002"}, RegisterProxyAuth: proxyAuth})
		b := StartBaresip(t, BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(), MicWAV: ToneWAV(t, 0, time.Second)})
		if ok, err := b.Registered(); !ok || err != nil {
			t.Errorf("Registered() = %v, %v", ok, err)
		}
		want := "www_challenge"
		if proxyAuth {
			want = "proxy_challenge"
		}
		if !strings.Contains(readFile(t, k.ConfigPath()), want+`("$td", "0")`) {
			t.Errorf("config without %s", want)
		}
	}
}

// A wrong password never registers.
func TestBaresipWrongPasswordFails(t *testing.T) {
	t.Parallel()
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1002": "right"}})
	b := StartBaresip(t, BaresipOptions{User: "1002", Password: "wrong", Registrar: k.Addr(), NoRegisterWait: true,
		MicWAV: ToneWAV(t, 0, time.Second)})
	if !k.WaitLog("REGISTER auth failed for 1002", 5*time.Second) {
		t.Error("Kamailio did not log the failed auth")
	}
	time.Sleep(100 * time.Millisecond)
	if ok, err := b.Registered(); ok || err != nil {
		t.Errorf("Registered() = %v, %v with a wrong password", ok, err)
	}
	if !b.WaitLog("401 Unauthorized", time.Second) {
		t.Error("baresip did not log the 401")
	}
}

// Two baresips call each other through Kamailio (407 on INVITE): ringing,
// answer, RFC 4733 DTMF, audio both ways checked by tone detection on the
// recordings, BYE.
func TestTwoBaresipsThroughKamailio(t *testing.T) {
	t.Parallel()
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1002": "pw2", "1003": "pw3"}, ChallengeInvite: true})
	trace := StartTrace(t, int(k.Addr().Port()))
	a := StartBaresip(t, BaresipOptions{User: "1002", Password: "pw2", Registrar: k.Addr(),
		MicWAV: ToneWAV(t, 700, 20*time.Second), RecordDir: t.TempDir()})
	b := StartBaresip(t, BaresipOptions{User: "1003", Password: "pw3", Registrar: k.Addr(),
		MicWAV: ToneWAV(t, 1100, 20*time.Second), RecordDir: t.TempDir()})
	if err := a.Dial("sip:1003@" + k.Domain()); err != nil {
		t.Fatal(err)
	}
	b.WaitEvent(t, "CALL_INCOMING", 5*time.Second)
	a.WaitEvent(t, "CALL_RINGING", 5*time.Second)
	if n, err := b.CallCount(); err != nil || n != 1 {
		t.Fatalf("callee's calls = %d, %v", n, err)
	}
	if err := b.Accept(); err != nil {
		t.Fatal(err)
	}
	a.WaitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	b.WaitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	if err := a.SendDTMF("12#", 0); err != nil {
		t.Fatal(err)
	}
	if got := b.WaitDTMF(t, 3, 3*time.Second); got != "12#" {
		t.Errorf("callee received DTMF %q, want 12#", got)
	}
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	a.WaitEvent(t, "CALL_CLOSED", 5*time.Second)
	b.WaitEvent(t, "CALL_CLOSED", 5*time.Second)

	for _, c := range []struct {
		who  *Baresip
		hear float64
	}{{a, 1100}, {b, 700}} {
		dec, enc := c.who.Recordings()
		if len(dec) != 1 || len(enc) != 1 {
			t.Fatalf("%s recordings: %v %v", c.who.AOR(), dec, enc)
		}
		checkTone(t, dec[0], c.hear)
	}

	msgs, err := trace.Messages()
	if err != nil {
		t.Fatal(err)
	}
	var invites, challenges int
	for _, m := range msgs {
		if m.Method == "INVITE" {
			invites++
		}
		if m.Status == 407 && m.CSeq == "INVITE" {
			challenges++
		}
	}
	if invites < 3 || challenges != 1 { // INVITE, 407, INVITE with credentials, relayed INVITE
		t.Errorf("INVITEs %d, 407s %d in the trace", invites, challenges)
	}
}

// checkTone wants freq dominant in most 20 ms blocks of the recording's
// voiced part (the first blocks may be silence before RTP arrives).
func checkTone(t *testing.T, path string, freq float64) {
	t.Helper()
	s, _, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks, hits int
	for i := 0; i+160 <= len(s); i += 160 {
		f, _, ok := detect.Dominant(s[i:i+160], []float64{700, 1100})
		if !ok {
			continue
		}
		blocks++
		if f == freq {
			hits++
		}
	}
	if blocks < 10 || hits < blocks*9/10 {
		t.Errorf("%s: %d of %d voiced blocks at %g Hz (%d samples)", path, hits, blocks, freq, len(s))
	}
}
