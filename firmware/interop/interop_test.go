package interop

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/wav"
	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

var phonedBin string

// TestMain builds the phoned binary once; the tests run it as shipped
// (under qemu when the tests run for ARM). Every test here is interop
// tier: under -short they skip and nothing is built.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "interop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if phonedBin, err = phoneproc.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

const within = 10 * time.Second

// ourPhone is phoned as user 1001 (password pw1001), registering at k
// when k is not nil, with a WAV microphone playing micHz.
type ourPhone struct {
	*phoneproc.Phone
	dir     string
	sipPort int
}

func startPhone(t *testing.T, k *lab.Kamailio, micHz float64, extra string) *ourPhone {
	t.Helper()
	return startPhoneMic(t, k, lab.ToneWAV(t, micHz, 2*time.Second), "", extra)
}

// startPhoneTB is startPhone for benchmarks: a silent microphone.
func startPhoneTB(t testing.TB, k *lab.Kamailio, extra string) *ourPhone {
	t.Helper()
	return startPhoneMic(t, k, lab.ToneWAV(t, 0, 2*time.Second), "", extra)
}

// startPhoneMic starts phoned with mic as its microphone; sipExtra goes
// into its [sip] table, extra at the end of the file.
func startPhoneMic(t testing.TB, k *lab.Kamailio, mic, sipExtra, extra string) *ourPhone {
	t.Helper()
	reg := ""
	if k != nil {
		reg = fmt.Sprintf("registrar = %q\n", k.Addr().String())
	}
	return startPhoneAccount(t, reg, mic, sipExtra, extra)
}

// startPhoneAccount is startPhoneMic with accountExtra in the [account]
// table.
func startPhoneAccount(t testing.TB, accountExtra, mic, sipExtra, extra string) *ourPhone {
	t.Helper()
	return startPhoneUser(t, "1001", accountExtra, mic, sipExtra, extra)
}

