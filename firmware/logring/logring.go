// Package logring keeps the phone's recent log in memory for a technician:
// the last lines up to a byte budget (download), and live followers (a
// tail). It is an io.Writer placed beside the log's own output.
//
// Bounds, whatever is logged: the ring holds at most Size bytes (the
// oldest lines go first), a line longer than MaxLine is cut, at most
// MaxFollowers follow at once, and a follower that does not keep up loses
// lines (counted) rather than ever blocking the logger.
package logring

import (
	"bytes"
	"errors"
	"sync"
)

// MaxLine is the longest line kept; longer ones are cut and marked.
const MaxLine = 4096

// MaxFollowers bounds the live followers at once.
const MaxFollowers = 4

// followerQueue is the lines a follower may fall behind before it loses
// some.
const followerQueue = 256

// ErrBusy is returned by Follow when MaxFollowers already follow.
var ErrBusy = errors.New("too many log followers")

// Ring is the in-memory log. Its zero value is not usable: use New.
type Ring struct {
	mu        sync.Mutex
	size      int
	lines     [][]byte // oldest first, from head
	head      int
	bytes     int
	partial   []byte // a line written without its newline yet
	followers map[*Follower]struct{}
}

// New returns a ring keeping up to size bytes of lines.
func New(size int) *Ring {
	return &Ring{size: size, followers: map[*Follower]struct{}{}}
}

// Write adds the complete lines of p (a log handler writes one record per
// call). It never blocks on followers and never fails.
func (r *Ring) Write(p []byte) (int, error) {
	n := len(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if room := MaxLine - len(r.partial); room > 0 {
				r.partial = append(r.partial, p[:min(room, len(p))]...)
			}
			break
		}
		line := p[:i]
		if len(r.partial) > 0 {
			line = append(r.partial, line...)
			r.partial = nil
		}
		r.add(line)
		p = p[i+1:]
	}
	return n, nil
}

// add keeps one line (without its newline) and hands it to followers.
func (r *Ring) add(line []byte) {
	if len(line) > MaxLine {
		line = append(line[:MaxLine:MaxLine], " [cut]"...)
	}
	l := bytes.Clone(line)
	r.lines = append(r.lines, l)
	r.bytes += len(l) + 1
	for r.bytes > r.size && r.head < len(r.lines)-1 {
		r.bytes -= len(r.lines[r.head]) + 1
		r.lines[r.head] = nil
		r.head++
	}
	if r.head > 64 && r.head > len(r.lines)/2 {
		r.lines = append(r.lines[:0:0], r.lines[r.head:]...)
		r.head = 0
	}
	for f := range r.followers {
		select {
		case f.c <- l:
		default:
			f.lost++
		}
	}
}

// Snapshot returns the lines kept, oldest first, each ending in a newline.
func (r *Ring) Snapshot() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked()
}

func (r *Ring) snapshotLocked() []byte {
	out := make([]byte, 0, r.bytes)
	for _, l := range r.lines[r.head:] {
		out = append(append(out, l...), '\n')
	}
	return out
}

// Follower receives the lines logged after it started following.
type Follower struct {
	r    *Ring
	c    chan []byte
	lost uint64 // guarded by r.mu
}

// Follow returns the lines kept so far and a follower for the ones to
// come, or ErrBusy. Stop must be called when done.
func (r *Ring) Follow() ([]byte, *Follower, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.followers) >= MaxFollowers {
		return nil, nil, ErrBusy
	}
	f := &Follower{r: r, c: make(chan []byte, followerQueue)}
	r.followers[f] = struct{}{}
	return r.snapshotLocked(), f, nil
}

// Lines delivers each new line (without its newline; do not modify it);
// it is closed by Stop and by the ring's EndFollowers.
func (f *Follower) Lines() <-chan []byte { return f.c }

// Lost returns and resets the count of lines this follower lost by
// falling behind.
func (f *Follower) Lost() uint64 {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n := f.lost
	f.lost = 0
	return n
}

// Stop ends following.
func (f *Follower) Stop() {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if _, ok := f.r.followers[f]; ok {
		delete(f.r.followers, f)
		close(f.c)
	}
}

// EndFollowers ends every follower (the API server is stopping); lines
// are still kept, and new followers may start.
func (r *Ring) EndFollowers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for f := range r.followers {
		delete(r.followers, f)
		close(f.c)
	}
}
