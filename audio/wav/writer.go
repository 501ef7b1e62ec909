package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const headerSize = 44

// maxData is the largest data chunk whose RIFF size still fits in 32 bits.
const maxData = 0xFFFFFFFF - (headerSize - 8)

// Writer writes 16-bit PCM samples to a WAVE stream. It is not safe for
// concurrent use.
type Writer struct {
	w      io.WriteSeeker
	at     io.WriterAt // w as a WriterAt, when it is one (e.g. *os.File)
	format Format
	base   int64  // offset of the header in w
	data   uint32 // bytes of sample data written
	buf    []byte // reused sample encoding buffer
	hdr    [headerSize]byte
	err    error // sticky
}

// NewWriter writes a header for f at the current position of w (normally
// the start of a freshly created or truncated file) and returns a Writer.
// Only 16-bit PCM formats are accepted.
func NewWriter(w io.WriteSeeker, f Format) (*Writer, error) {
	if f.Tag != FormatPCM || f.BitsPerSample != 16 || f.Channels < 1 || f.SampleRate < 1 {
		return nil, fmt.Errorf("%w: cannot write %v, want 16-bit PCM", ErrUnsupported, f)
	}
	base, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	wr := &Writer{w: w, format: f, base: base}
	wr.at, _ = w.(io.WriterAt)
	wr.fillHeader()
	if _, err := w.Write(wr.hdr[:]); err != nil {
		return nil, fmt.Errorf("wav: writing header: %w", err)
	}
	return wr, nil
}

// Format returns the format being written.
func (w *Writer) Format() Format { return w.format }

// Samples returns the number of samples written so far (all channels).
func (w *Writer) Samples() int { return int(w.data / 2) }

func (w *Writer) fillHeader() {
	f := w.format
	h := w.hdr[:]
	blockAlign := f.Channels * 2
	copy(h[0:4], "RIFF")
	binary.LittleEndian.PutUint32(h[4:8], headerSize-8+w.data)
	copy(h[8:16], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:20], 16)
	binary.LittleEndian.PutUint16(h[20:22], FormatPCM)
	binary.LittleEndian.PutUint16(h[22:24], uint16(f.Channels))
	binary.LittleEndian.PutUint32(h[24:28], uint32(f.SampleRate))
	binary.LittleEndian.PutUint32(h[28:32], uint32(f.SampleRate*blockAlign))
	binary.LittleEndian.PutUint16(h[32:34], uint16(blockAlign))
	binary.LittleEndian.PutUint16(h[34:36], 16)
	copy(h[36:40], "data")
	binary.LittleEndian.PutUint32(h[40:44], w.data)
}

// Write appends samples and patches the header sizes, so the file on disk
// is complete and readable after every call. It does not allocate once its
// buffer has grown to the frame size.
func (w *Writer) Write(samples []int16) error {
	if w.err != nil {
		return w.err
	}
	n := 2 * len(samples)
	if uint64(w.data)+uint64(n) > maxData {
		return fmt.Errorf("%w: at %d bytes", ErrTooLarge, w.data)
	}
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("wav: writing samples: %w", err)
		return w.err
	}
	w.data += uint32(n)
	return w.Flush()
}

// Flush patches the RIFF and data chunk sizes in the header.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.fillHeader()
	// Only bytes 4..44 change, but rewriting them in one positioned write
	// keeps this to a single syscall on a file.
	if w.at != nil {
		if _, err := w.at.WriteAt(w.hdr[4:], w.base+4); err != nil {
			w.err = fmt.Errorf("wav: patching header: %w", err)
		}
		return w.err
	}
	end, err := w.w.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = w.w.Seek(w.base+4, io.SeekStart)
	}
	if err == nil {
		_, err = w.w.Write(w.hdr[4:])
	}
	if err == nil {
		_, err = w.w.Seek(end, io.SeekStart)
	}
	if err != nil {
		w.err = fmt.Errorf("wav: patching header: %w", err)
	}
	return w.err
}

// errClosed is returned by Write after Close.
var errClosed = errors.New("wav: writer closed")

// Close patches the header. It does not close the underlying writer.
func (w *Writer) Close() error {
	err := w.Flush()
	if w.err == nil {
		w.err = errClosed
	}
	return err
}
