package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// rtpTimeout is audio.rtp_timeout in the media-loss tests: short, but
// well over the 2 s stalls of the whole machine seen under make test's
// load (a stall that long would end the call before the loss).
const rtpTimeout = 5 * time.Second

// setRTPTimeout sets audio.rtp_timeout to rtpTimeout by a hot reload
// (startPhoneMic's [audio] table is not open to the caller).
func setRTPTimeout(t *testing.T, p *ourPhone) {
	t.Helper()
	p.rewrite(t, func(s string) string {
		return strings.Replace(s, "device = \"wav\"\n", fmt.Sprintf("device = \"wav\"\nrtp_timeout = \"%v\"\n", rtpTimeout), 1)
	})
	_, err := p.Until(within, "rtp_timeout applied", func(s phonedStatus) bool {
		return s.Config != nil && slices.Contains(s.Config.AppliedKey, "audio.rtp_timeout")
	})
	must(t, err)
}

// Issue 18 item 10: the network between the phones goes down mid-call.
// The call's media crosses lab.MediaRelay (no netem here, see
// impair_test.go); with a call up between phoned and baresip the relay
// is cut, dropping every RTP and RTCP datagram both ways. The phone's RTP
// timeout (audio.rtp_timeout, set to rtpTimeout by a hot reload) ends the
// call: the BYE reaches baresip (SIP goes round the relay), the status
// says why ("no media") and has the call in last_call, the log says "no
// RTP received", and on hook the phone is idle. The network comes back:
// the phone calls baresip again and the audio flows.
func TestNetworkLossEndsCallCleanly(t *testing.T) {
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 2*time.Minute)})
	relay := lab.StartMediaRelay(t, lab.RelayConfig{Seed: 1}, lab.RelayConfig{Seed: 2})
	proxy := lab.StartSDPProxy(t, relay)
	p := startProxiedPhone(t, lab.ToneWAV(t, 700, 2*time.Second), proxy.Addr(), "1003", peer.URI())
	setRTPTimeout(t, p)

	// call sets up a call to baresip and waits for RTP both ways.
	call := func() {
		t.Helper()
		before := relay.RTP.Stats()
		must(t, p.Hook(true))
		must(t, p.Keys("1003#"))
		wait(t, p, "talking")
		peer.WaitEvent(t, "CALL_ESTABLISHED", within)
		_, err := p.Until(within, "RTP from baresip", func(s phonedStatus) bool { return s.Call != nil && s.Call.RTP.Received > 25 })
		must(t, err)
		_, err = p.Until(within, "RTP to baresip", func(phonedStatus) bool { return relay.RTP.Stats().AtoB.Out > before.AtoB.Out+25 })
		must(t, err)
		if st := relay.RTP.Stats(); st.BtoA.Out <= before.BtoA.Out {
			t.Fatalf("the media bypasses the relay: %+v", st)
		}
	}
	call()

	relay.Cut(true)
	cut := time.Now()
	st, err := p.Until(30*time.Second, "the call ended for no media", func(s phonedStatus) bool { return s.State != "talking" })
	must(t, err)
	ended := time.Since(cut)
	if st.Reason != "no media" || st.LastCall == nil || st.Call != nil {
		t.Fatalf("after the network went: state %q reason %q, call %+v, last call %+v", st.State, st.Reason, st.Call, st.LastCall)
	}
	// The last packet may have come up to a frame before the cut: the
	// lower bound is loose, it tells the timeout from an immediate end.
	if ended < rtpTimeout-500*time.Millisecond {
		t.Fatalf("the call ended %v after the cut, well before the %v RTP timeout", ended, rtpTimeout)
	}
	peer.WaitEvent(t, "CALL_CLOSED", within) // our BYE got there
	waitLog(t, p, "no RTP received", within)
	if rs := relay.RTP.Stats(); rs.AtoB.Cut == 0 || rs.BtoA.Cut == 0 {
		t.Fatalf("the relay cut nothing: %+v", rs)
	}
	t.Logf("the call ended %v after the cut (rtp_timeout %v): state %q, reason %q", ended.Round(time.Millisecond), rtpTimeout, st.State, st.Reason)
	must(t, p.Hook(false))
	wait(t, p, "idle")

	// The network is back: a new call works, audio both ways.
	relay.Cut(false)
	call()
	must(t, p.Hook(false))
	peer.WaitEvent(t, "CALL_CLOSED", within)
	wait(t, p, "idle")
}

