package codec

import (
	"errors"
	"math"
	"testing"
)

func TestKnownValues(t *testing.T) {
	// Reference points of G.711 (ITU-T G.711 Tables 1 and 2): zero encodes to
	// 0xFF (µ-law) and 0xD5 (A-law, even bits inverted); the extremes decode
	// to ±32124 (µ-law) and ±32256 (A-law) in 16-bit scale.
	tests := []struct {
		codec  Codec
		sample int16
		code   byte
		back   int16
	}{
		{PCMU, 0, 0xFF, 0},
		{PCMU, 32767, 0x80, 32124},
		{PCMU, -32768, 0x00, -32124},
		{PCMU, 1000, 0xCE, 988},
		{PCMA, 0, 0xD5, 8},
		{PCMA, 32767, 0xAA, 32256},
		{PCMA, -32768, 0x2A, -32256},
		{PCMA, 1000, 0xFA, 1008},
	}
	for _, tt := range tests {
		var enc [1]byte
		var dec [1]int16
		if n := tt.codec.EncodeFrame(enc[:], []int16{tt.sample}); n != 1 {
			t.Fatalf("%s encode n=%d", tt.codec.Name, n)
		}
		if enc[0] != tt.code {
			t.Errorf("%s encode(%d) = %#02x, want %#02x", tt.codec.Name, tt.sample, enc[0], tt.code)
		}
		tt.codec.DecodeFrame(dec[:], enc[:])
		if dec[0] != tt.back {
			t.Errorf("%s decode(%#02x) = %d, want %d", tt.codec.Name, enc[0], dec[0], tt.back)
		}
	}
}

func TestRoundTripError(t *testing.T) {
	// G.711 is logarithmic: the round-trip error is bounded by the segment's
	// step, which is under 1/16 of the magnitude (plus a small floor near 0).
	for _, c := range []Codec{PCMU, PCMA} {
		src := make([]int16, 0, 65536)
		for v := -32768; v <= 32767; v += 7 {
			src = append(src, int16(v))
		}
		enc := make([]byte, len(src))
		dec := make([]int16, len(src))
		if n := c.EncodeFrame(enc, src); n != len(src) {
			t.Fatalf("encode n=%d", n)
		}
		if n := c.DecodeFrame(dec, enc); n != len(src) {
			t.Fatalf("decode n=%d", n)
		}
		for i := range src {
			want, got := float64(src[i]), float64(dec[i])
			limit := math.Max(math.Abs(want)/16, 16)
			if math.Abs(want) > 32256 {
				limit = math.Abs(want) - 32124 + 1100 // clipped top segment
			}
			if math.Abs(got-want) > limit {
				t.Fatalf("%s: %v -> %#02x -> %v, error beyond %v", c.Name, want, enc[i], got, limit)
			}
		}
		// Decoding then re-encoding every code is the identity (except µ-law
		// negative zero 0x7F, which decodes to 0 and re-encodes as 0xFF).
		for code := 0; code < 256; code++ {
			var s [1]int16
			var b [1]byte
			c.DecodeFrame(s[:], []byte{byte(code)})
			c.EncodeFrame(b[:], s[:])
			if b[0] != byte(code) && !(c == PCMU && code == 0x7F) {
				t.Errorf("%s: code %#02x -> %d -> %#02x", c.Name, code, s[0], b[0])
			}
		}
	}
}

func TestShortBuffers(t *testing.T) {
	src := make([]int16, 160)
	dst := make([]byte, 100)
	if n := PCMU.EncodeFrame(dst, src); n != 100 {
		t.Fatalf("n=%d, want 100", n)
	}
	out := make([]int16, 50)
	if n := PCMA.DecodeFrame(out, dst); n != 50 {
		t.Fatalf("n=%d, want 50", n)
	}
}

func TestForPayloadType(t *testing.T) {
	for _, tt := range []struct {
		pt   uint8
		want string
	}{{0, "PCMU/8000"}, {8, "PCMA/8000"}} {
		c, err := ForPayloadType(tt.pt)
		if err != nil || c.String() != tt.want {
			t.Errorf("ForPayloadType(%d) = %v, %v", tt.pt, c, err)
		}
	}
	if _, err := ForPayloadType(18); !errors.Is(err, ErrUnknownPayloadType) {
		t.Errorf("PT 18: err = %v", err)
	}
}

func TestNoAllocs(t *testing.T) {
	src := make([]int16, 160)
	buf := make([]byte, 160)
	for _, c := range []Codec{PCMU, PCMA} {
		if a := testing.AllocsPerRun(100, func() {
			c.EncodeFrame(buf, src)
			c.DecodeFrame(src, buf)
		}); a != 0 {
			t.Errorf("%s: %v allocs per frame", c.Name, a)
		}
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	for _, c := range []Codec{PCMU, PCMA} {
		b.Run(c.Name, func(b *testing.B) {
			src := make([]int16, 160)
			for i := range src {
				src[i] = int16(i * 97)
			}
			dst := make([]byte, 160)
			b.ReportAllocs()
			for b.Loop() {
				c.EncodeFrame(dst, src)
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, c := range []Codec{PCMU, PCMA} {
		b.Run(c.Name, func(b *testing.B) {
			src := make([]byte, 160)
			for i := range src {
				src[i] = byte(i)
			}
			dst := make([]int16, 160)
			b.ReportAllocs()
			for b.Loop() {
				c.DecodeFrame(dst, src)
			}
		})
	}
}
