package daemon

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/deskphone/phoned/audio/dtmf"
	"github.com/deskphone/phoned/firmware/phone"
)

// Key presses in a call are never dropped silently (issue 18 item 9). A
// press the sender cannot take now (its RFC 4733 queue holds
// dtmf.MaxQueued, or the SIP INFO queue is full) waits in the daemon's
// backlog, in order, and goes out as the sender makes room. The API asks
// DTMFRoom before it accepts presses and refuses with 429 beyond
// dtmfAdmit; presses that still cannot be kept (the backlog at
// dtmfBacklogMax, their call gone before they could be sent, a send error)
// are counted in Status.DTMFDropped and logged.
const (
	// dtmfAdmit is how many presses may wait in the backlog before the
	// API refuses more (at 10 presses/s, about 6 s of sending).
	dtmfAdmit = 64
	// dtmfBacklogMax bounds the backlog: dtmfAdmit plus the presses of
	// API requests admitted at the same moment (each checks DTMFRoom
	// before its presses reach the loop).
	dtmfBacklogMax = 256
	// dtmfRetry is how often a waiting backlog tries the sender again
	// (an RFC 4733 event lasts at least 100 ms).
	dtmfRetry = 20 * time.Millisecond
)

// dtmfPress is one press waiting in the backlog.
type dtmfPress struct {
	call phone.CallRef
	key  byte
}

// dtmfState is the backlog and its counters. backlog and armed are owned
// by the loop; waiting and dropped are read from any goroutine.
type dtmfState struct {
	backlog []dtmfPress
	armed   bool          // a retry is scheduled
	retry   chan struct{} // the retry timer's signal to the loop
	waiting atomic.Int64  // len(backlog), for DTMFRoom
	dropped atomic.Uint64
}

// DTMFRoom reports whether n more key presses can be accepted for sending
// now: false when the backlog holds dtmfAdmit or more. Safe from any
// goroutine.
func (d *Daemon) DTMFRoom(n int) bool {
	return d.dtmf.waiting.Load()+int64(n) <= dtmfAdmit
}

// DTMFDropped is how many key presses in a call were never sent.
func (d *Daemon) DTMFDropped() uint64 { return d.dtmf.dropped.Load() }

// errSenderFull: the press must wait in the backlog.
var errSenderFull = errors.New("DTMF sender full")

// pressDTMF sends e's key, or queues it behind the presses already
// waiting.
func (d *Daemon) pressDTMF(e phone.SendDTMF) {
	if len(d.dtmf.backlog) == 0 {
		err := d.sendKey(e.Call, e.Key, false)
		if !errors.Is(err, errSenderFull) {
			d.keyDone(e.Key, err)
			return
		}
	}
	if len(d.dtmf.backlog) >= dtmfBacklogMax {
		d.keyDone(e.Key, errors.New("backlog full"))
		return
	}
	d.dtmf.backlog = append(d.dtmf.backlog, dtmfPress{call: e.Call, key: e.Key})
	d.dtmf.waiting.Store(int64(len(d.dtmf.backlog)))
	d.armDTMF()
}

// releaseDTMF is the key's release. With presses waiting, the last key
// sent is released by the next one started (dtmf.Sender), so nothing is
// done.
func (d *Daemon) releaseDTMF(call phone.CallRef) {
	if len(d.dtmf.backlog) > 0 {
		return
	}
	if c := d.calls[call]; c != nil && c.streamed && c.media.DTMF != 0 {
		d.media.StopDTMF(string(call))
	}
}

// flushDTMF sends waiting presses until the sender is full again.
func (d *Daemon) flushDTMF() {
	d.dtmf.armed = false
	for len(d.dtmf.backlog) > 0 {
		p := d.dtmf.backlog[0]
		err := d.sendKey(p.call, p.key, true)
		if errors.Is(err, errSenderFull) {
			d.armDTMF()
			break
		}
		d.keyDone(p.key, err)
		d.dtmf.backlog = d.dtmf.backlog[1:]
	}
	if len(d.dtmf.backlog) == 0 {
		d.dtmf.backlog = nil
	}
	d.dtmf.waiting.Store(int64(len(d.dtmf.backlog)))
}

// armDTMF schedules a retry of the backlog.
func (d *Daemon) armDTMF() {
	if d.dtmf.armed {
		return
	}
	d.dtmf.armed = true
	d.clk.AfterFunc(dtmfRetry, func() {
		select {
		case d.dtmf.retry <- struct{}{}:
		default:
		}
	})
}

// sendKey hands one key to the call's sender: an RFC 4733 event when
// telephone-event was negotiated (released at once when release is set:
// a press from the backlog), else a SIP INFO. errSenderFull when it must
// wait.
func (d *Daemon) sendKey(ref phone.CallRef, key byte, release bool) error {
	c := d.calls[ref]
	if c == nil || !c.streamed {
		return errors.New("the call has ended")
	}
	if c.media.DTMF != 0 {
		err := d.media.StartDTMF(string(ref), key)
		if errors.Is(err, dtmf.ErrBusy) {
			return errSenderFull
		}
		if err == nil && release {
			d.media.StopDTMF(string(ref))
		}
		return err
	}
	select {
	case d.infoQ <- infoDTMF{id: c.id, digit: key}:
		return nil
	default:
		return errSenderFull
	}
}

// keyDone counts and logs a press that could not be sent.
func (d *Daemon) keyDone(key byte, err error) {
	if err == nil {
		return
	}
	d.dtmf.dropped.Add(1)
	d.log.Warn("DTMF key press dropped", "digit", string(key), "err", err)
}
