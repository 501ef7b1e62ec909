package rtpstream

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/dtmf"
	"github.com/deskphone/phoned/firmware/clock"
)

const dtmfPT = 101

func dtmfStream(t testing.TB) (*Stream, *clock.Fake, *[]byte) {
	t.Helper()
	clk := clock.NewFake(time.Unix(1000, 0))
	got := new([]byte)
	s, err := newStream(Params{Remote: peer, PayloadType: 0, Clock: clk, Logger: quiet, DTMFPayloadType: dtmfPT,
		OnDTMF: func(d byte) { *got = append(*got, d) }})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, got
}

// eventPacket marshals a telephone-event packet.
func eventPacket(t testing.TB, seq uint16, ts uint32, marker bool, code uint8, end bool, dur uint16) []byte {
	t.Helper()
	var p [4]byte
	dtmf.Event{Code: code, End: end, Volume: 10, Duration: dur}.MarshalTo(p[:])
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: dtmfPT, Marker: marker, SequenceNumber: seq, Timestamp: ts, SSRC: 42}, Payload: p[:]}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleDTMF(t *testing.T) {
	s, clk, got := dtmfStream(t)
	seq, ts := uint16(100), uint32(8000)
	audio := func(n int) {
		for i := 0; i < n; i++ {
			s.handle(packet(t, 0, seq, ts, 42, 100, 160), peer)
			seq++
			ts += 160
			clk.Advance(20 * time.Millisecond)
		}
	}
	event := func(code uint8, frames int, ends int) {
		start := ts
		for i := 1; i <= frames+ends; i++ {
			d := uint16(160 * min(i, frames))
			s.handle(eventPacket(t, seq, start, i == 1, code, i > frames, d), peer)
			seq++
			ts += 160
			clk.Advance(20 * time.Millisecond)
		}
	}
	audio(3)
	event(1, 5, 3)
	audio(2)
	event(11, 4, 3)
	event(11, 4, 3) // '#' again, right after: its own timestamp
	audio(1)
	if string(*got) != "1##" {
		t.Fatalf("digits %q", *got)
	}
	// Lost end packets: the digit is reported once the audio resumes
	// after the timeout.
	event(5, 3, 0)
	if string(*got) != "1##" {
		t.Fatalf("digit before its timeout: %q", *got)
	}
	audio(6)
	if string(*got) != "1##5" {
		t.Fatalf("timed-out digit: %q", *got)
	}
	st := s.Stats()
	if st.DTMFReceived != 4 || st.DTMFPacketsReceived != 8+7+7+3 || st.PacketsReceived != 12+25 || st.PacketsLost != 0 || st.PacketsInvalid != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHandleDTMFNotNegotiatedOrShort(t *testing.T) {
	s, _ := testStream(t, 0) // no telephone-event payload type
	s.handle(eventPacket(t, 1, 0, true, 1, true, 800), peer)
	if st := s.Stats(); st.PacketsInvalid != 1 || st.DTMFPacketsReceived != 0 {
		t.Fatalf("%+v", st)
	}
	d, _, got := dtmfStream(t)
	b := eventPacket(t, 1, 0, true, 1, true, 800)
	d.handle(b[:len(b)-1], peer) // a 3-byte payload
	if st := d.Stats(); st.PacketsInvalid != 1 || len(*got) != 0 {
		t.Fatalf("%+v %q", st, *got)
	}
}

func TestDTMFParams(t *testing.T) {
	for _, pt := range []uint8{1, 95, 128, 255} {
		if _, err := newStream(Params{Remote: peer, DTMFPayloadType: pt, Logger: quiet}); !errors.Is(err, ErrParams) {
			t.Errorf("DTMFPayloadType %d: %v", pt, err)
		}
	}
	s, _ := testStream(t, 0)
	if err := s.StartDTMF('1'); !errors.Is(err, ErrNoDTMF) {
		t.Fatalf("StartDTMF without a payload type: %v", err)
	}
	s.StopDTMF() // harmless
	d, _, _ := dtmfStream(t)
	if err := d.StartDTMF('x'); !errors.Is(err, dtmf.ErrDigit) {
		t.Fatalf("StartDTMF('x'): %v", err)
	}
	d.Close()
	if err := d.StartDTMF('1'); !errors.Is(err, ErrClosed) {
		t.Fatalf("StartDTMF after Close: %v", err)
	}
}

func FuzzHandleDTMF(f *testing.F) {
	f.Add(eventPacket(f, 1, 160, true, 1, false, 160))
	f.Add(eventPacket(f, 2, 160, false, 11, true, 800))
	f.Add(eventPacket(f, 3, 160, false, 200, true, 0xFFFF))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, clk, got := dtmfStream(t)
		s.handle(b, peer)
		s.handle(b, peer) // a retransmission
		clk.Advance(time.Second)
		s.handle(packet(t, 0, 1, 0, 42, 0, 160), peer)
		st := s.Stats()
		if st.PacketsReceived+st.PacketsInvalid != 3 || len(*got) > 1 || st.DTMFReceived != uint64(len(*got)) {
			t.Fatalf("stats %+v, digits %q", st, *got)
		}
	})
}
