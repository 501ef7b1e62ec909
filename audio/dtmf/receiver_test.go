package dtmf

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1700000000, 0)

// step is one recorded packet (or, with tick, a Tick) at ms after epoch.
type step struct {
	ms   int
	tick bool
	ts   uint32
	code uint8
	dur  uint16
	end  bool
}

func pkt(ms int, ts uint32, code uint8, dur uint16, end bool) step {
	return step{ms: ms, ts: ts, code: code, dur: dur, end: end}
}

func tick(ms int) step { return step{ms: ms, tick: true} }

// press records what Sender sends for one 100 ms key press: updates every
// 20 ms from ms, then three ends, with timestamp ts.
func press(ms int, ts uint32, code uint8) []step {
	var out []step
	for i := 1; i <= 5; i++ {
		out = append(out, pkt(ms+20*(i-1), ts, code, uint16(160*i), i == 5))
	}
	return append(out, pkt(ms+100, ts, code, 800, true), pkt(ms+120, ts, code, 800, true))
}

func cat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// drop returns steps without the packets at the given indexes.
func drop(s []step, idx ...int) []step {
	out := append([]step(nil), s...)
	for i := len(idx) - 1; i >= 0; i-- {
		out = append(out[:idx[i]], out[idx[i]+1:]...)
	}
	return out
}

// render writes digits as key plus E (end seen) or T (timed out or superseded).
func render(ds []Digit) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteByte(d.Key)
		if d.Ended {
			b.WriteByte('E')
		} else {
			b.WriteByte('T')
		}
	}
	return b.String()
}

func TestReceiver(t *testing.T) {
	one := press(0, 1000, 1)
	tests := []struct {
		name  string
		steps []step
		want  string
		dur   []uint32 // durations of the digits, when checked
	}{
		{"normal", one, "1E", []uint32{800}},
		{"lost first packet", drop(one, 0), "1E", []uint32{800}},
		{"lost all but one end", drop(one, 0, 1, 2, 3, 4, 5), "1E", []uint32{800}},
		{"lost end packets", cat(drop(one, 4, 5, 6), []step{tick(79), tick(159), tick(160)}), "1T", []uint32{640}},
		{"lost ends: not reported before the timeout", cat(drop(one, 4, 5, 6), []step{tick(150)}), "", nil},
		{"duplicated ends and updates", cat(one[:2], one[1:2], one[2:], one[4:], one[6:]), "1E", []uint32{800}},
		{"two quick digits", cat(press(0, 1000, 1), press(140, 1000+8*160, 11)), "1E#E", []uint32{800, 800}},
		{"same digit twice", cat(press(0, 1000, 5), press(200, 2600, 5)), "5E5E", nil},
		{"reordered within an event", cat(one[1:2], one[0:1], one[3:4], one[2:3], one[4:]), "1E", []uint32{800}},
		{
			"reordered across events: the next digit overtakes the ends",
			cat(one[:4], press(100, 1000+6*160, 2)[:1], one[4:], press(100, 1000+6*160, 2)[1:]),
			"1T2E", []uint32{640, 800},
		},
		{"late packets after a timeout", cat(one[:3], []step{tick(200)}, one[3:]), "1T", nil},
		{
			"two digits both without ends",
			cat(press(0, 1000, 7)[:3], press(200, 5000, 8)[:3], []step{tick(400)}),
			"7T8T", nil,
		},
		{"not a DTMF event (flash, 16)", []step{pkt(0, 10, 16, 160, true)}, "", nil},
		{
			"long event in two segments (§2.5.1.3)",
			[]step{pkt(0, 100, 9, 160, false), pkt(20, 100, 9, 320, false), pkt(40, 100, 9, 0xFFFF, false), pkt(60, 100+0xFFFF, 9, 160, false),
				pkt(80, 100+0xFFFF, 9, 320, true), pkt(100, 100+0xFFFF, 9, 320, true)},
			"9E", []uint32{0xFFFF + 320},
		},
		{
			"a restarted timeline is believed after a while",
			cat(press(0, 100000, 3), press(5000, 7, 4)),
			"3E4E", nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Receiver
			var got []Digit
			for i, s := range tt.steps {
				now := epoch.Add(time.Duration(s.ms) * time.Millisecond)
				if s.tick {
					got = r.Tick(got, now)
					continue
				}
				var b [4]byte
				Event{Code: s.code, End: s.end, Volume: 10, Duration: s.dur}.MarshalTo(b[:])
				var err error
				if got, err = r.Feed(got, s.ts, b[:], now); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if g := render(got); g != tt.want {
				t.Fatalf("digits %q, want %q (%+v)", g, tt.want, got)
			}
			if tt.dur != nil {
				var durs []uint32
				for _, d := range got {
					durs = append(durs, d.Duration)
				}
				if fmt.Sprint(durs) != fmt.Sprint(tt.dur) {
					t.Fatalf("durations %v, want %v", durs, tt.dur)
				}
			}
		})
	}
}

