package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// The media figures of issue 4, for phoned and for baresip in the same run
// (make media-figures):
//
//	go test -run='^$' -bench=MediaFigures -benchtime=1x -timeout 10m ./firmware/interop/
//
// Each sub-benchmark makes ONE call, whatever b.N, of figureCall (60 s;
// PHONED_FIGURE_CALL=10s shortens it for a try), phoned and baresip
// calling each other directly on 127.0.0.1 with G.711 both ways and no
// proxy. The phone being measured places the call and the other answers,
// so each side is measured in the same role, in a call of its own:
//
//	phoned:  phoned (700 Hz WAV microphone) dials baresip, which answers
//	         at once; phoned's RTP stream and the phoned process are measured.
//	baresip: baresip (1100 Hz aufile source) dials phoned, which answers by
//	         lifting the handset; baresip's RTP stream and process are measured.
//
// From the moment both ends report the call established (phoned
// "talking", baresip CALL_ESTABLISHED) until figureCall later:
//
//	ms-dev-median, ms-dev-p99, ms-dev-max  send pacing: |Δt − 20 ms| between
//	    consecutive RTP packets (payload type 0 or 8) of the measured phone's
//	    RTP source port, timestamped on the loopback interface by dumpcap
//	    and decoded by tshark
//	packets      RTP packets of that stream in the window
//	cpu-s        utime+stime of the measured process over the window (/proc/PID/stat)
//	MiB-peak-rss its VmHWM (/proc/PID/status) at the end of the window
//	s-call       the window's length
//
// Timing is reported, never asserted (design notes, test tier 5).

// ptime is the packet time both phones use by default (a=ptime:20).
const ptime = 20 * time.Millisecond

// figureCall is the length of a figure call: PHONED_FIGURE_CALL, else 60 s.
func figureCall(b *testing.B) time.Duration {
	s := os.Getenv("PHONED_FIGURE_CALL")
	if s == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		b.Fatalf("PHONED_FIGURE_CALL=%q: want a duration of at least 1s (e.g. 10s)", s)
	}
	return d
}

func BenchmarkMediaFigures(b *testing.B) {
	callLen := figureCall(b)
	// The far end's microphone must outlast the call: baresip 1.0 hangs up
	// when its aufile source ends.
	peerMic := func(b *testing.B) string { return lab.ToneWAV(b, 1100, callLen+time.Minute) }

	b.Run("phoned", func(b *testing.B) {
		peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, MicWAV: peerMic(b)})
		p := startPhoneMic(b, nil, lab.ToneWAV(b, 700, 2*time.Second), "",
			fmt.Sprintf("[directory]\n\"1002\" = %q\n[log]\nlevel = \"warn\"\n", peer.URI()))
		must(b, p.Hook(true))
		must(b, p.Keys("1002#"))
		if _, err := p.Wait("talking", within); err != nil {
			b.Fatal(err)
		}
		peer.WaitEvent(b, "CALL_ESTABLISHED", within)
		pid, err := lab.PIDWithArg(filepath.Join(p.dir, "phone.toml"))
		must(b, err)

		m := measureCall(b, pid, p.sipPort, callLen)
		checkCallUp(b, p, peer)
		must(b, p.Hook(false))
		peer.WaitEvent(b, "CALL_CLOSED", within)
		m.report(b)
	})

	b.Run("baresip", func(b *testing.B) {
		peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002", MicWAV: peerMic(b)})
		p := startPhoneMic(b, nil, lab.ToneWAV(b, 700, 2*time.Second), "", "[log]\nlevel = \"warn\"\n")
		must(b, peer.Dial(fmt.Sprintf("sip:1001@%s", p.sipAddr())))
		if _, err := p.Wait("ringing", within); err != nil {
			b.Fatal(err)
		}
		must(b, p.Hook(true))
		if _, err := p.Wait("talking", within); err != nil {
			b.Fatal(err)
		}
		peer.WaitEvent(b, "CALL_ESTABLISHED", within)

		m := measureCall(b, peer.PID(), int(peer.Addr().Port()), callLen)
		checkCallUp(b, p, peer)
		must(b, peer.Hangup())
		peer.WaitEvent(b, "CALL_CLOSED", within)
		m.report(b)
	})
}

