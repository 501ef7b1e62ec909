package interop

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/rtcp"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// The network-impairment proof of issue 4. The kernel here has no netem,
// so the call's media goes through lab.MediaRelay, a UDP relay in the test
// that delays, jitters, loses, duplicates and reorders datagrams from a
// seeded random source; lab.SDPProxy, the phone's outbound proxy, points
// both phones' SDP at it:
//
//	phoned (1001, 700 Hz mic) ──INVITE──> SDPProxy ──> baresip (1003, 1100 Hz, auto answer)
//	phoned RTP/RTCP <──> relay side A │ relay side B <──> baresip RTP/RTCP
//
// ACK and BYE go directly between the phones (no Record-Route). RTP gets
// the impairments in both directions; RTCP only the fixed delay, so that
// the round-trip time the phone computes is the relay's 2 × delay.
//
// The figures:
//
//	go test -run='^$' -bench=ImpairedCall -benchtime=1x ./firmware/interop/

// impairSeed makes the relay's decisions replayable: the same seed loses,
// duplicates and holds back the same packets of each direction.
const impairSeed = 20240604

// startProxiedPhone is startPhoneMic with no registrar, account.outbound_proxy
// set to proxy and a directory entry number → uri.
func startProxiedPhone(t testing.TB, mic string, proxy netip.AddrPort, number, uri string) *ourPhone {
	t.Helper()
	return startPhoneAccount(t, fmt.Sprintf("outbound_proxy = %q\n", proxy.String()), mic, "",
		fmt.Sprintf("[directory]\n%q = %q\n", number, uri))
}

// impairedCall is what one call through the relay gave.
type impairedCall struct {
	// The phone's last status in the call: its RTP counters, jitter
	// buffer and quality figures.
	rtp     daemon.RTPCounts
	playout daemon.Playout
	quality rtcp.Summary
	reports daemon.RTCPStatus // the phone's RTCP counters and baresip's last block about us
	last    *daemon.CallStatus
	relay   lab.RelayStats // RTP, taken right after the status
	rtcp    lab.RelayStats
	states  []string // states seen while the call was meant to be up, other than talking
	current []float64
	heardUs float64 // seconds baresip heard of our 700 Hz
	heardIt float64 // seconds we heard of baresip's 1100 Hz
	length  time.Duration
}

// meanCurrent is the mean playout delay over the second half of the call.
func (c impairedCall) meanCurrent() float64 {
	s := c.current[len(c.current)/2:]
	if len(s) == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s))
}

// runImpairedCall makes one call of length from phoned to baresip with im
// on the RTP in both directions, then hangs up from the phone.
func runImpairedCall(t testing.TB, im lab.Impairment, seed uint64, length time.Duration) impairedCall {
	t.Helper()
	rec := t.TempDir()
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, length+time.Minute), RecordDir: rec})
	delayOnly := lab.Impairment{Delay: im.Delay}
	relay := lab.StartMediaRelay(t,
		lab.RelayConfig{Seed: seed, AtoB: im, BtoA: im},
		lab.RelayConfig{Seed: seed + 1, AtoB: delayOnly, BtoA: delayOnly})
	proxy := lab.StartSDPProxy(t, relay)
	p := startProxiedPhone(t, lab.ToneWAV(t, 700, 2*time.Second), proxy.Addr(), "1003", peer.URI())

	must(t, p.Hook(true))
	must(t, p.Keys("1003#"))
	_, err := p.Wait("talking", within)
	must(t, err)
	peer.WaitEvent(t, "CALL_ESTABLISHED", within)
	if st := proxy.Stats(); st.Offers != 1 || st.Answers < 1 {
		t.Fatalf("the proxy rewrote %d offers and %d answers, want 1 and at least 1: the media bypasses the relay", st.Offers, st.Answers)
	}

	var c impairedCall
	c.length = length
	end := time.Now().Add(length)
	for time.Now().Before(end) {
		time.Sleep(200 * time.Millisecond)
		st, err := p.Status()
		must(t, err)
		if st.State != "talking" || st.Call == nil || st.Call.Playout == nil || st.Call.Quality == nil {
			c.states = append(c.states, st.State)
			if st.State != "talking" {
				break // hung up (or worse): no point in waiting
			}
			continue
		}
		c.rtp, c.playout, c.quality = st.Call.RTP, *st.Call.Playout, *st.Call.Quality
		if st.Call.RTCP != nil {
			c.reports = *st.Call.RTCP
		}
		c.relay, c.rtcp = relay.RTP.Stats(), relay.RTCP.Stats()
		c.current = append(c.current, st.Call.Playout.CurrentMs)
	}
	must(t, p.Hook(false))
	peer.WaitEvent(t, "CALL_CLOSED", within)
	_, err = p.Wait("idle", within)
	must(t, err)
	st, err := p.Status()
	must(t, err)
	c.last = st.LastCall
	must(t, p.Stop()) // flushes speaker.wav

	c.heardIt = heard(t, filepath.Join(p.dir, "speaker.wav"), 1100, 700)
	dec, _ := peer.Recordings()
	if len(dec) == 0 {
		t.Fatal("baresip recorded nothing")
	}
	c.heardUs = heard(t, dec[0], 700, 1100)
	return c
}

