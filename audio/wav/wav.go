package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Sentinel errors, wrapped with details by Decode, ReadFile and Writer.
var (
	ErrNotWAV      = errors.New("wav: not a RIFF/WAVE file")
	ErrTruncated   = errors.New("wav: truncated")
	ErrMalformed   = errors.New("wav: malformed")
	ErrUnsupported = errors.New("wav: unsupported format")
	ErrTooLarge    = errors.New("wav: data exceeds the 4 GiB RIFF limit")
)

// Format tags from the fmt chunk (RFC 2361 Appendix A).
const (
	FormatPCM        uint16 = 0x0001
	FormatIEEEFloat  uint16 = 0x0003
	FormatALaw       uint16 = 0x0006
	FormatMuLaw      uint16 = 0x0007
	FormatExtensible uint16 = 0xFFFE
)

// Format describes a WAVE stream.
type Format struct {
	Tag           uint16 // FormatPCM, ...; extensible PCM is reported as FormatPCM
	Channels      int
	SampleRate    int
	BitsPerSample int
}

// Telephone is the format of all audio in this firmware: 8000 Hz mono 16-bit PCM.
var Telephone = Format{Tag: FormatPCM, Channels: 1, SampleRate: 8000, BitsPerSample: 16}

// String describes f the way a user would, e.g. "44100 Hz 2-channel 16-bit PCM".
func (f Format) String() string {
	ch := fmt.Sprintf("%d-channel", f.Channels)
	if f.Channels == 1 {
		ch = "mono"
	}
	return fmt.Sprintf("%d Hz %s %d-bit %s", f.SampleRate, ch, f.BitsPerSample, tagName(f.Tag))
}

func tagName(tag uint16) string {
	switch tag {
	case FormatPCM:
		return "PCM"
	case FormatIEEEFloat:
		return "float"
	case FormatALaw:
		return "A-law"
	case FormatMuLaw:
		return "µ-law"
	}
	return fmt.Sprintf("format 0x%04x", tag)
}

// ReadFile reads a whole WAVE file of 16-bit PCM. Errors name the file.
func ReadFile(path string) ([]int16, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Format{}, err // *PathError already names the file
	}
	defer f.Close()
	s, format, err := Decode(f)
	if err != nil {
		return nil, format, fmt.Errorf("%s: %w", path, err)
	}
	return s, format, nil
}

// streamingSize is what streaming writers put in a data chunk size they
// could not patch; such a chunk runs to the end of the file.
const streamingSize = 0xFFFFFFFF

// Decode reads a WAVE stream and returns its interleaved 16-bit samples and
// format. Formats other than 16-bit PCM return the parsed Format and an
// error wrapping ErrUnsupported.
func Decode(r io.Reader) ([]int16, Format, error) {
	var hdr [12]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 {
			return nil, Format{}, fmt.Errorf("%w: empty", ErrNotWAV)
		}
		if string(hdr[0:4]) != "RIFF" {
			return nil, Format{}, fmt.Errorf("%w: no RIFF header", ErrNotWAV)
		}
		return nil, Format{}, fmt.Errorf("%w: RIFF header is %d bytes, want 12", ErrTruncated, n)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, Format{}, fmt.Errorf("%w: starts with %q, want \"RIFF....WAVE\"", ErrNotWAV, hdr[:])
	}
	var (
		format  Format
		haveFmt bool
	)
	for {
		var ch [8]byte
		n, err := io.ReadFull(r, ch[:])
		if err != nil {
			if n == 0 && haveFmt {
				return nil, format, fmt.Errorf("%w: no data chunk", ErrMalformed)
			}
			if n == 0 {
				return nil, format, fmt.Errorf("%w: no fmt chunk", ErrMalformed)
			}
			return nil, format, fmt.Errorf("%w: chunk header is %d bytes, want 8", ErrTruncated, n)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, format, fmt.Errorf("%w: second fmt chunk", ErrMalformed)
			}
			if format, err = readFmt(r, size); err != nil {
				return nil, format, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, format, fmt.Errorf("%w: data chunk before fmt chunk", ErrMalformed)
			}
			if format.Tag != FormatPCM || format.BitsPerSample != 16 {
				return nil, format, fmt.Errorf("%w: %v, want 16-bit PCM", ErrUnsupported, format)
			}
			samples, err := readData(r, size)
			return samples, format, err
		default:
			if err := skip(r, size); err != nil {
				return nil, format, fmt.Errorf("%w: %q chunk of %d bytes: %v", ErrTruncated, id, size, err)
			}
		}
	}
}

func readFmt(r io.Reader, size uint32) (Format, error) {
	if size < 16 {
		return Format{}, fmt.Errorf("%w: fmt chunk is %d bytes, want at least 16", ErrMalformed, size)
	}
	if size > 1024 {
		return Format{}, fmt.Errorf("%w: fmt chunk is %d bytes, want at most 1024", ErrMalformed, size)
	}
	b := make([]byte, size+size&1) // RIFF chunks are word aligned
	if n, err := io.ReadFull(r, b); err != nil {
		// The pad byte of a final odd chunk may be missing; the rest must be there.
		if n < int(size) {
			return Format{}, fmt.Errorf("%w: fmt chunk has %d of %d bytes", ErrTruncated, n, size)
		}
	}
	f := Format{
		Tag:           binary.LittleEndian.Uint16(b[0:2]),
		Channels:      int(binary.LittleEndian.Uint16(b[2:4])),
		SampleRate:    int(binary.LittleEndian.Uint32(b[4:8])),
		BitsPerSample: int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.Tag == FormatExtensible {
		// WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) subFormat GUID(16);
		// the GUID's first two bytes are the format tag.
		if size < 40 {
			return f, fmt.Errorf("%w: extensible fmt chunk is %d bytes, want 40", ErrMalformed, size)
		}
		f.Tag = binary.LittleEndian.Uint16(b[24:26])
	}
	if f.Channels == 0 {
		return f, fmt.Errorf("%w: 0 channels", ErrMalformed)
	}
	return f, nil
}

func readData(r io.Reader, size uint32) ([]int16, error) {
	var buf bytes.Buffer
	var src io.Reader = r
	if size != streamingSize {
		src = io.LimitReader(r, int64(size))
	}
	if _, err := buf.ReadFrom(src); err != nil {
		return nil, fmt.Errorf("%w: reading data: %v", ErrTruncated, err)
	}
	b := buf.Bytes()
	if size != streamingSize && uint32(len(b)) < size {
		return nil, fmt.Errorf("%w: data chunk has %d of %d bytes", ErrTruncated, len(b), size)
	}
	b = b[:len(b)&^1] // an odd trailing byte is half a sample
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s, nil
}

func skip(r io.Reader, size uint32) error {
	n := int64(size) + int64(size&1)
	got, err := io.CopyN(io.Discard, r, n)
	if err == io.EOF && got >= int64(size) {
		return nil // missing pad byte at the end of the file
	}
	return err
}
