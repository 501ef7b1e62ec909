package sip

import (
	"sync"

	"github.com/deskphone/phoned/sip/sdp"
)

// CallID identifies a call for the lifetime of the UA. It is the SIP Call-ID
// of the call's INVITE.
type CallID string

// Event is something that happened to a call. Every call ends with exactly
// one terminal event: [Failed] for an outgoing call that was never answered,
// [Ended] for everything else (including incoming calls that the firmware
// rejected or declined itself).
type Event interface {
	CallID() CallID
}

// Party is the remote end as named in the From (incoming) header.
type Party struct {
	DisplayName string
	User        string
	URI         string
}

// Incoming reports a new incoming INVITE. 100 Trying has been sent; the
// firmware answers with Ring, Answer or Reject.
type Incoming struct {
	ID    CallID
	From  Party
	Offer sdp.Session
	// AlertInfo is the INVITE's Alert-Info header (RFC 3261 §20.4), as
	// received, for a distinctive ring; "" when absent.
	AlertInfo string
	// Replaces is the call this one replaces (an INVITE with Replaces,
	// RFC 3891 §3: attended transfer or pickup): answer this one and end
	// that one. "" for an ordinary call. An INVITE naming no dialog of
	// ours got 481 from the UA and is not reported.
	Replaces CallID
}

// Progress reports a provisional response (180 Ringing, 183 Session
// Progress) to our outgoing INVITE.
type Progress struct {
	ID   CallID
	Code int
	// Media is set when the provisional response carries an SDP answer
	// (early media, RFC 3960: typically 183 Session Progress with an
	// announcement or the far end's ringback): play it instead of local
	// ringback.
	Media *sdp.Negotiated
}

// Answered reports a 2xx to our outgoing INVITE; the ACK has been sent
// (RFC 3261 §13.2.2.4).
type Answered struct {
	ID    CallID
	Media sdp.Negotiated
}

// Failed is the terminal event of an outgoing call that was never answered:
// a final 3xx-6xx (487 after our CANCEL), 408 for no response, 503 for a
// transport error.
type Failed struct {
	ID     CallID
	Code   int
	Reason string
}

// Ended is the terminal event of every other call.
type Ended struct {
	ID     CallID
	Reason string
	Remote bool // true when the peer ended it (BYE, CANCEL)
}

func (e Incoming) CallID() CallID { return e.ID }
func (e Progress) CallID() CallID { return e.ID }
func (e Answered) CallID() CallID { return e.ID }
func (e Failed) CallID() CallID   { return e.ID }
func (e Ended) CallID() CallID    { return e.ID }

// Bounds of the event queue towards the firmware (issue 12): a loop that
// is slow or blocked must not let the queue grow without bound.
//
// Only requests from the network create events without limit: new
// INVITEs (each a new call) and, within a dialog, INFO digits and session
// changes (re-INVITE, UPDATE). Every other event follows something this
// phone did, or ends a call, and calls are bounded (the firmware refuses
// calls beyond phone.max_calls), so those are always queued: no event is
// ever dropped silently. Requests refused for room are answered 503 with
// Retry-After (RFC 3261 §21.5.4, §20.33) at once, so the sender learns of
// it and sipgo's goroutine never waits.
const (
	// queueNewDialogs: a new INVITE finding this many events queued gets
	// 503.
	queueNewDialogs = 256
	// queueInDialog: an INFO digit or a session change finding this many
	// events queued gets 503 (its CSeq is not taken, so a retry works).
	queueInDialog = 1024
	// retryAfter is the Retry-After of those 503s, in seconds.
	retryAfter = "5"
)

// dispatcher delivers events to the consumer from one goroutine, in the
// order they were queued, so the consumer never sees events of one call out
// of order and is never called concurrently.
type dispatcher struct {
	fn   func(Event)
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu sync.Mutex
	q  []Event
	// pending counts events queued and the one being delivered: the
	// consumer may block on it (a full channel to a busy loop).
	pending int
}

func newDispatcher(fn func(Event)) *dispatcher {
	d := &dispatcher{fn: fn, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go d.run()
	return d
}

// push queues e; it never blocks.
func (d *dispatcher) push(e Event) {
	d.mu.Lock()
	d.q = append(d.q, e)
	d.pending++
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// room reports whether fewer than limit events are pending.
func (d *dispatcher) room(limit int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending < limit
}

// Pending is how many events wait for the consumer (tests, status).
func (d *dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending
}

// next takes the oldest queued event.
func (d *dispatcher) next() (Event, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.q) == 0 {
		return nil, false
	}
	e := d.q[0]
	d.q[0] = nil
	d.q = d.q[1:]
	if len(d.q) == 0 {
		d.q = nil // let the backing array go
	}
	return e, true
}

func (d *dispatcher) deliver(e Event) {
	if d.fn != nil {
		d.fn(e)
	}
	d.mu.Lock()
	d.pending--
	d.mu.Unlock()
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		if e, ok := d.next(); ok {
			d.deliver(e)
			continue
		}
		select {
		case <-d.wake:
		case <-d.quit:
			for {
				e, ok := d.next()
				if !ok {
					return
				}
				d.deliver(e)
			}
		}
	}
}

// stop delivers what is queued and stops the goroutine.
func (d *dispatcher) stop() {
	close(d.quit)
	<-d.done
}
