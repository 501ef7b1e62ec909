package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// header builds a canonical WAVE header with the given fields.
func header(tag uint16, channels, rate, bits int, dataLen uint32) []byte {
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], tag)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h[:]
}

func pcm(samples ...int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func TestWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, Telephone)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	var want []int16
	for k := 0; k < 5; k++ {
		for i := range frame {
			frame[i] = int16(k*1000 - i*37)
		}
		if err := w.Write(frame); err != nil {
			t.Fatal(err)
		}
		want = append(want, frame...)
		// Readable after every write, before Close: what a crash leaves.
		got, format, err := ReadFile(path)
		if err != nil {
			t.Fatalf("after write %d: %v", k, err)
		}
		if format != Telephone || len(got) != len(want) {
			t.Fatalf("after write %d: %v, %d samples, want %v, %d", k, format, len(got), Telephone, len(want))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(frame); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, format, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if format != Telephone {
		t.Fatalf("format %v", format)
	}
	if !slicesEqual(got, want) {
		t.Fatal("samples differ after round trip")
	}
	st, _ := os.Stat(path)
	if st.Size() != 44+int64(2*len(want)) {
		t.Fatalf("file size %d", st.Size())
	}
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// seekBuffer is an io.WriteSeeker that is not an io.WriterAt, to exercise
// the seek-based header patch.
type seekBuffer struct {
	b   []byte
	pos int
}

func (s *seekBuffer) Write(p []byte) (int, error) {
	if need := s.pos + len(p); need > len(s.b) {
		s.b = append(s.b, make([]byte, need-len(s.b))...)
	}
	copy(s.b[s.pos:], p)
	s.pos += len(p)
	return len(p), nil
}

func (s *seekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		s.pos = int(off)
	case 1:
		s.pos += int(off)
	case 2:
		s.pos = len(s.b) + int(off)
	}
	return int64(s.pos), nil
}

func TestWriterSeekPatch(t *testing.T) {
	var sb seekBuffer
	w, err := NewWriter(&sb, Telephone)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]int16{1, 2, 3})
	w.Write([]int16{4})
	got, _, err := Decode(bytes.NewReader(sb.b))
	if err != nil || !slicesEqual(got, []int16{1, 2, 3, 4}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := NewWriter(&sb, Format{Tag: FormatPCM, Channels: 1, SampleRate: 8000, BitsPerSample: 8}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("8-bit writer: %v", err)
	}
}

func TestWriterNoAllocs(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "a.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, _ := NewWriter(f, Telephone)
	frame := make([]int16, 160)
	w.Write(frame)
	if a := testing.AllocsPerRun(50, func() { w.Write(frame) }); a != 0 {
		t.Fatalf("%v allocs per frame", a)
	}
}

