package interop

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// tlsPhone starts phoned registering over TLS (sip.transport = "tls")
// with Kamailio's TLS socket, trusting ca.
func tlsPhone(t *testing.T, k *lab.Kamailio, ca *lab.TestCA, mic string) *ourPhone {
	t.Helper()
	return startPhoneAccount(t, fmt.Sprintf("registrar = %q\n", k.TLSAddr().String()), mic,
		fmt.Sprintf("transport = \"tls\"\nca = %q\n", ca.CAFile), "")
}

// inbound counts the established TCP connections whose local port is
// port: connections peers opened to the phone's listener.
func inbound(t *testing.T, port int) int {
	t.Helper()
	out, err := exec.Command("ss", "-Htn", "state", "established", fmt.Sprintf("sport = :%d", port)).Output()
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Fields(string(out))) / 4 // Recv-Q Send-Q Local Peer
}

// RFC 3261 §26 / RFC 5626 against Kamailio's tls module: the phone
// registers over TLS, calls baresip through Kamailio and is called by
// baresip, the INVITE arriving on the phone's registration flow (no
// connection is ever opened to the phone's own TLS listener); audio flows
// both ways. Nothing of SIP goes over the TLS port in clear.
func TestTLSRegisterAndCallThroughKamailio(t *testing.T) {
	ca := lab.NewTestCA(t, "lab")
	srv := ca.Issue(t, "kamailio", lab.Loopback())
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"},
		TLS: &lab.KamailioTLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile}})
	capture := lab.StartTCPCapture(t, int(k.TLSAddr().Port()))
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		MicWAV: lab.ToneWAV(t, tone1002, 60*time.Second), RecordDir: t.TempDir()})
	p := tlsPhone(t, k, ca, lab.ToneWAV(t, toneUs, 60*time.Second))
	st, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	spk := lab.Follow(filepath.Join(p.dir, "speaker.wav"))
	heard, err := b.Heard()
	must(t, err)
	if st.Registration.Code != 200 {
		t.Fatalf("registration %+v", st.Registration)
	}

	// We call baresip.
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	b.WaitEvent(t, "CALL_INCOMING", within)
	must(t, b.Accept())
	wait(t, p, "talking")
	hears(t, "baresip", heard, 1, toneUs)
	hears(t, "phone", spk, 1, tone1002)
	must(t, b.Hangup()) // baresip's BYE reaches us over the flow
	wait(t, p, "busy")
	must(t, p.Hook(false))
	wait(t, p, "idle")

	// baresip calls us: the INVITE comes over our registration flow.
	must(t, b.Dial("sip:1001@"+k.Domain()))
	st, err = p.Wait("ringing", within)
	must(t, err)
	if st.Call == nil || st.Call.Direction != "incoming" {
		t.Fatalf("ringing call %+v", st.Call)
	}
	must(t, p.Hook(true))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	must(t, heard.Mark())
	must(t, spk.Mark())
	hears(t, "baresip", heard, 1, toneUs)
	hears(t, "phone", spk, 1, tone1002)
	if n := inbound(t, p.sipPort); n != 0 {
		t.Fatalf("%d connections to the phone's TLS listener: Kamailio did not use the registration flow", n)
	}
	must(t, p.Hook(false)) // our BYE over the flow, along Kamailio's Record-Route
	wait(t, p, "idle")
	b.WaitEvent(t, "CALL_CLOSED", within)
	must(t, p.Stop())

	payload, segs, err := capture.TCPPayload()
	must(t, err)
	if segs < 10 || bytes.Contains(payload, []byte("SIP/2.0")) || bytes.Contains(payload, []byte("REGISTER")) {
		t.Fatalf("TLS port: %d segments, clear SIP seen: %v", segs, bytes.Contains(payload, []byte("SIP/2.0")))
	}
}

// Fails closed: a registrar certificate from a CA the phone does not
// trust, or for another name, leaves the phone unregistered with the
// reason in /api/status, and no SIP in clear on the wire.
func TestTLSBadCertificateFailsClosed(t *testing.T) {
	ca, other := lab.NewTestCA(t, "lab"), lab.NewTestCA(t, "other")
	for _, tc := range []struct {
		name string
		cert lab.Issued
		want string
	}{
		{"unknown CA", other.Issue(t, "kamailio", lab.Loopback()), "TLS: registrar certificate not trusted (signed by unknown authority)"},
		{"wrong name", ca.Issue(t, "wrong", nil, "wrong.example"), "TLS: certificate is for wrong.example, not 127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"},
				TLS: &lab.KamailioTLS{CertFile: tc.cert.CertFile, KeyFile: tc.cert.KeyFile}})
			capture := lab.StartTCPCapture(t, int(k.TLSAddr().Port()))
			p := tlsPhone(t, k, ca, lab.ToneWAV(t, 0, 2*time.Second))
			st, err := p.Until(within, "failed", func(s phonedStatus) bool { return s.Registration.State == "failed" })
			must(t, err)
			if st.Registration.Reason != tc.want {
				t.Fatalf("registration %+v, want reason %q", st.Registration, tc.want)
			}
			// A call goes to the registrar too, and fails the same way.
			must(t, p.Hook(true))
			must(t, p.Keys("1002#"))
			st, err = p.Until(within, "call failed", func(s phonedStatus) bool { return strings.Contains(s.Reason, "TLS: ") })
			must(t, err)
			if !strings.Contains(st.Reason, strings.TrimPrefix(strings.Replace(tc.want, "registrar", "peer", 1), "TLS: ")) {
				t.Fatalf("call failed with %q, want the certificate's fault", st.Reason)
			}
			must(t, p.Stop())
			payload, _, err := capture.TCPPayload()
			must(t, err)
			if bytes.Contains(payload, []byte("SIP/2.0")) {
				t.Fatal("SIP in clear on the TLS port")
			}
			if strings.Contains(k.Log(), "REGISTER sip:") {
				t.Fatal("Kamailio saw a REGISTER")
			}
		})
	}
}
