package rtcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestNTP(t *testing.T) {
	if got, want := ToNTP(time.Unix(0, 0)), uint64(ntpEpochOffset)<<32; got != want {
		t.Errorf("ToNTP(unix 0) = %#x, want %#x", got, want)
	}
	if got, want := ToNTP(time.Unix(1, 500_000_000)), uint64(ntpEpochOffset+1)<<32|1<<31; got != want {
		t.Errorf("ToNTP(1.5 s) = %#x, want %#x", got, want)
	}
	// Era 0 ends 2036-02-07 06:28:16 UTC; the seconds field wraps to 0.
	wrap := time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
	if got := ToNTP(wrap); got != 0 {
		t.Errorf("ToNTP(era wrap) = %#x, want 0", got)
	}
	for _, tm := range []time.Time{t0, t0.Add(123456789), wrap, wrap.Add(-time.Nanosecond), wrap.Add(time.Hour),
		time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)} {
		back := FromNTP(ToNTP(tm))
		if d := tm.Sub(back); d < 0 || d > time.Nanosecond {
			t.Errorf("FromNTP(ToNTP(%v)) = %v", tm, back)
		}
	}
	if got := NTPShort(0x11223344_55667788); got != 0x33445566 {
		t.Errorf("NTPShort = %#x", got)
	}
	if got := durationToShort(time.Hour * 24); got != 0xFFFFFFFF {
		t.Errorf("durationToShort(24h) = %#x, want clamp", got)
	}
	if got := durationToShort(-time.Second); got != 0 {
		t.Errorf("durationToShort(-1s) = %#x", got)
	}
}

func TestSenderReport(t *testing.T) {
	s := NewSender(0x1234, 0)
	for i := 0; i < 3; i++ {
		s.OnPacket(160, 1000, t0)
	}
	s.OnPacket(-1, 1000, t0) // counted as an empty packet
	rtpNow := RTPTimestampAt(1000, t0, t0.Add(25*time.Millisecond), 0)
	if rtpNow != 1200 {
		t.Fatalf("RTPTimestampAt = %d, want 1200", rtpNow)
	}
	sr := s.SenderReport(t0.Add(25 * time.Millisecond))
	if sr.SSRC != 0x1234 || sr.PacketCount != 4 || sr.OctetCount != 480 || sr.RTPTime != 1200 ||
		sr.NTPTime != ToNTP(t0.Add(25*time.Millisecond)) {
		t.Fatalf("SR = %+v", sr)
	}
	if st := s.Stats(); st != (SenderStats{SSRC: 0x1234, Packets: 4, Octets: 480}) {
		t.Fatalf("stats = %+v", st)
	}
	// Round trip through our codec, with a report block from our Receiver.
	r := NewReceiver(0)
	r.OnPacket(0x5678, 10, 0, t0)
	r.OnPacket(0x5678, 12, 320, t0.Add(40*time.Millisecond))
	blk, _ := r.Report(t0)
	sr.Reports = []ReceptionReport{blk}
	b, err := MarshalReport(sr, "phone@10.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.SenderReports) != 1 || len(in.ReceiverReports) != 0 || in.Bye != nil {
		t.Fatalf("parsed %+v", in)
	}
	got := in.SenderReports[0]
	if got.SSRC != sr.SSRC || got.NTPTime != sr.NTPTime || got.RTPTime != sr.RTPTime ||
		got.PacketCount != sr.PacketCount || got.OctetCount != sr.OctetCount ||
		len(got.Reports) != 1 || got.Reports[0] != blk {
		t.Fatalf("round trip: got %+v, sent %+v", got, sr)
	}
	if in.CNAME != "phone@10.0.0.5" || in.CNAMESSRC != 0x1234 {
		t.Fatalf("CNAME = %q from %#x", in.CNAME, in.CNAMESSRC)
	}
	if blk, ok := in.BlockFor(0x5678); !ok || TotalLost(blk) != 1 || blk.FractionLost != 85 {
		t.Fatalf("BlockFor = %+v %v", blk, ok)
	}
	if _, ok := in.BlockFor(1); ok {
		t.Fatal("BlockFor found a block about an unknown source")
	}
}

