package lab

import (
	"testing"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/codec"
	audiotone "github.com/deskphone/phoned/audio/tone"
)

// DecodeAsG711 finds a tone sent in clear (the control for the SRTP wire
// checks, which assert it is NOT found), skips other payload types and
// garbage.
func TestDecodeAsG711(t *testing.T) {
	gen := audiotone.NewGenerator(audiotone.MustParse("700/0"))
	f := make([]int16, 160)
	var pkts [][]byte
	for i := 0; i < 50; i++ {
		gen.Fill(f)
		payload := make([]byte, 160)
		codec.PCMA.EncodeFrame(payload, f)
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: uint16(i)}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, b)
	}
	pkts = append(pkts, []byte{1, 2, 3}, append([]byte{0x80, 101}, make([]byte, 14)...))
	s := DecodeAsG711(pkts)
	if len(s) != 50*160 {
		t.Fatalf("%d samples, want %d", len(s), 50*160)
	}
	if h := Heard(s, 700); h < 0.9 {
		t.Fatalf("heard %.2f s of 700 Hz in a clear second of it", h)
	}
}