// startPhoneUser is startPhoneAccount as user (password "pw"+user).
func startPhoneUser(t testing.TB, user, accountExtra, mic, sipExtra, extra string) *ourPhone {
	t.Helper()
	tier.Interop(t)
	dir := t.TempDir()
	sipPort, err := phoneproc.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	apiPort, err := phoneproc.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%[1]d"
%[2]s
[account]
user = %[7]q
display_name = "Desk %[7]s"
password = "pw%[7]s"
domain = "127.0.0.1"
%[3]s
[audio]
device = "wav"
[audio.wav]
input = %[4]q
output = "speaker.wav"
[api]
listen = "127.0.0.1:%[5]d"
%[6]s`, sipPort, sipExtra, accountExtra, mic, apiPort, extra, user)
	p, err := phoneproc.Start(phonedBin, dir, "phone", cfg, fmt.Sprintf("127.0.0.1:%d", apiPort))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("phoned log:\n%s", tail(p.Log(), 80))
		}
	})
	if tt, ok := t.(*testing.T); ok {
		// The phone's SIP flow, printed by the lab when the test fails.
		lab.StartTrace(tt, sipPort)
	}
	if _, err := p.Until(within, "the API", func(phonedStatus) bool { return true }); err != nil {
		t.Fatal(err)
	}
	return &ourPhone{Phone: p, dir: dir, sipPort: sipPort}
}

func (p *ourPhone) sipAddr() netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p.sipPort))
}

func tail(s string, lines int) string {
	n := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			n++
			if n > lines {
				return s[i+1:]
			}
		}
	}
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wait(t *testing.T, p *ourPhone, state string) {
	t.Helper()
	_, err := p.Wait(state, within)
	must(t, err)
}

// heard returns how many seconds of path have want as the dominant tone.
func heard(t testing.TB, path string, want float64, candidates ...float64) float64 {
	t.Helper()
	s, _, err := wav.ReadFile(path)
	must(t, err)
	n := 0
	for i := 0; i+160 <= len(s); i += 160 {
		if f, _, ok := detect.Dominant(s[i:i+160], append([]float64{want}, candidates...)); ok && f == want {
			n++
		}
	}
	return float64(n) * 0.02
}

func TestRegisterWithDigestAuthAtKamailio(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}})
	p := startPhone(t, k, 700, "")
	st, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	if st.Registration.Code != 200 || st.Registration.Expires <= 0 || st.Display != "[1001 registered] idle" {
		t.Fatalf("registration %+v, display %q", st.Registration, st.Display)
	}
	// A clean stop unregisters (Expires: 0), and the registrar accepts it.
	must(t, p.Stop())
	if !strings.Contains(p.Log(), "msg=unregistered") || !strings.Contains(p.Log(), "code=200") {
		t.Fatalf("no accepted unregister in the log:\n%s", tail(p.Log(), 20))
	}
}

func TestWrongPasswordIsReportedNotLooped(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "other"}})
	p := startPhone(t, k, 700, "")
	st, err := p.Until(within, "failed", func(s phonedStatus) bool { return s.Registration.State == "failed" })
	must(t, err)
	if st.Registration.Code != 401 || st.Registration.RetryIn < 15 {
		t.Fatalf("registration %+v, want 401 and a back-off of at least 15 s", st.Registration)
	}
	// The status and the log say what to check (issue 16 item 5).
	if h := st.Registration.Hint; !strings.Contains(h, "account.password") {
		t.Fatalf("registration hint %q, want it to name account.password", h)
	}
	waitLog(t, p, "registration: the registrar refused the credentials", within)
}

// Our phone calls baresip through Kamailio, which challenges the INVITE
// with 407; audio flows both ways; baresip hangs up.
func TestCallBaresipThroughKamailio(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}, ChallengeInvite: true})
	rec := t.TempDir()
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second), RecordDir: rec})
	p := startPhone(t, k, 700, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	b.WaitEvent(t, "CALL_INCOMING", within)
	_, err = p.WaitDisplay("ringing 1002", within)
	must(t, err)
	must(t, b.Accept())
	wait(t, p, "talking")
	time.Sleep(2 * time.Second)
	st, err := p.Status()
	must(t, err)
	if st.Call == nil || st.Call.RTP.Received < 50 {
		t.Fatalf("call status %+v", st.Call)
	}
	must(t, b.Hangup()) // BYE from baresip, through Kamailio's route
	wait(t, p, "busy")
	must(t, p.Hook(false))
	wait(t, p, "idle")
	must(t, p.Stop())

	if s := heard(t, filepath.Join(p.dir, "speaker.wav"), 1100, 700); s < 1.0 {
		t.Errorf("our phone heard %.2f s of baresip's 1100 Hz", s)
	}
	dec, _ := b.Recordings()
	if len(dec) == 0 {
		t.Fatal("baresip recorded nothing")
	}
	if s := heard(t, dec[0], 700, 1100); s < 1.0 {
		t.Errorf("baresip heard %.2f s of our 700 Hz", s)
	}
}

// baresip calls our phone through Kamailio; the phone rings and answers
// when the handset is lifted; our phone hangs up.
func TestBaresipCallsUsAndWeHangUp(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	p := startPhone(t, k, 700, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	must(t, b.Dial("sip:1001@"+k.Domain()))
	st, err := p.Wait("ringing", within)
	must(t, err)
	if st.Call == nil || st.Call.Direction != "incoming" {
		t.Fatalf("ringing call %+v", st.Call)
	}
	b.WaitEvent(t, "CALL_RINGING", within)
	must(t, p.Hook(true))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	must(t, p.Hook(false)) // our BYE must follow Kamailio's Record-Route
	wait(t, p, "idle")
	b.WaitEvent(t, "CALL_CLOSED", within)
}

// We hang up while baresip rings: CANCEL; baresip stops ringing.
func TestCancelWhileRinging(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr()})
	p := startPhone(t, k, 700, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	b.WaitEvent(t, "CALL_INCOMING", within)
	_, err = p.WaitDisplay("ringing 1002", within)
	must(t, err)
	must(t, p.Hook(false))
	wait(t, p, "idle")
	b.WaitEvent(t, "CALL_CLOSED", within)
}

// baresip calls while our phone is off-hook: 486, baresip sees busy.
func TestBusyWhenOffHook(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr()})
	p := startPhone(t, k, 700, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	must(t, p.Hook(true))
	wait(t, p, "dialtone")
	must(t, b.Dial("sip:1001@"+k.Domain()))
	if ev := b.WaitEvent(t, "CALL_CLOSED", within); !strings.Contains(ev.Param, "486") {
		t.Fatalf("baresip closed the call with %q, want 486 Busy Here", ev.Param)
	}
	if st, _ := p.Status(); st.State != "dialtone" {
		t.Fatalf("our phone left dial tone: %+v", st)
	}
}

// Over TCP (sip.transport = "tcp"): the phone registers at Kamailio and
// calls baresip, which stays on UDP; Kamailio relays between the two.
func TestRegisterAndCallOverTCP(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}, TCP: true})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(), AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	p := startPhoneMic(t, k, lab.ToneWAV(t, 700, 2*time.Second), `transport = "tcp"`, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
	wait(t, p, "idle")
	// And back: Kamailio reaches the phone on its TCP listener.
	must(t, b.Dial("sip:1001@"+k.Domain()))
	wait(t, p, "ringing")
	must(t, p.Hook(true))
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
	// Our REGISTERs (Request-URI with Kamailio's port; baresip's have
	// none) and our INVITE came over TCP: two REGISTERs (challenge, then
	// credentials), no NAT re-registration for the connection's port.
	ours := fmt.Sprintf("lab: REGISTER sip:%s from", k.Addr())
	regs := 0
	for _, line := range strings.Split(k.Log(), "\n") {
		if strings.Contains(line, ours) {
			regs++
			if !strings.HasSuffix(strings.TrimSpace(line), "over tcp") {
				t.Fatalf("our REGISTER came over another transport: %s", line)
			}
		}
	}
	if regs != 2 || !strings.Contains(k.Log(), "lab: INVITE sip:1002@127.0.0.1 from") || !strings.Contains(k.Log(), "over tcp") {
		t.Fatalf("want 2 REGISTERs and an INVITE over TCP, got %d REGISTERs:\n%s", regs, tail(k.Log(), 30))
	}
}

// The registrar grants less than asked (2 s): the phone refreshes before
// each grant runs out, with credentials each time.
func TestRefreshAtKamailio(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}, MaxExpires: 2})
	p := startPhone(t, k, 700, "")
	st, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	if st.Registration.Expires != 2 {
		t.Fatalf("granted %v s, want 2", st.Registration.Expires)
	}
	ours := fmt.Sprintf("lab: REGISTER sip:%s from", k.Addr())
	deadline := time.Now().Add(within)
	for strings.Count(k.Log(), ours) < 6 { // three registrations: challenge + credentials each
		if time.Now().After(deadline) {
			t.Fatalf("%d REGISTERs in %s, want 6:\n%s", strings.Count(k.Log(), ours), within, tail(k.Log(), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st, _ := p.Status(); st.Registration.State != "registered" {
		t.Fatalf("after refreshes: %+v", st.Registration)
	}
}

// A registrar that challenges REGISTER with 407 (proxy auth) is answered
// with Proxy-Authorization.
func TestRegisterWithProxyAuth(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}, RegisterProxyAuth: true})
	p := startPhone(t, k, 700, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
}
