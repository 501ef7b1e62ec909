// Package ring is the fixed-capacity sample FIFO that sits between a sound
// server's uneven callbacks and the 20 ms media loop.
//
// Contract: Buffer holds at most its capacity of int16 samples. Write never
// blocks and never fails: when the samples do not fit it drops the oldest
// ones (an overrun) and reports how many it dropped. Read copies out up to
// len(p) of the oldest samples and never blocks; reading from an empty
// buffer returns 0 (an underrun is the caller's to fill). Neither allocates.
// A Buffer is not safe for concurrent use: the caller holds a lock.
package ring