func TestDecode(t *testing.T) {
	listChunk := append([]byte("LIST\x03\x00\x00\x00abc\x00"), []byte{}...) // odd size + pad byte
	withList := append(append(header(FormatPCM, 1, 8000, 16, 4)[:36:36], listChunk...), append([]byte("data\x04\x00\x00\x00"), pcm(7, -7)...)...)
	ext := func() []byte {
		// WAVE_FORMAT_EXTENSIBLE with the PCM sub-format GUID.
		var b bytes.Buffer
		b.WriteString("RIFF\x00\x00\x00\x00WAVEfmt ")
		binary.Write(&b, binary.LittleEndian, uint32(40))
		binary.Write(&b, binary.LittleEndian, []uint16{FormatExtensible, 1})
		binary.Write(&b, binary.LittleEndian, []uint32{8000, 16000})
		binary.Write(&b, binary.LittleEndian, []uint16{2, 16, 22, 16})
		binary.Write(&b, binary.LittleEndian, uint32(4))
		b.Write([]byte{1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71})
		b.WriteString("data\x02\x00\x00\x00")
		b.Write(pcm(5))
		return b.Bytes()
	}()
	streaming := append(header(FormatPCM, 1, 8000, 16, 0xFFFFFFFF), pcm(1, 2, 3)...)

	tests := []struct {
		name    string
		in      []byte
		want    []int16
		format  Format
		err     error
		errText string
	}{
		{name: "ok", in: append(header(FormatPCM, 1, 8000, 16, 6), pcm(1, -2, 32767)...), want: []int16{1, -2, 32767}, format: Telephone},
		{name: "extra bytes after data", in: append(header(FormatPCM, 1, 8000, 16, 2), pcm(9, 10)...), want: []int16{9}, format: Telephone},
		{name: "LIST chunk with pad", in: withList, want: []int16{7, -7}, format: Telephone},
		{name: "extensible PCM", in: ext, want: []int16{5}, format: Telephone},
		{name: "streaming size", in: streaming, want: []int16{1, 2, 3}, format: Telephone},
		{name: "wrong rate is decoded, format reported", in: append(header(FormatPCM, 2, 44100, 16, 4), pcm(1, 2)...), want: []int16{1, 2},
			format: Format{FormatPCM, 2, 44100, 16}},
		{name: "8-bit", in: append(header(FormatPCM, 1, 8000, 8, 2), 1, 2), err: ErrUnsupported, errText: "8000 Hz mono 8-bit PCM"},
		{name: "mu-law", in: append(header(FormatMuLaw, 1, 8000, 8, 2), 1, 2), err: ErrUnsupported, errText: "µ-law"},
		{name: "float", in: append(header(FormatIEEEFloat, 1, 8000, 32, 4), 1, 2, 3, 4), err: ErrUnsupported, errText: "32-bit float"},
		{name: "empty", in: nil, err: ErrNotWAV, errText: "empty"},
		{name: "not RIFF", in: []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00 mp3 data"), err: ErrNotWAV, errText: "RIFF"},
		{name: "RIFF not WAVE", in: []byte("RIFF\x04\x00\x00\x00AVI LIST"), err: ErrNotWAV},
		{name: "short RIFF header", in: []byte("RIFF\x04\x00"), err: ErrTruncated},
		{name: "truncated fmt", in: header(FormatPCM, 1, 8000, 16, 0)[:30], err: ErrTruncated, errText: "fmt chunk has 10 of 16"},
		{name: "truncated data", in: append(header(FormatPCM, 1, 8000, 16, 320), pcm(1, 2)...), err: ErrTruncated, errText: "4 of 320"},
		{name: "truncated chunk header", in: header(FormatPCM, 1, 8000, 16, 0)[:40], err: ErrTruncated},
		{name: "no data chunk", in: header(FormatPCM, 1, 8000, 16, 0)[:36], err: ErrMalformed, errText: "no data"},
		{name: "data before fmt", in: []byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"), err: ErrMalformed, errText: "before fmt"},
		{name: "tiny fmt", in: []byte("RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00abcd"), err: ErrMalformed},
		{name: "huge fmt", in: []byte("RIFF\x00\x00\x00\x00WAVEfmt \x00\x00\x00\x10"), err: ErrMalformed},
		{name: "huge skipped chunk", in: []byte("RIFF\x00\x00\x00\x00WAVEjunk\xff\xff\xff\xff"), err: ErrTruncated},
		{name: "zero channels", in: header(FormatPCM, 0, 8000, 16, 0), err: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, format, err := Decode(bytes.NewReader(tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %q, want it to mention %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format || !slicesEqual(got, tt.want) {
				t.Fatalf("got %v %v, want %v %v", format, got, tt.format, tt.want)
			}
		})
	}
}

func TestReadFileErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mic.wav")
	os.WriteFile(p, append(header(FormatPCM, 1, 8000, 16, 100), 1, 2), 0o644)
	_, _, err := ReadFile(p)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "mic.wav") {
		t.Fatalf("err = %v", err)
	}
	_, _, err = ReadFile(filepath.Join(dir, "missing.wav"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.wav") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(append(header(FormatPCM, 1, 8000, 16, 4), pcm(1, 2)...))
	f.Add(header(FormatPCM, 2, 44100, 16, 0xFFFFFFFF))
	f.Add(header(FormatExtensible, 1, 8000, 16, 0))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x28\x00\x00\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVELIST\x03\x00\x00\x00abc"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, format, err := Decode(bytes.NewReader(b))
		if err == nil {
			if format.Tag != FormatPCM || format.BitsPerSample != 16 {
				t.Fatalf("accepted %v", format)
			}
			if 2*len(samples) > len(b) {
				t.Fatalf("%d samples from %d bytes", len(samples), len(b))
			}
		}
	})
}

func BenchmarkWriterWrite(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "bench.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, _ := NewWriter(f, Telephone)
	frame := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
}
