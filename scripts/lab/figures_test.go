package lab

import (
	"testing"
	"time"
)

// Figures of baresip, to compare with our phone's in the same run
// (issue 3). Run with:
//
//	go test -run='^$' -bench=Baresip -benchtime=20x ./scripts/lab/
//
// Each reports the median in microseconds as a custom metric.

// BenchmarkBaresipInviteTo180 measures baresip's INVITE received -> 180
// sent, seen from a SIPp UAC on loopback (SIPp's trace timestamps), in
// manual answer mode (uac_cancel: ring, CANCEL) and auto answer mode
// (built-in uac: 180, 200, ACK, BYE).
func BenchmarkBaresipInviteTo180(b *testing.B) {
	for _, mode := range []string{AnswerManual, AnswerAuto} {
		b.Run(mode, func(b *testing.B) {
			peer := StartBaresip(b, BaresipOptions{User: "1002", AnswerMode: mode})
			scenario := "uac_cancel"
			if mode == AnswerAuto {
				scenario = "uac"
			}
			b.ResetTimer()
			uac := RunSIPp(b, SIPpOptions{Scenario: scenario, Target: peer.Addr(), Service: "1002",
				Calls: b.N, Rate: 20, Limit: 1, Params: map[string]string{"ring_ms": "5"}, Timeout: 120 * time.Second})
			uac.WaitOK(b)
			b.StopTimer()
			msgs, err := uac.Trace()
			if err != nil {
				b.Fatal(err)
			}
			ds := InviteTo180(msgs)
			if len(ds) != b.N {
				b.Fatalf("%d INVITE->180 times for %d calls", len(ds), b.N)
			}
			b.ReportMetric(float64(Median(ds).Microseconds()), "µs-INVITE-180-median")
		})
	}
}

// BenchmarkBaresipRegister measures baresip's REGISTER against Kamailio
// (401 challenge, then the REGISTER with credentials), from a capture on
// Kamailio's port: one baresip start per iteration.
func BenchmarkBaresipRegister(b *testing.B) {
	k := StartKamailio(b, KamailioOptions{Users: map[string]string{"1002": "pw"}})
	tr := StartTrace(b, int(k.Addr().Port()))
	mic := ToneWAV(b, 0, 2*time.Second)
	for b.Loop() {
		peer := StartBaresip(b, BaresipOptions{User: "1002", Password: "pw", Registrar: k.Addr(), MicWAV: mic})
		peer.Stop()
	}
	b.StopTimer()
	msgs, err := tr.Messages()
	if err != nil {
		b.Fatal(err)
	}
	rts := RegisterRoundTrips(msgs)
	if len(rts) < b.N {
		b.Fatalf("%d registrations captured for %d starts", len(rts), b.N)
	}
	var total, auth []time.Duration
	for _, r := range rts {
		total = append(total, r.Total)
		auth = append(auth, r.Authorized)
	}
	b.ReportMetric(float64(Median(total).Microseconds()), "µs-REGISTER-401-200-median")
	b.ReportMetric(float64(Median(auth).Microseconds()), "µs-REGISTER-auth-200-median")
}