func (c impairedCall) log(t testing.TB) {
	t.Helper()
	t.Logf("relay RTP A→B (phoned→baresip): %v", c.relay.AtoB)
	t.Logf("relay RTP B→A (baresip→phoned): %v", c.relay.BtoA)
	t.Logf("relay RTCP: A→B in %d, B→A in %d", c.rtcp.AtoB.In, c.rtcp.BtoA.In)
	t.Logf("phoned rtp %+v", c.rtp)
	t.Logf("phoned playout %+v (mean current over the 2nd half %.1f ms)", c.playout, c.meanCurrent())
	t.Logf("phoned quality %+v", c.quality)
	t.Logf("phoned rtcp %+v (remote loss %s)", c.reports, optFloat(c.reports.RemoteLossPct))
	if c.last != nil && c.last.Playout != nil && c.last.Quality != nil {
		t.Logf("phoned last_call playout %+v quality %+v", *c.last.Playout, *c.last.Quality)
	}
	t.Logf("heard: phoned %.2f s of 1100 Hz, baresip %.2f s of 700 Hz, in a %v call", c.heardIt, c.heardUs, c.length)
}

// A call through 40 ms delay, 0-40 ms jitter, 3 % loss, 1 % duplication
// and 2 % reordering each way stays up, both ends hear each other, and the
// phone's receive counters match what the relay let through.
//
// Native only: it checks packets per second through the relay, the jitter
// buffer's delay and the RTCP round trip of a 10 s real-time call, which
// an emulated CPU stretches by itself.
func TestCallSurvivesImpairedNetwork(t *testing.T) {
	tier.NativeOnly(t, "packets per second, playout delay and round trip of a real-time call")
	const length = 10 * time.Second
	im := lab.Impairment{Delay: 40 * time.Millisecond, Jitter: 40 * time.Millisecond,
		Loss: 0.03, Duplicate: 0.01, Reorder: 0.02}
	c := runImpairedCall(t, im, impairSeed, length)
	c.log(t)

	if len(c.states) > 0 {
		t.Fatalf("the call left talking: states %v", c.states)
	}
	// Both directions went through the relay, about 50 packets a second.
	half := int64(length/(20*time.Millisecond)) / 2
	r := c.relay.BtoA
	if int64(c.relay.AtoB.In) < half || int64(r.In) < half {
		t.Fatalf("relay carried %d and %d RTP packets in a %v call", c.relay.AtoB.In, r.In, length)
	}
	if r.Dropped == 0 || r.Duplicated+r.Held == 0 {
		t.Fatalf("the relay impaired nothing towards the phone: %v", r)
	}
	// The phone received what the relay sent it (a few may have been in
	// flight between the two readings).
	slack := int64(r.Out)/20 + 10
	if got := int64(c.rtp.Received); got < int64(r.Out)-slack || got > int64(r.Out)+slack {
		t.Errorf("phoned received %d RTP packets, the relay sent it %d", got, r.Out)
	}
	// RFC 3550 cumulative loss: expected − received, where duplicates
	// count as received, so between dropped − duplicated and dropped.
	lossSlack := int64(r.Dropped)/4 + 10
	if lost := int64(c.rtp.Lost); lost < int64(r.Dropped)-int64(r.Duplicated)-lossSlack || lost > int64(r.Dropped)+lossSlack {
		t.Errorf("phoned counted %d lost, the relay dropped %d (and duplicated %d)", lost, r.Dropped, r.Duplicated)
	}
	// Voice both ways: at least half the call's length of each tone.
	if min := length.Seconds() / 2; c.heardIt < min || c.heardUs < min {
		t.Errorf("heard %.2f s (phoned) and %.2f s (baresip) of the far tone in %v, want %.1f s", c.heardIt, c.heardUs, length, min)
	}

	// The playout and quality figures of the status API agree with what
	// the relay did: every lost frame concealed, the buffer's delay inside
	// its configured 40-200 ms, and the RTCP round trip the relay's 2 ×
	// delay (RTCP crosses it with the fixed delay only).
	pf := c.playout
	if pf.Lost == 0 || pf.Concealed < pf.Lost {
		t.Errorf("playout %+v: want losses, each concealed, with %d packets dropped", pf, r.Dropped)
	}
	if pf.TargetMs < 40 || pf.TargetMs > 200 || pf.CurrentMs < 0 || pf.CurrentMs > 250 {
		t.Errorf("playout delay %+v outside the 40-200 ms bounds", pf)
	}
	q := c.quality
	if q.PacketsReceived == 0 || q.LossPercent <= 0 || q.LossPercent > 10 || q.MOS < 3 || q.MOS > 4.5 {
		t.Errorf("quality %+v implausible for 3 %% loss", q)
	}
	if rtt := time.Duration(q.RTTMs * float64(time.Millisecond)); rtt < 2*im.Delay*9/10 || rtt > 2*im.Delay+200*time.Millisecond {
		t.Errorf("round-trip time %v, want about the relay's 2 × %v", rtt, im.Delay)
	}
	// baresip's compound reports parse (audio/rtcp's own codec): the
	// phone counts them and shows baresip's block about our stream, whose
	// fraction lost is the relay's 3 % with the noise of one interval.
	if rep := c.reports; rep.Received == 0 || rep.RemoteLossPct == nil || *rep.RemoteLossPct > 15 {
		t.Errorf("rtcp status %+v (remote loss %s): want baresip's reports with its block about us", rep, optFloat(rep.RemoteLossPct))
	}
}

