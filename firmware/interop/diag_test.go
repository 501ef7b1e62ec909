package interop

import (
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// The technician's diagnostics on the real binary (issue 16 item 2): with
// log.sip_trace on, the phone registers at Kamailio and calls baresip
// (Kamailio challenges the INVITE, so it carries Proxy-Authorization);
// a packet capture taken through the API over the call is a pcap file
// tshark reads: the INVITE, its 200, RTP both ways (and the phone's RTCP).
// The log holds the INVITE and the 200 with the credentials masked.
func TestCaptureAndTraceOfACall(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}, ChallengeInvite: true})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(), AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	p := startPhone(t, k, 700, "[log]\nsip_trace = true\n")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	res, err := p.Do("POST", "/api/v1/capture", "application/json", `{"seconds": 120}`)
	must(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("start capture: %s %s", res.Status, body)
	}
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	st, err := p.Wait("talking", within)
	must(t, err)
	if st.Call == nil || st.Call.Media == nil {
		t.Fatalf("no media in %+v", st.Call)
	}
	local := netip.MustParseAddrPort(st.Call.Media.Local)
	if _, err := p.Until(within, "RTP both ways", func(s phonedStatus) bool {
		return s.Call != nil && s.Call.RTP.Received >= 50 && s.Call.RTP.Sent >= 50
	}); err != nil {
		t.Fatal(err)
	}
	must(t, p.Hook(false))
	wait(t, p, "idle")
	b.WaitEvent(t, "CALL_CLOSED", within)

	res, err = p.Do("POST", "/api/v1/capture/stop", "application/json", "")
	must(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"ended": "stopped"`) {
		t.Fatalf("stop capture: %s %s", res.Status, body)
	}
	res, err = p.Do("GET", "/api/v1/capture", "", "")
	must(t, err)
	file, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="phoned-`) {
		t.Fatalf("download: %s %v", res.Status, res.Header)
	}
	path := filepath.Join(t.TempDir(), "call.pcap")
	must(t, os.WriteFile(path, file, 0o600))
	t.Logf("capture: %d bytes", len(file))

	// SIP as tshark dissects it.
	sipLines := tshark(t, path, "-Y", "sip", "-T", "fields", "-E", "separator=|", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method")
	var invite, ok200 bool
	for _, l := range strings.Split(sipLines, "\n") {
		f := strings.Split(l, "|")
		if len(f) < 3 {
			continue
		}
		invite = invite || f[0] == "INVITE"
		ok200 = ok200 || f[1] == "200" && f[2] == "INVITE"
	}
	if !invite || !ok200 {
		t.Fatalf("tshark did not find the INVITE (%v) and its 200 (%v):\n%s", invite, ok200, sipLines)
	}
	// RTP decoded as RTP on the phone's port, both directions.
	port := strconv.Itoa(int(local.Port()))
	rtpLines := tshark(t, path, "-d", "udp.port=="+port+",rtp", "-Y", "rtp && udp.port=="+port, "-T", "fields", "-E", "separator=|",
		"-e", "udp.srcport", "-e", "udp.dstport", "-e", "rtp.p_type")
	sent, recv := 0, 0
	for _, l := range strings.Split(rtpLines, "\n") {
		f := strings.Split(l, "|")
		if len(f) < 3 || (f[2] != "0" && f[2] != "8") {
			continue
		}
		if f[0] == port {
			sent++
		}
		if f[1] == port {
			recv++
		}
	}
	t.Logf("RTP in the capture: %d sent, %d received", sent, recv)
	if sent < 50 || recv < 50 {
		t.Fatalf("RTP in the capture: %d sent, %d received, want 50 each way", sent, recv)
	}
	rtcpPort := strconv.Itoa(int(local.Port()) + 1)
	rtcp := tshark(t, path, "-d", "udp.port=="+rtcpPort+",rtcp", "-Y", "rtcp && udp.srcport=="+rtcpPort, "-T", "fields", "-e", "rtcp.pt")
	if strings.TrimSpace(rtcp) == "" {
		t.Errorf("no RTCP from the phone in the capture (its BYE report at the end at least)")
	}

	// The trace: the INVITE and its 200 in the log, credentials masked.
	log := p.Log()
	var traced []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `msg="sip trace"`) {
			traced = append(traced, l)
		}
	}
	has := func(dir, start string) string {
		for _, l := range traced {
			if strings.Contains(l, "dir="+dir) && strings.Contains(l, `sip="`+start) {
				return l
			}
		}
		return ""
	}
	authInvite := ""
	for _, l := range traced {
		if strings.Contains(l, "dir=sent") && strings.Contains(l, `sip="INVITE sip:1002`) && strings.Contains(l, "Proxy-Authorization") {
			authInvite = l
		}
	}
	if authInvite == "" || has("recv", "SIP/2.0 200 OK") == "" || has("sent", "REGISTER ") == "" {
		t.Fatalf("trace lacks the authorised INVITE (%q), a 200 or the REGISTER; %d trace lines", authInvite, len(traced))
	}
	if !strings.Contains(authInvite, "response=[masked]") || !strings.Contains(authInvite, "transport=UDP") || !strings.Contains(authInvite, "remote="+k.Addr().String()) {
		t.Fatalf("traced INVITE: %s", authInvite)
	}
	if m := regexp.MustCompile(`response=\\?"?[0-9a-fA-F]{32}`).FindString(log); m != "" {
		t.Fatalf("a digest response in the log: %s", m)
	}
	for _, secret := range []string{"pw1001", "pw1002"} {
		if strings.Contains(log, secret) {
			t.Fatalf("password %q in the log", secret)
		}
	}

	// log.sip_trace is hot: turned off by a reload, in place (same
	// process, no restart), the status says so.
	pid := p.Pid()
	p.rewrite(t, func(s string) string { return strings.Replace(s, "sip_trace = true", "sip_trace = false", 1) })
	st, err = p.Until(within, "log.sip_trace applied", func(s phonedStatus) bool {
		return s.Config != nil && slices.Contains(s.Config.AppliedKey, "log.sip_trace")
	})
	must(t, err)
	if st.Config.Restart || p.Pid() != pid {
		t.Fatalf("log.sip_trace needed a restart: %+v", st.Config)
	}
	res, err = p.Do("GET", "/api/v1/status", "", "")
	must(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"sip_trace": false`) || !strings.Contains(string(body), `"state": "done"`) {
		t.Fatalf("status after the reload: %s", body)
	}
	waitLog(t, p, "msg=\"sip trace switched\" part=diag on=false", within)
}

// tshark runs tshark -r path -n args and returns its output.
func tshark(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("tshark", append([]string{"-r", path, "-n"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Over TCP, sipgo hands the tracer stream reads, not messages: the trace
// still logs one line per message, and the capture's TCP segments carry
// sequence numbers tshark reassembles into SIP. The registrar grants 2 s,
// so refreshes come while the capture runs.
func TestCaptureAndTraceOverTCP(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}, TCP: true, MaxExpires: 2})
	p := startPhoneMic(t, k, lab.ToneWAV(t, 0, 2*time.Second), `transport = "tcp"`, "[log]\nsip_trace = true\n")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	res, err := p.Do("POST", "/api/v1/capture", "application/json", `{"seconds": 60}`)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("start capture: %s", res.Status)
	}
	// Two refreshes at least (each REGISTER, 401, REGISTER, 200).
	deadline := time.Now().Add(3 * within)
	for {
		res, err := p.Do("GET", "/api/v1/status", "", "")
		must(t, err)
		var st struct {
			Diagnostics struct{ Capture struct{ Packets int } }
		}
		must(t, json.NewDecoder(res.Body).Decode(&st))
		res.Body.Close()
		if st.Diagnostics.Capture.Packets >= 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("capture has %d packets", st.Diagnostics.Capture.Packets)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, err = p.Do("POST", "/api/v1/capture/stop", "application/json", "")
	must(t, err)
	res.Body.Close()
	res, err = p.Do("GET", "/api/v1/capture", "", "")
	must(t, err)
	file, _ := io.ReadAll(res.Body)
	res.Body.Close()
	path := filepath.Join(t.TempDir(), "tcp.pcap")
	must(t, os.WriteFile(path, file, 0o600))

	port := strconv.Itoa(int(k.Addr().Port()))
	lines := tshark(t, path, "-d", "tcp.port=="+port+",sip", "-Y", "sip && tcp.port=="+port, "-T", "fields", "-E", "separator=|",
		"-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method")
	regs, oks := 0, 0
	for _, l := range strings.Split(lines, "\n") {
		f := strings.Split(l, "|")
		if len(f) < 3 {
			continue
		}
		if f[0] == "REGISTER" {
			regs++
		}
		if f[1] == "200" && f[2] == "REGISTER" {
			oks++
		}
	}
	if regs < 2 || oks < 2 {
		t.Fatalf("tshark found %d REGISTERs and %d 200s over TCP:\n%s", regs, oks, lines)
	}
	n := 0
	for _, l := range strings.Split(p.Log(), "\n") {
		if strings.Contains(l, `msg="sip trace"`) && strings.Contains(l, "transport=TCP") && strings.Contains(l, `sip="REGISTER `) {
			n++
			if strings.Contains(l, "Authorization:") && !strings.Contains(l, "response=[masked]") {
				t.Fatalf("traced REGISTER: %s", l)
			}
		}
	}
	if n < 2 {
		t.Fatalf("%d REGISTERs over TCP in the trace", n)
	}
}
