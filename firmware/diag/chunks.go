package diag

// chunkSize is the capture buffer's unit: the file grows a chunk at a
// time, never copied, so a full capture holds MaxCaptureBytes plus at most
// one chunk (a bytes.Buffer doubling would hold up to twice the file).
const chunkSize = 64 << 10

// chunks is an append-only byte store. Bytes once written never change,
// so a snapshot (Buffers) is read without a copy while writing goes on.
type chunks struct {
	c [][]byte
	n int
}

func (b *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(b.c) == 0 || len(b.c[len(b.c)-1]) == cap(b.c[len(b.c)-1]) {
			b.c = append(b.c, make([]byte, 0, chunkSize))
		}
		last := &b.c[len(b.c)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	b.n += n
	return n, nil
}

// Len is the bytes written.
func (b *chunks) Len() int { return b.n }

// Buffers is the bytes written so far, shared, not copied: a later Write
// only fills beyond them.
func (b *chunks) Buffers() [][]byte {
	out := make([][]byte, len(b.c))
	for i, c := range b.c {
		out[i] = c[:len(c):len(c)]
	}
	return out
}