func optFloat(f *float64) string {
	if f == nil {
		return "absent"
	}
	return fmt.Sprintf("%.2f %%", *f)
}

// The jitter-buffer figures of issue 4: added delay at 0 and 40 ms of
// jitter, and concealed/late/lost under 3 % loss. One 10 s call per
// sub-benchmark and iteration (-benchtime=1x for one), 40 ms fixed delay
// each way; the figures are phoned's, from its status at the end of the
// call (playout current_ms is the mean over the call's second half).
func BenchmarkImpairedCall(b *testing.B) {
	const length = 10 * time.Second
	for _, c := range []struct {
		name string
		im   lab.Impairment
	}{
		{"jitter=0ms", lab.Impairment{Delay: 40 * time.Millisecond}},
		{"jitter=40ms", lab.Impairment{Delay: 40 * time.Millisecond, Jitter: 40 * time.Millisecond}},
		{"loss=3%", lab.Impairment{Delay: 40 * time.Millisecond, Loss: 0.03}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var sum struct {
				target, current, late, dup, lost, concealed, inserted, dropped, underruns, jitter, rtt, mos, relayDropped, relayReordered float64
			}
			for i := 0; i < b.N; i++ {
				r := runImpairedCall(b, c.im, impairSeed+uint64(i), length)
				if len(r.states) > 0 {
					b.Fatalf("the call left talking: %v", r.states)
				}
				r.log(b)
				pf, q := r.playout, r.quality
				sum.target += pf.TargetMs
				sum.current += r.meanCurrent()
				sum.late += float64(pf.Late)
				sum.dup += float64(pf.Duplicate)
				sum.lost += float64(pf.Lost)
				sum.concealed += float64(pf.Concealed)
				sum.inserted += float64(pf.Inserted)
				sum.dropped += float64(pf.Dropped)
				sum.underruns += float64(pf.Underruns)
				sum.jitter += q.JitterMs
				sum.rtt += q.RTTMs
				sum.mos += q.MOS
				sum.relayDropped += float64(r.relay.BtoA.Dropped)
				sum.relayReordered += float64(r.relay.BtoA.Reordered)
			}
			n := float64(b.N)
			b.ReportMetric(sum.target/n, "ms-playout-target")
			b.ReportMetric(sum.current/n, "ms-playout-current")
			b.ReportMetric(sum.late/n, "late")
			b.ReportMetric(sum.dup/n, "duplicate")
			b.ReportMetric(sum.lost/n, "lost")
			b.ReportMetric(sum.concealed/n, "concealed")
			b.ReportMetric(sum.inserted/n, "inserted")
			b.ReportMetric(sum.dropped/n, "dropped")
			b.ReportMetric(sum.underruns/n, "underruns")
			b.ReportMetric(sum.jitter/n, "ms-rtcp-jitter")
			b.ReportMetric(sum.rtt/n, "ms-rtt")
			b.ReportMetric(sum.mos/n, "mos")
			b.ReportMetric(sum.relayDropped/n, "relay-dropped")
			b.ReportMetric(sum.relayReordered/n, "relay-reordered")
		})
	}
}