// smallDisk mounts a 64 KiB tmpfs at dir (made if missing) for the test
// and unmounts it in Cleanup. Mounting needs root (the suite runs as
// root, as dumpcap's captures do): without it the test fails, saying so.
func smallDisk(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

// fill writes a file in dir until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	block := make([]byte, 4096)
	for range 1 << 12 {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
	t.Fatalf("%s took 16 MiB: not the small disk", dir)
	return ""
}

// Issue 18 item 10: the disk where the phone keeps its state
// (system.state_dir: the provisioned config layers) is full. A pushed
// config that cannot be stored is refused with the reason (500, "no
// space left on device"), the log and the status ("storage") say so, the
// phone runs on with its config, the file stored before is intact (the
// write goes to a temporary file renamed over it) and no temporary file
// is left behind. Space comes back: the next push is stored and applied,
// and the status's error clears (the count stays).
func TestFullDiskKeepsStoredConfig(t *testing.T) {
	tier.Interop(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	smallDisk(t, state)
	p := pushPhone(t, dir, nil)
	stored := filepath.Join(state, "provisioned.json")

	one := "schema = 1\n[directory]\n\"2\" = \"sip:two@127.0.0.1:9\"\n"
	if code, _, body := push(t, p, "application/toml", one); code != 200 {
		t.Fatalf("push on a disk with room: %d %s", code, body)
	}
	before, err := os.ReadFile(stored)
	must(t, err)
	// With no registrar the set counts as good at once: last-good.json is
	// written after the push's answer. Not on the full disk.
	deadline := time.Now().Add(within)
	for _, err := os.Stat(filepath.Join(state, "last-good.json")); err != nil; _, err = os.Stat(filepath.Join(state, "last-good.json")) {
		if time.Now().After(deadline) {
			t.Fatalf("no last-good.json within %v: %v", within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	filler := fill(t, state)
	two := "schema = 1\n[directory]\n\"3\" = \"sip:three@127.0.0.1:9\"\n"
	code, _, body := push(t, p, "application/toml", two)
	if code != 500 || !strings.Contains(body, "no space left on device") {
		t.Fatalf("push on a full disk: %d %s", code, body)
	}
	waitLog(t, &ourPhone{Phone: p}, "state write failed", within)
	st, err := p.Status()
	must(t, err)
	if st.Storage == nil || st.Storage.WriteErrors != 1 || !strings.Contains(st.Storage.Error, "no space left on device") ||
		st.Storage.LastErrorAt == nil {
		t.Fatalf("status storage %+v", st.Storage)
	}
	if after, err := os.ReadFile(stored); err != nil || string(after) != string(before) {
		t.Fatalf("the stored config changed on a full disk: %v\n%s\nwas\n%s", err, after, before)
	}
	names, err := os.ReadDir(state)
	must(t, err)
	for _, e := range names {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("a temporary file was left on the full disk: %s", e.Name())
		}
	}
	// The phone runs on: off hook it gives dial tone, and the config it
	// would start with is the first push's.
	must(t, p.Hook(true))
	_, err = p.Wait("dialtone", within)
	must(t, err)
	must(t, p.Hook(false))
	_, err = p.Wait("idle", within)
	must(t, err)
	if out := printConfig(t, configPath(p)); !strings.Contains(out, "sip:two@") || strings.Contains(out, "sip:three@") {
		t.Fatalf("the config in use after the failed push:\n%s", out)
	}

	// Space comes back.
	must(t, os.Remove(filler))
	if code, _, body := push(t, p, "application/toml", two); code != 200 {
		t.Fatalf("push once the disk has room again: %d %s", code, body)
	}
	st, err = p.Status()
	must(t, err)
	if st.Storage == nil || st.Storage.WriteErrors != 1 || st.Storage.Error != "" {
		t.Fatalf("status storage after the recovery %+v", st.Storage)
	}
	if out := printConfig(t, configPath(p)); !strings.Contains(out, "sip:three@") {
		t.Fatalf("the second push was not stored:\n%s", out)
	}
}

// Issue 18 item 10: the only registrar becomes unreachable (it stops; its
// port is closed). The next refresh gets no answer: after Timer F (32 s,
// RFC 3261 §17.1.2.2) the status says "failed" with no code, the reason
// and a back-off of 15 to 30 s (sip.RegConfig.RetryMin 30 s drawn
// between half and all, RFC 5626 §4.5), the log says so, and the phone
// still works (dial tone off hook). The registrar comes back at its
// address: the phone is registered again at the next try.
// TestCallsFollowRegistrationFailover covers the same with a backup
// registrar (fail-over and fail-back).
func TestRegistrarUnreachableBacksOffAndRecovers(t *testing.T) {
	kopts := lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}, MinExpires: 1, MaxExpires: 5}
	k := lab.StartKamailio(t, kopts)
	p := startPhoneAccount(t, fmt.Sprintf("registrar = %q\nregister_expires = \"60s\"\n", k.Addr().String()),
		lab.ToneWAV(t, 700, 2*time.Second), "", "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	k.Stop()
	st, err := p.Until(60*time.Second, "registration failed", func(s phonedStatus) bool { return s.Registration.State == "failed" })
	must(t, err)
	if r := st.Registration; r.Code != 0 || r.Reason == "" || r.RetryIn < 14 || r.RetryIn > 30 {
		t.Fatalf("registration with the registrar gone: %+v, want no code, a reason and a back-off of 15-30 s", r)
	}
	if h := st.Registration.Hint; !strings.Contains(h, "did not answer") || !strings.Contains(h, "firewall") {
		t.Fatalf("registration hint %q, want what to check when the registrar does not answer", h)
	}
	waitLog(t, p, "registration failed", within)
	t.Logf("with the registrar gone: %+v", st.Registration)
	must(t, p.Hook(true))
	wait(t, p, "dialtone")
	must(t, p.Hook(false))
	wait(t, p, "idle")

	kopts.Port = int(k.Addr().Port())
	lab.StartKamailio(t, kopts)
	back := time.Now()
	_, err = p.Until(time.Duration(st.Registration.RetryIn*float64(time.Second))+within, "registered again",
		func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	t.Logf("registered again %v after the registrar came back", time.Since(back).Round(time.Millisecond))
}

// Issue 18 item 10: SIGTERM in a call through Kamailio with peers that
// answer. The phone hangs up (baresip gets the BYE and closes the call),
// unregisters (Kamailio answers 200) and exits cleanly within stopBound.
// TestSIGTERMBoundedWithPeersSilent covers peers that do not answer.
func TestSIGTERMInCallHangsUpAndUnregisters(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1003": "pw1003"}})
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", Password: "pw1003", Registrar: k.Addr(), AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, time.Minute)})
	p := startPhoneMic(t, k, lab.ToneWAV(t, 700, 2*time.Second), "", "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	must(t, p.Hook(true))
	must(t, p.Keys("1003#"))
	wait(t, p, "talking")
	peer.WaitEvent(t, "CALL_ESTABLISHED", within)
	_, err = p.Until(within, "RTP flowing", func(s phonedStatus) bool { return s.Call != nil && s.Call.RTP.Received > 25 })
	must(t, err)

	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("%v (stop bound %v)", err, stopBound)
	}
	stopped := time.Since(start)
	if stopped > stopBound {
		t.Fatalf("stopped %v after SIGTERM, over %v", stopped, stopBound)
	}
	peer.WaitEvent(t, "CALL_CLOSED", within)
	log := p.Log()
	if !strings.Contains(log, "msg=unregistered") || !strings.Contains(log, "code=200") {
		t.Fatalf("no accepted unregister in the log:\n%s", tail(log, 20))
	}
	for _, bad := range []string{"gave up waiting for the hang-up", "gave up unregistering"} {
		if strings.Contains(log, bad) {
			t.Fatalf("the log says %q with peers that answer:\n%s", bad, tail(log, 20))
		}
	}
	t.Logf("stopped %v after SIGTERM in a call", stopped.Round(time.Millisecond))
}

// Issue 18 item 10: the far end drops off the network entirely mid-call
// (baresip stopped with SIGSTOP: neither RTP nor SIP answers). The RTP
// timeout ends the call as above; the phone's BYE goes unanswered, and
// the phone does not wait for it: on hook it is idle at once. The far
// end comes back (SIGCONT): the BYE's retransmission (or the copy waiting
// in its socket) closes its side, and the phone calls it again.
func TestFarEndGoneMidCall(t *testing.T) {
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 2*time.Minute)})
	p := startPhoneMic(t, nil, lab.ToneWAV(t, 700, 2*time.Second), "", fmt.Sprintf("[directory]\n\"1003\" = %q\n", peer.URI()))
	setRTPTimeout(t, p)
	call := func() {
		t.Helper()
		must(t, p.Hook(true))
		must(t, p.Keys("1003#"))
		wait(t, p, "talking")
		peer.WaitEvent(t, "CALL_ESTABLISHED", within)
		_, err := p.Until(within, "RTP from baresip", func(s phonedStatus) bool { return s.Call != nil && s.Call.RTP.Received > 25 })
		must(t, err)
	}
	call()
	tr := lab.StartTrace(t, p.sipPort)

	must(t, syscall.Kill(peer.PID(), syscall.SIGSTOP))
	stopped := true
	t.Cleanup(func() {
		if stopped {
			syscall.Kill(peer.PID(), syscall.SIGCONT)
		}
	})
	st, err := p.Until(30*time.Second, "the call ended for no media", func(s phonedStatus) bool { return s.State != "talking" })
	must(t, err)
	if st.Reason != "no media" || st.LastCall == nil {
		t.Fatalf("after the far end went: state %q reason %q, last call %+v", st.State, st.Reason, st.LastCall)
	}
	waitLog(t, p, "no RTP received", within)
	must(t, p.Hook(false))
	wait(t, p, "idle") // not held up by the unanswered BYE

	must(t, syscall.Kill(peer.PID(), syscall.SIGCONT))
	stopped = false
	peer.WaitEvent(t, "CALL_CLOSED", within)
	msgs, err := tr.Messages()
	must(t, err)
	byes := 0
	for _, m := range msgs {
		if m.Method == "BYE" && strings.HasSuffix(m.Src, fmt.Sprintf(":%d", p.sipPort)) {
			byes++
		}
	}
	if byes == 0 {
		t.Fatalf("the phone sent no BYE:\n%v", msgs)
	}
	t.Logf("BYEs the phone sent while the far end was away: %d", byes)
	call()
	must(t, p.Hook(false))
	peer.WaitEvent(t, "CALL_CLOSED", within)
	wait(t, p, "idle")
}

// Issue 18 item 10: the PulseAudio server is killed mid-call, the binary
// on a private server (audio.device = "pulse"; the device and engine part
// is TestCallThroughPulse in audio/device/pulse). The call goes on: the
// status shows the device disconnected with the reason, the log says
// "PulseAudio connection lost", RTP keeps flowing both ways. The server
// comes back: the device reconnects (reconnects 1) and the audio is back
// both ways: the handset sink plays baresip's 1100 Hz, baresip hears the
// 700 Hz played into the microphone.
func TestPulseKilledMidCall(t *testing.T) {
	srv := pulsetest.Start(t, "handset", "mic")
	rec := t.TempDir()
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 2*time.Minute), RecordDir: rec})
	pp, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return pulseConfig(srv, sipPort, apiPort, "", fmt.Sprintf("[directory]\n\"1003\" = %q\n", peer.URI()))
	})
	p := &ourPhone{Phone: pp}
	mic := func() { srv.Play(t, "mic", tone.NewGenerator(tone.MustParse("700/0")).Fill) }
	mic()
	// hears waits for freq in the last 200 ms of what the handset sink
	// played, recorded from now on.
	hears := func(what string, freq float64) {
		t.Helper()
		r := srv.Record(t, "handset.monitor")
		defer r.Stop()
		deadline := time.Now().Add(within)
		for {
			if s := r.Samples(); len(s) > 1600 && detect.Present(s[len(s)-1600:], freq) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %v Hz on the handset sink within %v", what, freq, within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// peerHears waits for baresip to record a second of 700 Hz after now.
	heard := lab.FollowAll(func() []string { d, _ := peer.Recordings(); return d })
	peerHears := func(what string) {
		t.Helper()
		must(t, heard.Mark())
		deadline := time.Now().Add(within)
		for {
			s, err := heard.Since()
			must(t, err)
			if lab.Heard(s, 700) >= 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: baresip heard %.2f s of 700 Hz within %v", what, lab.Heard(s, 700), within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	_, err := p.Until(within, "the device connected", func(s phonedStatus) bool { return s.Audio != nil && s.Audio.Connected })
	must(t, err)
	must(t, p.Hook(true))
	must(t, p.Keys("1003#"))
	wait(t, p, "talking")
	peer.WaitEvent(t, "CALL_ESTABLISHED", within)
	hears("in the call", 1100)
	peerHears("in the call")

	srv.Kill()
	st, err := p.Until(within, "the device disconnected", func(s phonedStatus) bool { return s.Audio != nil && !s.Audio.Connected })
	must(t, err)
	if st.State != "talking" || st.Audio.Error == "" {
		t.Fatalf("with the server gone: state %q, audio %+v", st.State, *st.Audio)
	}
	waitLog(t, p, "PulseAudio connection lost", within)
	rtp := st.Call.RTP
	_, err = p.Until(within, "RTP both ways without the server", func(s phonedStatus) bool {
		return s.Call != nil && s.Call.RTP.Received > rtp.Received+25 && s.Call.RTP.Sent > rtp.Sent+25
	})
	must(t, err)
	t.Logf("with the server gone: audio %+v", *st.Audio)

	srv.Restart()
	mic()
	st, err = p.Until(within, "the device reconnected", func(s phonedStatus) bool { return s.Audio != nil && s.Audio.Connected })
	must(t, err)
	if st.State != "talking" || st.Audio.Reconnects != 1 {
		t.Fatalf("with the server back: state %q, audio %+v", st.State, *st.Audio)
	}
	hears("after the restart", 1100)
	peerHears("after the restart")
	must(t, p.Hook(false))
	peer.WaitEvent(t, "CALL_CLOSED", within)
	wait(t, p, "idle")
}
