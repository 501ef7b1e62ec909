package ring

// Buffer is a FIFO of int16 samples with a fixed capacity. The zero value
// has no capacity; use New.
type Buffer struct {
	buf  []int16
	head int // index of the oldest sample
	n    int // samples held
}

// New returns an empty buffer holding up to capacity samples
// (at least one).
func New(capacity int) *Buffer {
	return &Buffer{buf: make([]int16, max(capacity, 1))}
}

// Cap returns the capacity in samples.
func (b *Buffer) Cap() int { return len(b.buf) }

// Len returns the number of samples held.
func (b *Buffer) Len() int { return b.n }

// Write appends p, dropping the oldest samples to make room, and returns
// how many samples were dropped (0 when p fit). When p alone is longer than
// the capacity, only its newest Cap() samples are kept.
func (b *Buffer) Write(p []int16) (dropped int) {
	if len(p) > len(b.buf) {
		dropped = len(p) - len(b.buf)
		p = p[dropped:]
	}
	if over := b.n + len(p) - len(b.buf); over > 0 {
		b.Discard(over)
		dropped += over
	}
	tail := (b.head + b.n) % len(b.buf)
	c := copy(b.buf[tail:], p)
	copy(b.buf, p[c:])
	b.n += len(p)
	return dropped
}

// Read moves up to len(p) of the oldest samples into p and returns how
// many it moved.
func (b *Buffer) Read(p []int16) int {
	n := min(len(p), b.n)
	c := copy(p[:n], b.buf[b.head:min(b.head+n, len(b.buf))])
	copy(p[c:n], b.buf)
	b.Discard(n)
	return n
}

// Discard drops up to n of the oldest samples and returns how many it
// dropped.
func (b *Buffer) Discard(n int) int {
	n = min(max(n, 0), b.n)
	b.head = (b.head + n) % len(b.buf)
	b.n -= n
	if b.n == 0 {
		b.head = 0
	}
	return n
}

// Reset empties the buffer.
func (b *Buffer) Reset() { b.head, b.n = 0, 0 }