// callFigures are the figures of one side of one call.
type callFigures struct {
	window  time.Duration
	cpu     time.Duration
	peakRSS int64
	port    int             // the RTP source port measured
	packets int             // G.711 RTP packets sent from it in the window
	devs    []time.Duration // |Δt − ptime| per packet after the first
}

// measureCall captures, on loopback, what process pid sends from its UDP
// ports (all but its SIP port: RTP, RTCP if any) for callLen, samples its
// CPU time at both ends of that window and its peak RSS at the end, and
// decodes its G.711 RTP stream.
func measureCall(b *testing.B, pid, sipPort int, callLen time.Duration) callFigures {
	b.Helper()
	ports, err := lab.UDPPorts(pid)
	must(b, err)
	ports = slices.DeleteFunc(ports, func(p int) bool { return p == sipPort })
	if len(ports) == 0 {
		b.Fatalf("process %d holds no UDP port besides SIP %d: no RTP socket", pid, sipPort)
	}
	tr := lab.StartTrace(b, ports...)

	u0, err := lab.ReadProcUsage(pid)
	must(b, err)
	t0 := time.Now()
	time.Sleep(callLen)
	u1, err := lab.ReadProcUsage(pid)
	must(b, err)
	t1 := time.Now()
	if _, err := tr.Messages(); err != nil { // stops the capture
		b.Fatal(err)
	}

	pkts, err := lab.ReadRTP(tr.File(), ports...)
	must(b, err)
	// The window only: the capture ran a little before t0 and after t1.
	pkts = slices.DeleteFunc(pkts, func(p lab.RTPPacket) bool { return p.Time.Before(t0) || p.Time.After(t1) })
	port, stream, err := lab.G711Stream(pkts)
	if err != nil {
		b.Fatalf("process %d, ports %v (capture %s): %v", pid, ports, tr.File(), err)
	}
	if len(stream) < 2 {
		b.Fatalf("port %d: %d RTP packets in %v", port, len(stream), t1.Sub(t0))
	}
	// The figures assume 20 ms packets; a gap in the sequence numbers
	// would be a packet the capture (or the sender) lost, and shows as a
	// 40 ms interval.
	for i := 1; i < len(stream); i++ {
		if d := stream[i].Timestamp - stream[i-1].Timestamp; d != uint32(ptime/time.Millisecond)*8 {
			b.Fatalf("port %d: RTP timestamp step %d at seq %d, want 160 (20 ms of 8 kHz audio)", port, d, stream[i].Seq)
		}
		if s := stream[i].Seq - stream[i-1].Seq; s != 1 {
			b.Logf("port %d: sequence number step %d at seq %d: a packet missing from the capture", port, s, stream[i].Seq)
		}
	}
	return callFigures{
		window: t1.Sub(t0), cpu: u1.CPU - u0.CPU, peakRSS: u1.PeakRSS,
		port: port, packets: len(stream), devs: lab.PacingDeviations(stream, ptime),
	}
}

// checkCallUp fails b when either end left the call during the window.
func checkCallUp(b *testing.B, p *ourPhone, peer *lab.Baresip) {
	b.Helper()
	st, err := p.Status()
	must(b, err)
	if st.State != "talking" {
		b.Fatalf("phoned left the call during the measurement: state %q, reason %q", st.State, st.Reason)
	}
	for _, ev := range peer.Events() {
		if ev.Type == "CALL_CLOSED" {
			b.Fatalf("baresip left the call during the measurement: %v", ev)
		}
	}
}

func (m callFigures) report(b *testing.B) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op") // one call whatever b.N: a time per op means nothing here
	b.ReportMetric(ms(lab.Median(m.devs)), "ms-dev-median")
	b.ReportMetric(ms(lab.Percentile(m.devs, 99)), "ms-dev-p99")
	b.ReportMetric(ms(slices.Max(m.devs)), "ms-dev-max")
	b.ReportMetric(float64(m.packets), "packets")
	b.ReportMetric(m.cpu.Seconds(), "cpu-s")
	b.ReportMetric(float64(m.peakRSS)/(1<<20), "MiB-peak-rss")
	b.ReportMetric(m.window.Seconds(), "s-call")
	b.Logf("RTP source port %d: %d packets in %.1f s; CPU %.2f s (%.2f %% of a core); peak RSS %.1f MiB",
		m.port, m.packets, m.window.Seconds(), m.cpu.Seconds(), 100*m.cpu.Seconds()/m.window.Seconds(), float64(m.peakRSS)/(1<<20))
}
