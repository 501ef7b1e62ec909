package interop

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/scripts/lab"
)

// Issue 11's figures (nothing here asserts a time):
//
//	go test -run='^$' -bench=Multicall -benchtime=1x ./firmware/interop/
//
// PHONED_FIGURE_CALL sets each measured span (default 20s).

// BenchmarkMulticallConferenceCost: phoned's CPU and memory in one call
// against a 3-party conference, in the same run: CPU seconds per second of
// call over each span, and the resident set at its end.
func BenchmarkMulticallConferenceCost(b *testing.B) {
	span := 20 * time.Second
	if v := os.Getenv("PHONED_FIGURE_CALL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		span = d
	}
	for range b.N {
		o := newOffice(b, "[log]\nlevel = \"warn\"\n")
		measure := func(what string) {
			u0, err := lab.ReadProcUsage(o.p.Pid())
			must(b, err)
			time.Sleep(span) // the span measured: real time on purpose
			u1, err := lab.ReadProcUsage(o.p.Pid())
			must(b, err)
			b.ReportMetric(1000*(u1.CPU-u0.CPU).Seconds()/span.Seconds(), "cpu-ms/s-"+what)
			b.ReportMetric(float64(u1.RSS)/(1<<20), "MiB-RSS-"+what)
		}
		o.dial(b, "1002")
		measure("one-call")
		must(b, o.p.Flash())
		o.calls(b, "1002 held", func(cs []daemon.CallInfo) bool { c, ok := callWith(cs, "1002"); return ok && c.Held })
		must(b, o.p.Keys("1003#"))
		o.talkingTo(b, "1003")
		must(b, o.p.Function("conference"))
		o.calls(b, "conference", func(cs []daemon.CallInfo) bool {
			return len(cs) == 2 && cs[0].Conference && cs[1].Conference && !cs[0].Held && !cs[1].Held
		})
		measure("conference")
		u, err := lab.ReadProcUsage(o.p.Pid())
		must(b, err)
		b.ReportMetric(float64(u.PeakRSS)/(1<<20), "MiB-peak-RSS")
		must(b, o.p.Hook(false))
	}
}

// BenchmarkMulticallInviteTo180WhileTalking: INVITE received → 180 sent
// (the call-waiting ring) while the phone talks to baresip, seen by a SIPp
// UAC that CANCELs each call; the median over -benchtime calls.
func BenchmarkMulticallInviteTo180WhileTalking(b *testing.B) {
	peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto})
	p := startPhoneTB(b, nil, fmt.Sprintf("[directory]\n%q = %q\n[log]\nlevel = \"warn\"\n", "1002", peer.URI()))
	must(b, p.Hook(true))
	must(b, p.Keys("1002#"))
	if _, err := p.Wait("talking", within); err != nil {
		b.Fatal(err)
	}
	uac := lab.RunSIPp(b, lab.SIPpOptions{Scenario: "uac_cancel", Target: p.sipAddr(), Service: "1001",
		Calls: b.N, Rate: 20, Limit: 1, Params: map[string]string{"ring_ms": "5"}, Timeout: 120 * time.Second})
	uac.WaitOK(b)
	msgs, err := uac.Trace()
	must(b, err)
	ds := lab.InviteTo180(msgs)
	if len(ds) != b.N {
		b.Fatalf("%d INVITE→180 times for %d calls", len(ds), b.N)
	}
	st, err := p.Status()
	must(b, err)
	if len(st.Calls) != 1 || !strings.Contains(st.Calls[0].Remote, "1002") {
		b.Fatalf("the call with 1002 did not stay alone: %+v", st.Calls)
	}
	b.ReportMetric(float64(lab.Median(ds).Microseconds()), "µs-INVITE-180-median")
}
