package diag

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/pcap"
)

// Capture bounds.
const (
	// MaxCaptureBytes is the largest capture file: packets that would
	// pass it end the capture.
	MaxCaptureBytes = 8 << 20
	// MaxCaptureTime is the longest capture.
	MaxCaptureTime = 10 * time.Minute
)

// Errors of the capture, for the API to answer in plain words.
var (
	ErrCaptureRunning = errors.New("a capture is already running; stop it first")
	ErrNoCapture      = errors.New("no capture has been taken")
	ErrNotRunning     = errors.New("no capture is running")
	ErrCaptureTime    = fmt.Errorf("the capture time must be 1 to %d seconds", int(MaxCaptureTime/time.Second))
)

// Why a capture ended.
const (
	EndStopped = "stopped"    // asked to stop
	EndTime    = "time"       // its time ran out
	EndSize    = "size_limit" // it reached MaxCaptureBytes
)

// CaptureStatus is the capture's part of the status.
type CaptureStatus struct {
	// State is "none" (never taken), "running", or "done" (the file waits
	// for download).
	State    string    `json:"state"`
	Started  time.Time `json:"started,omitzero"`
	Seconds  int       `json:"seconds,omitempty"` // the time asked for
	Bytes    int       `json:"bytes"`             // the file's size so far
	Packets  int       `json:"packets"`
	Ended    string    `json:"ended,omitempty"` // EndStopped, EndTime or EndSize
	MaxBytes int       `json:"max_bytes"`
}

type capture struct {
	running bool
	started time.Time
	seconds int
	buf     chunks
	w       *pcap.Writer
	packets int
	ended   string
	seq     map[streamKey]uint32 // next TCP sequence number per direction
	timer   clock.Timer
}

type rtpTap struct{ d *Diag }

func (t *rtpTap) Packet(sent, _ bool, local, remote netip.AddrPort, b []byte) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cap == nil || !d.cap.running {
		return
	}
	src, dst := remote, local
	if sent {
		src, dst = local, remote
	}
	if d.room(pcap.UDPSize(src, len(b))) {
		d.cap.w.WriteUDP(d.clk.Now(), src, dst, b)
		d.cap.packets++
	}
}

// StartCapture starts a capture of SIP, RTP and RTCP for d (1 s to
// MaxCaptureTime); the previous capture's file is dropped.
func (d *Diag) StartCapture(dur time.Duration) error {
	if dur < time.Second || dur > MaxCaptureTime {
		return ErrCaptureTime
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cap != nil && d.cap.running {
		return ErrCaptureRunning
	}
	c := &capture{running: true, started: d.clk.Now(), seconds: int(dur / time.Second), seq: map[streamKey]uint32{}}
	w, err := pcap.NewWriter(&c.buf)
	if err != nil {
		return err
	}
	c.w = w
	d.cap = nil // the old file goes before the new one grows
	d.cap = c
	d.gen++
	gen := d.gen
	c.timer = d.clk.AfterFunc(dur, func() { d.end(gen, EndTime) })
	d.updateActive()
	rtpstream.SetTap(&rtpTap{d})
	d.log.Load().Info("capture started", "seconds", c.seconds, "max_bytes", MaxCaptureBytes)
	return nil
}

// StopCapture ends the running capture.
func (d *Diag) StopCapture() error {
	d.mu.Lock()
	gen, running := d.gen, d.cap != nil && d.cap.running
	d.mu.Unlock()
	if !running {
		return ErrNotRunning
	}
	d.end(gen, EndStopped)
	return nil
}

// end ends capture generation gen, if it still runs.
func (d *Diag) end(gen int, why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endLocked(gen, why)
}

func (d *Diag) endLocked(gen int, why string) {
	if gen != d.gen || d.cap == nil || !d.cap.running {
		return
	}
	rtpstream.SetTap(nil)
	d.cap.timer.Stop()
	d.cap.running, d.cap.ended = false, why
	d.updateActive()
	d.log.Load().Info("capture ended", "why", why, "packets", d.cap.packets, "bytes", d.cap.buf.Len())
}

// room reports whether n more bytes fit; if not, the capture ends; d.mu
// held, a capture running.
func (d *Diag) room(n int) bool {
	if d.cap.buf.Len()+n <= MaxCaptureBytes {
		return true
	}
	d.endLocked(d.gen, EndSize)
	return false
}

// capSIP adds one SIP read or write to the capture; d.mu held.
func (d *Diag) capSIP(now time.Time, write bool, transport, laddr, raddr string, b []byte) {
	local, remote := addrPort(laddr), addrPort(raddr)
	src, dst := remote, local
	if write {
		src, dst = local, remote
	}
	if transport == "UDP" {
		if len(b) <= pcap.MaxPayload && d.room(pcap.UDPSize(src, len(b))) {
			d.cap.w.WriteUDP(now, src, dst, b)
			d.cap.packets++
		}
		return
	}
	// TCP (TLS shows as its plain text): a segment per read or write, the
	// sequence numbers counting each direction's bytes so Wireshark
	// reassembles the stream.
	segs := (len(b) + pcap.MaxPayload - 1) / pcap.MaxPayload
	if !d.room(segs*pcap.TCPSize(src, 0) + len(b)) {
		return
	}
	k, back := streamKey{write, laddr, raddr}, streamKey{!write, laddr, raddr}
	seq, ack := d.cap.seq[k], d.cap.seq[back]
	if seq == 0 {
		seq = 1
	}
	next, _ := d.cap.w.WriteTCP(now, src, dst, seq, ack, b)
	d.cap.seq[k] = next
	d.cap.packets += segs
}

// Capture returns the capture's status.
func (d *Diag) Capture() CaptureStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.captureStatus()
}

func (d *Diag) captureStatus() CaptureStatus {
	st := CaptureStatus{State: "none", MaxBytes: MaxCaptureBytes}
	if c := d.cap; c != nil {
		st.State = "done"
		if c.running {
			st.State = "running"
		}
		st.Started, st.Seconds, st.Bytes, st.Packets, st.Ended = c.started, c.seconds, c.buf.Len(), c.packets, c.ended
	}
	return st
}

// CaptureFile returns the capture file as it stands (a running capture's
// packets so far), not copied, and its status.
func (d *Diag) CaptureFile() ([][]byte, CaptureStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cap == nil {
		return nil, d.captureStatus(), ErrNoCapture
	}
	return d.cap.buf.Buffers(), d.captureStatus(), nil
}