func TestReceiverReportAndByeRoundTrip(t *testing.T) {
	blk := ReceptionReport{SSRC: 2, FractionLost: 3, TotalLost: 0xFFFFFE, LastSequenceNumber: 70000,
		Jitter: 44, LastSenderReport: 0xAABBCCDD, Delay: 65536}
	rr := &ReceiverReport{SSRC: 1, Reports: []ReceptionReport{blk}}
	b, err := MarshalBye(rr, "a@b", "hung up")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.ReceiverReports) != 1 || in.ReceiverReports[0].Reports[0] != blk || in.CNAME != "a@b" ||
		len(in.Bye) != 1 || in.Bye[0] != 1 || in.ByeReason != "hung up" || in.Other != 0 {
		t.Fatalf("parsed %+v", in)
	}
	if TotalLost(in.Blocks()[0]) != -2 {
		t.Fatalf("total lost = %d, want -2", TotalLost(in.Blocks()[0]))
	}
	// An empty RR (nothing received yet) is a valid first packet.
	if _, err := MarshalReport(&ReceiverReport{SSRC: 1}, "x"); err != nil {
		t.Fatal(err)
	}
}

func TestBuildErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	for name, f := range map[string]func() error{
		"no cname":    func() error { _, err := MarshalReport(&ReceiverReport{}, ""); return err },
		"long cname":  func() error { _, err := MarshalReport(&ReceiverReport{}, long); return err },
		"bad first":   func() error { _, err := MarshalReport(&Goodbye{}, "x"); return err },
		"nil first":   func() error { _, err := MarshalReport(nil, "x"); return err },
		"nil SR":      func() error { _, err := MarshalReport((*SenderReport)(nil), "x"); return err },
		"long reason": func() error { _, err := MarshalBye(&ReceiverReport{}, "x", long); return err },
		"32 blocks": func() error {
			_, err := MarshalReport(&ReceiverReport{Reports: make([]ReceptionReport, 32)}, "x")
			return err
		},
		"bad block": func() error {
			_, err := MarshalReport(&SenderReport{Reports: []ReceptionReport{{TotalLost: 1 << 30}}}, "x")
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrBuild) {
			t.Errorf("%s: err = %v, want ErrBuild", name, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good, _ := MarshalReport(&ReceiverReport{SSRC: 1}, "x")
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     {0x80, 201},
		"version 1": {0x40, 201, 0, 1, 0, 0, 0, 1},
		"truncated": good[:len(good)-1],
		"bad len":   {0x80, 201, 0, 9, 0, 0, 0, 1},
	} {
		if _, err := Parse(b); !errors.Is(err, ErrParse) {
			t.Errorf("%s: err = %v, want ErrParse", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	sr := &SenderReport{SSRC: 1, NTPTime: 5, Reports: []ReceptionReport{{SSRC: 2}}}
	b1, _ := MarshalReport(sr, "cname")
	b2, _ := MarshalBye(&ReceiverReport{SSRC: 3}, "c", "bye")
	f.Add(b1)
	f.Add(b2)
	f.Add([]byte{0x80, 200, 0, 0})
	f.Add([]byte{0x81, 202, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error %v does not wrap ErrParse", err)
			}
			return
		}
		for _, blk := range in.Blocks() {
			_ = TotalLost(blk)
			_, _ = RTT(blk, t0)
		}
		in.BlockFor(2)
	})
}

func TestRTT(t *testing.T) {
	// Alice sends an SR; 40 ms later Bob receives it; Bob reports 250 ms
	// later; 40 ms after that Alice receives the RR: RTT 80 ms.
	alice := NewSender(0xA11CE, 0)
	sent := t0
	sr := alice.SenderReport(sent) // before any packet: RTP time 0
	if sr.RTPTime != 0 || sr.PacketCount != 0 {
		t.Fatalf("SR before any packet = %+v", sr)
	}
	alice.OnPacket(160, 0, sent)
	sr = alice.SenderReport(sent)
	bobClock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // Bob's clock need not agree
	bob := NewReceiver(0)
	bob.OnPacket(0xA11CE, 1, 0, bobClock)
	bob.OnSenderReport(sr, bobClock.Add(40*time.Millisecond))
	blk, _ := bob.Report(bobClock.Add(290 * time.Millisecond))
	b, err := MarshalReport(&ReceiverReport{SSRC: 0xB0B, Reports: []ReceptionReport{blk}}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := in.BlockFor(0xA11CE)
	if !ok {
		t.Fatal("no block for Alice")
	}
	rtt, err := RTT(got, sent.Add(330*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if d := rtt - 80*time.Millisecond; d < -100*time.Microsecond || d > 100*time.Microsecond {
		t.Fatalf("RTT = %v, want 80ms (within 1/65536 s rounding)", rtt)
	}

	// Across the 16.16 wrap: A = 1.0 s (era 1), LSR = 65535.5 s, DLSR 1 s.
	arrival := FromNTP(0x00000001_00000000)
	rtt, err = RTT(ReceptionReport{LastSenderReport: 0xFFFF8000, Delay: 0x00010000}, arrival)
	if err != nil || rtt != 500*time.Millisecond {
		t.Fatalf("RTT across the wrap = %v, %v; want 500ms", rtt, err)
	}

	for name, tc := range map[string]struct {
		rep  ReceptionReport
		want error
	}{
		"no LSR":         {ReceptionReport{Delay: 5}, ErrNoLSR},
		"negative":       {ReceptionReport{LastSenderReport: NTPShort(ToNTP(t0)), Delay: 0x10000}, ErrBogusRTT},
		"future LSR":     {ReceptionReport{LastSenderReport: NTPShort(ToNTP(t0.Add(time.Second)))}, ErrBogusRTT},
		"longer than 1m": {ReceptionReport{LastSenderReport: NTPShort(ToNTP(t0.Add(-2 * time.Minute)))}, ErrBogusRTT},
	} {
		if _, err := RTT(tc.rep, t0); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestIntervalFormula(t *testing.T) {
	tests := []struct {
		name             string
		members, senders int
		weSent           bool
		bw, avg          float64
		initial          bool
		want             time.Duration
	}{
		{"two-party G.711 is Tmin", 2, 2, true, 80_000, 128, false, 5 * time.Second},
		{"initial is Tmin/2", 2, 2, true, 80_000, 128, true, 2500 * time.Millisecond},
		{"no bandwidth is Tmin", 2, 2, true, 0, 128, false, 5 * time.Second},
		// 1 kbit/s: RTCP 6.25 octets/s; 2 members x 125 octets = 40 s.
		{"thin link", 2, 2, true, 1000, 125, false, 40 * time.Second},
		// 1 of 8 sending (<= 25%): a sender shares 25% with 1 sender.
		{"sender share", 8, 1, true, 1000, 125, false, 80 * time.Second},
		{"receiver share", 8, 1, false, 1000, 125, false, 186_666_666_667 /* 125*7/(6.25*0.75) s */},
		{"no members is one", 0, 0, false, 1000, 125, false, 20 * time.Second},
	}
	for _, tc := range tests {
		got := Interval(tc.members, tc.senders, tc.weSent, tc.bw, tc.avg, tc.initial)
		if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: Interval = %v, want %v", tc.name, got, tc.want)
		}
	}
	if lo, hi := MinRandomInterval, MaxRandomInterval; lo < 2050*time.Millisecond || lo > 2055*time.Millisecond ||
		hi < 6155*time.Millisecond || hi > 6160*time.Millisecond {
		t.Errorf("random bounds = %v..%v, want about 2.052s..6.157s", lo, hi)
	}
}

func TestScheduleBounds(t *testing.T) {
	s := NewSchedule(t0, 80_000, rand.New(rand.NewPCG(7, 8)))
	first := s.Next().Sub(t0)
	if first < MinRandomInterval/2 || first >= MaxRandomInterval/2 {
		t.Fatalf("first report in %v, want %v..%v", first, MinRandomInterval/2, MaxRandomInterval/2)
	}
	if s.Due(t0) || !s.Due(s.Next()) {
		t.Fatal("Due wrong around Next")
	}
	now := s.Next()
	var sum time.Duration
	lo, hi := time.Hour, time.Duration(0)
	const n = 2000
	for i := 0; i < n; i++ {
		next := s.Sent(now, 120)
		d := next.Sub(now)
		if d < MinRandomInterval || d >= MaxRandomInterval {
			t.Fatalf("interval %d = %v, outside %v..%v", i, d, MinRandomInterval, MaxRandomInterval)
		}
		lo, hi = min(lo, d), max(hi, d)
		sum += d
		now = next
	}
	mean := sum / n
	if want := 4104 * time.Millisecond; /* 5 s / (e - 3/2) */ math.Abs(float64(mean-want)) > float64(150*time.Millisecond) {
		t.Errorf("mean interval = %v, want about %v", mean, want)
	}
	if hi-lo < 3*time.Second {
		t.Errorf("intervals span only %v..%v: not randomised", lo, hi)
	}
	// Same seed, same schedule.
	a := NewSchedule(t0, 0, rand.New(rand.NewPCG(1, 1)))
	b := NewSchedule(t0, 0, rand.New(rand.NewPCG(1, 1)))
	for i := 0; i < 10; i++ {
		if a.Sent(t0, 0) != b.Sent(t0, 0) {
			t.Fatal("seeded schedules differ")
		}
	}
	// The default source works too.
	if d := NewSchedule(t0, 0, nil).Sent(t0, 0).Sub(t0); d < MinRandomInterval || d >= MaxRandomInterval {
		t.Fatalf("default source interval %v", d)
	}
}

func TestEModel(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		im     Impairments
		r, mos float64
	}{
		{"clean, short delay", Impairments{PLC: true, OneWayDelay: 20 * ms}, 92.72, 4.40},
		{"clean, no delay", Impairments{PLC: true}, 93.2, 4.41},
		{"1% random, PLC", Impairments{LossPercent: 1, PLC: true}, 89.56, 4.33},
		{"2% random, PLC", Impairments{LossPercent: 2, PLC: true}, 86.19, 4.24},
		{"5% random, PLC", Impairments{LossPercent: 5, PLC: true}, 77.42, 3.92},
		{"10% random, PLC, 20ms", Impairments{LossPercent: 10, PLC: true, OneWayDelay: 20 * ms}, 65.65, 3.39},
		{"1% random, no PLC", Impairments{LossPercent: 1}, 75.28, 3.83},
		{"5% bursty (BurstR 2), PLC", Impairments{LossPercent: 5, BurstR: 2, PLC: true}, 75.99, 3.86},
		{"200 ms one way", Impairments{PLC: true, OneWayDelay: 200 * ms}, 85.90, 4.23},
		{"400 ms one way", Impairments{PLC: true, OneWayDelay: 400 * ms}, 59.10, 3.05},
		{"all lost", Impairments{LossPercent: 100, PLC: true}, 17.26, 1.18},
		{"over 100% is 100%", Impairments{LossPercent: 300, PLC: true}, 17.26, 1.18},
		{"a second one way: R clamps to 0", Impairments{PLC: true, OneWayDelay: time.Second}, 0, 1},
	}
	for _, tc := range tests {
		r := tc.im.R()
		if math.Abs(r-tc.r) > 0.01 {
			t.Errorf("%s: R = %.3f, want %.2f", tc.name, r, tc.r)
		}
		if m := MOS(r); math.Abs(m-tc.mos) > 0.006 {
			t.Errorf("%s: MOS = %.3f, want %.2f", tc.name, m, tc.mos)
		}
	}
	// G.113 Appendix I: Ie-eff for G.711 with PLC at 1/2/5 % random loss.
	for ppl, want := range map[float64]float64{1: 3.64, 2: 7.01, 5: 15.78} {
		if got := (Impairments{LossPercent: ppl, PLC: true}).IeEff(); math.Abs(got-want) > 0.01 {
			t.Errorf("Ie-eff at %v%% = %.3f, want %.2f", ppl, got, want)
		}
	}
	for r, want := range map[float64]float64{-5: 1, 0: 1, 100: 4.5, 120: 4.5} {
		if got := MOS(r); got != want {
			t.Errorf("MOS(%v) = %v, want %v", r, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	rx := ReceiverStats{Received: 980, Expected: 1000, Lost: 20, Jitter: 2500 * time.Microsecond}
	tx := SenderStats{Packets: 1001}
	s := Summarize(tx, rx, 40*time.Millisecond, 40*time.Millisecond) // one way 60 ms: R = 93.2 - 1.44 - 7.01
	want := Summary{PacketsSent: 1001, PacketsReceived: 980, PacketsLost: 20, LossPercent: 2,
		JitterMs: 2.5, RTTMs: 40, RFactor: 84.7, MOS: 4.19}
	if s != want {
		t.Fatalf("summary = %+v\nwant      %+v", s, want)
	}
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"packets_sent":1001`, `"packets_received":980`, `"packets_lost":20`,
		`"loss_percent":2`, `"jitter_ms":2.5`, `"rtt_ms":40`, `"r_factor":84.7`, `"mos":4.19`} {
		if !bytes.Contains(j, []byte(key)) {
			t.Errorf("JSON %s lacks %s", j, key)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("call ended", "quality", s)
	for _, kv := range []string{"quality.sent=1001", "quality.lost=20", "quality.loss_pct=2", "quality.jitter_ms=2.5",
		"quality.rtt_ms=40", "quality.mos=4.19"} {
		if !strings.Contains(buf.String(), kv) {
			t.Errorf("log line %q lacks %s", buf.String(), kv)
		}
	}
	// Nothing received: no loss, no NaN.
	if s := Summarize(SenderStats{}, ReceiverStats{}, 0, 0); s.LossPercent != 0 || s.MOS != 4.41 {
		t.Fatalf("empty summary = %+v", s)
	}
}
