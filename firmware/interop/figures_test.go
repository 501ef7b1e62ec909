package interop

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// The figures of issue 3, each measured for phoned and for baresip in the
// same run, on the wire or at the far end:
//
//	go test -run='^$' -bench=. -benchtime=20x ./firmware/interop/
//
// They are reported as medians; nothing here asserts a time.

// INVITE received → 180 sent, seen from a SIPp UAC that CANCELs each call.
func BenchmarkInviteTo180(b *testing.B) {
	run := func(b *testing.B, target netip.AddrPort, user string) {
		uac := lab.RunSIPp(b, lab.SIPpOptions{Scenario: "uac_cancel", Target: target, Service: user,
			Calls: b.N, Rate: 20, Limit: 1, Params: map[string]string{"ring_ms": "5"}, Timeout: 120 * time.Second})
		uac.WaitOK(b)
		msgs, err := uac.Trace()
		if err != nil {
			b.Fatal(err)
		}
		ds := lab.InviteTo180(msgs)
		if len(ds) != b.N {
			b.Fatalf("%d INVITE→180 times for %d calls", len(ds), b.N)
		}
		b.ReportMetric(float64(lab.Median(ds).Microseconds()), "µs-INVITE-180-median")
	}
	b.Run("phoned", func(b *testing.B) {
		p := startPhoneTB(b, nil, "[log]\nlevel = \"warn\"\n")
		run(b, p.sipAddr(), "1001")
	})
	b.Run("baresip", func(b *testing.B) {
		peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerManual})
		run(b, peer.Addr(), "1002")
	})
}

// REGISTER → 401 → REGISTER with credentials → 200 against Kamailio, from
// a capture on Kamailio's port; one start of the phone per iteration.
func BenchmarkRegister(b *testing.B) {
	report := func(b *testing.B, tr *lab.Trace) {
		msgs, err := tr.Messages()
		if err != nil {
			b.Fatal(err)
		}
		rts := lab.RegisterRoundTrips(msgs)
		if len(rts) < b.N {
			b.Fatalf("%d registrations captured for %d starts", len(rts), b.N)
		}
		var total, auth []time.Duration
		for _, r := range rts {
			total = append(total, r.Total)
			auth = append(auth, r.Authorized)
		}
		b.ReportMetric(float64(lab.Median(total).Microseconds()), "µs-REGISTER-401-200-median")
		b.ReportMetric(float64(lab.Median(auth).Microseconds()), "µs-REGISTER-auth-200-median")
	}
	b.Run("phoned", func(b *testing.B) {
		k := lab.StartKamailio(b, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}})
		tr := lab.StartTrace(b, int(k.Addr().Port()))
		for b.Loop() {
			p := startPhoneTB(b, k, "")
			if _, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" }); err != nil {
				b.Fatal(err)
			}
			if err := p.Stop(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		report(b, tr)
	})
	b.Run("baresip", func(b *testing.B) {
		k := lab.StartKamailio(b, lab.KamailioOptions{Users: map[string]string{"1002": "pw"}})
		tr := lab.StartTrace(b, int(k.Addr().Port()))
		mic := lab.ToneWAV(b, 0, 2*time.Second)
		for b.Loop() {
			peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002", Password: "pw", Registrar: k.Addr(), MicWAV: mic})
			peer.Stop()
		}
		b.StopTimer()
		report(b, tr)
	})
}

// The user's last key (phoned: "#" through the local API; baresip: the
// dial command on its control socket) → INVITE received by the callee.
func BenchmarkLastDigitToInvite(b *testing.B) {
	callee, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer callee.Close()
	uri := fmt.Sprintf("sip:2000@%s", callee.LocalAddr())
	// awaitInvite returns when an INVITE arrives, answering it 486 so the
	// caller ends the call.
	awaitInvite := func(b *testing.B) {
		buf := make([]byte, 65535)
		for {
			callee.SetReadDeadline(time.Now().Add(within))
			n, from, err := callee.ReadFromUDP(buf)
			if err != nil {
				b.Fatal(err)
			}
			msg := string(buf[:n])
			if !strings.HasPrefix(msg, "INVITE ") {
				continue // the ACK of an earlier 486
			}
			callee.WriteToUDP([]byte(busyFor(msg)), from)
			return
		}
	}
	var ds []time.Duration
	b.Run("phoned", func(b *testing.B) {
		ds = ds[:0]
		p := startPhoneTB(b, nil, fmt.Sprintf("[directory]\n\"2000\" = %q\n[log]\nlevel = \"warn\"\n", uri))
		for b.Loop() {
			must(b, p.Hook(true))
			if _, err := p.Wait("dialtone", within); err != nil {
				b.Fatal(err)
			}
			must(b, p.Keys("2000"))
			if _, err := p.WaitDisplay("dialing 2000", within); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			must(b, p.Keys("#"))
			awaitInvite(b)
			ds = append(ds, time.Since(t0))
			if _, err := p.Wait("busy", within); err != nil {
				b.Fatal(err)
			}
			must(b, p.Hook(false))
			if _, err := p.Wait("idle", within); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(lab.Median(ds).Microseconds()), "µs-key-INVITE-median")
	})
	b.Run("baresip", func(b *testing.B) {
		ds = ds[:0]
		peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002"})
		for b.Loop() {
			t0 := time.Now()
			must(b, peer.Dial(uri))
			awaitInvite(b)
			ds = append(ds, time.Since(t0))
			peer.WaitEvent(b, "CALL_CLOSED", within)
		}
		b.ReportMetric(float64(lab.Median(ds).Microseconds()), "µs-key-INVITE-median")
	})
}

// busyFor builds a 486 for a raw INVITE: its Via, From, To (with a tag),
// Call-ID and CSeq.
func busyFor(invite string) string {
	var hdrs []string
	for _, line := range strings.Split(invite, "\r\n") {
		name := strings.ToLower(strings.SplitN(line, ":", 2)[0])
		switch name {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			hdrs = append(hdrs, line)
		case "to", "t":
			hdrs = append(hdrs, line+";tag=bench")
		}
	}
	return "SIP/2.0 486 Busy Here\r\n" + strings.Join(hdrs, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
}