func TestReceiverErrorsAndReset(t *testing.T) {
	var r Receiver
	if _, err := r.Feed(nil, 1, []byte{1}, epoch); err == nil {
		t.Fatal("short payload accepted")
	}
	d, _ := r.Feed(nil, 1, []byte{1, 10, 0, 160}, epoch)
	if len(d) != 0 || !r.Pending() {
		t.Fatalf("%+v pending=%v", d, r.Pending())
	}
	r.Reset()
	if r.Pending() {
		t.Fatal("pending after Reset")
	}
	r.Timeout = 40 * time.Millisecond
	r.Feed(nil, 1, []byte{1, 10, 0, 160}, epoch)
	if d := r.Tick(nil, epoch.Add(40*time.Millisecond)); render(d) != "1T" || d[0].Timestamp != 1 {
		t.Fatalf("custom timeout: %+v", d)
	}
}

// TestSenderToReceiver loops every sender scenario into a receiver.
func TestSenderToReceiver(t *testing.T) {
	var s Sender
	var r Receiver
	var got []Digit
	now := epoch
	ts := uint32(0xFFFFF000)
	keys := "1#59*0D"
	for i := 0; i < len(keys); i++ {
		c, _ := Code(keys[i])
		s.Start(c, 800)
		for f := 0; f < 3*i; f++ { // hold longer each time
			p, _ := s.Next(ts, 160)
			got = feed(t, &r, got, p, now)
			ts += 160
			now = now.Add(20 * time.Millisecond)
		}
		s.Stop()
		for s.Active() {
			p, _ := s.Next(ts, 160)
			got = feed(t, &r, got, p, now)
			ts += 160
			now = now.Add(20 * time.Millisecond)
		}
	}
	var b strings.Builder
	for _, d := range got {
		if !d.Ended {
			t.Fatalf("digit %q not ended", d.Key)
		}
		b.WriteByte(d.Key)
	}
	if b.String() != keys {
		t.Fatalf("received %q, want %q", b.String(), keys)
	}
}

func feed(t *testing.T, r *Receiver, dst []Digit, p Packet, now time.Time) []Digit {
	t.Helper()
	var b [4]byte
	p.Event.MarshalTo(b[:])
	dst, err := r.Feed(dst, p.Timestamp, b[:], now)
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestReceiverNoAllocs(t *testing.T) {
	var r Receiver
	dst := make([]Digit, 0, 2)
	var b [4]byte
	i := 0
	if a := testing.AllocsPerRun(200, func() {
		Event{Code: uint8(i / 8 % 16), End: i%8 >= 5, Duration: uint16(160 * (i%8 + 1))}.MarshalTo(b[:])
		dst, _ = r.Feed(dst[:0], uint32(i/8*2000), b[:], epoch.Add(time.Duration(i)*20*time.Millisecond))
		i++
	}); a != 0 {
		t.Fatalf("%v allocs per packet", a)
	}
}
