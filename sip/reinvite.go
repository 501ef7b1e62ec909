package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/sdp"
)

// Reinvited reports the outcome of our re-INVITE (Reinvite). Code 2xx:
// Media is the new session. Otherwise the session is unchanged (RFC 3261
// §14.1) and Media is nil; Code is the final response (491 once the
// retries are spent, 408 for no response, 503 for a transport error).
type Reinvited struct {
	ID     CallID
	Code   int
	Reason string
	Media  *sdp.Negotiated
}

func (e Reinvited) CallID() CallID { return e.ID }

// maxGlareRetries bounds how often a re-INVITE answered 491 is sent again.
const maxGlareRetries = 3

// reinvite is our re-INVITE in progress within a call. Guarded by UA.mu.
type reinvite struct {
	local    sdp.Media
	tries    int  // 491s taken so far
	inFlight bool // sent and not finally answered: a crossing offer gets 491
	retry    clock.Timer
}

// glareDelay is how long to wait before sending a re-INVITE again after a
// 491 (RFC 3261 §14.1): 2.1 to 4 s when we own the Call-ID (we placed the
// call), 0 to 2 s otherwise, in units of 10 ms.
func glareDelay(owner bool) time.Duration {
	if owner {
		return time.Duration(210+rand.IntN(191)) * 10 * time.Millisecond
	}
	return time.Duration(rand.IntN(201)) * 10 * time.Millisecond
}

// Reinvite changes an established call's session with a re-INVITE
// carrying our new SDP offer (RFC 3261 §14, RFC 3264 §8): the same o= id,
// the version one higher. Hold is local.Direction sendonly (inactive when
// the far end holds us already, RFC 3264 §8.4); resume is sendrecv. It
// returns at once; the outcome is a Reinvited event. A 491 is retried
// after the §14.1 delay on Config.Clock, at most maxGlareRetries times.
// One re-INVITE at a time per call: ErrCallState while one is pending.
func (u *UA) Reinvite(id CallID, local sdp.Media) error {
	if !local.Addr.IsValid() || len(local.Codecs) == 0 || !sdp.ValidDirection(local.Direction) {
		return fmt.Errorf("%w: addr %v codecs %v direction %q", ErrBadMedia, local.Addr, local.Codecs, local.Direction)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.calls[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, id)
	}
	if (c.state != stConfirmed && c.state != stAnswered) || c.reinvite != nil {
		return fmt.Errorf("%w: %s: re-INVITE needs an answered call with no re-INVITE pending", ErrCallState, id)
	}
	if u.closed {
		return ErrClosed
	}
	c.reinvite = &reinvite{local: local}
	u.wg.Add(1)
	go u.sendReinvite(c)
	return nil
}

// sendReinvite sends the pending re-INVITE of c and follows it to its
// final response. It owns one u.wg count.
func (u *UA) sendReinvite(c *call) {
	defer u.wg.Done()
	log := u.log.With("call", c.id)
	u.mu.Lock()
	if c.state == stAnswered {
		// RFC 3261 §14.1: not while the initial INVITE transaction is in
		// progress, i.e. until the ACK of our 2xx (no ACK within 64*T1
		// ends the call, onInvite).
		acked := c.acked
		u.mu.Unlock()
		select {
		case <-acked:
		case <-c.done:
		}
		u.mu.Lock()
	}
	r := c.reinvite
	if r == nil || c.ended {
		u.mu.Unlock()
		return
	}
	if c.state != stConfirmed {
		c.reinvite = nil
		u.emitLocked(c, Reinvited{ID: c.id, Code: 481, Reason: "call ending"})
		u.mu.Unlock()
		return
	}
	r.inFlight = true
	req := u.nextInDialog(&c.dialog, gosip.INVITE)
	req.AppendHeader(u.contact(c.host))
	req.AppendHeader(gosip.NewHeader("Allow", allowed))
	req.AppendHeader(gosip.NewHeader("Supported", supportedTags))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.newOffer(r.local))
	u.mu.Unlock()

	tx, err := u.request(context.Background(), req)
	if err != nil {
		log.Warn("send re-INVITE", "error", err)
		u.reinviteDone(c, Reinvited{ID: c.id, Code: 503, Reason: "Service Unavailable (" + err.Error() + ")"})
		return
	}
	defer tx.Terminate()
	log.Info("re-INVITE sent", "direction", r.local.Direction)
	for {
		select {
		case res := <-tx.Responses():
			switch code := res.StatusCode; {
			case code < 200:
				continue
			case code < 300:
				u.reinviteAnswered(c, r, tx, req, res)
				return
			case code == 491 && r.tries < maxGlareRetries:
				u.retryReinvite(c, r)
				return
			default:
				log.Info("re-INVITE refused", "code", code, "reason", res.Reason)
				u.reinviteDone(c, Reinvited{ID: c.id, Code: code, Reason: res.Reason})
				if code == 481 {
					// RFC 3261 §12.2.1.2: the dialog is gone.
					u.finish(c, Ended{ID: c.id, Reason: "re-INVITE: 481 Call/Transaction Does Not Exist", Remote: true})
				}
				return
			}
		case <-tx.Done():
			err := tx.Err()
			code, reason := 503, "Service Unavailable"
			if errors.Is(err, gosip.ErrTransactionTimeout) {
				code, reason = 408, "Request Timeout" // RFC 3261 §8.1.3.1
			}
			log.Info("re-INVITE without final response", "error", err)
			u.reinviteDone(c, Reinvited{ID: c.id, Code: code, Reason: reason})
			if code == 408 {
				// RFC 3261 §12.2.1.2: a 408 to a request within a dialog
				// ends it.
				u.mu.Lock()
				live := !c.ended && c.state == stConfirmed
				if live {
					c.state = stTerminating
				}
				u.mu.Unlock()
				if live {
					u.byeThen(c, Ended{ID: c.id, Reason: "re-INVITE timed out"})
				}
			}
			return
		case <-c.done:
			return
		}
	}
}

// reinviteAnswered ACKs the 2xx to our re-INVITE (RFC 3261 §13.2.2.4) and
// takes its SDP answer; an unusable answer leaves the session as it was.
func (u *UA) reinviteAnswered(c *call, r *reinvite, tx gosip.ClientTransaction, req *gosip.Request, res *gosip.Response) {
	u.mu.Lock()
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone() // target refresh, RFC 3261 §12.2.1.2
	}
	ack := u.inDialog(&c.dialog, gosip.ACK, req.CSeq().SeqNo)
	offered := c.withLayout(r.local) // the m= lines our re-INVITE had
	u.mu.Unlock()
	u.sendAck(ack)
	tx.OnRetransmission(func(r *gosip.Response) {
		if r.IsSuccess() {
			u.sendAck(ack)
		}
	})
	s, err := sdp.Parse(res.Body())
	var neg sdp.Negotiated
	if err == nil {
		neg, err = sdp.Accept(s, offered)
	}
	if err != nil {
		u.log.Warn("unusable SDP answer to our re-INVITE", "call", c.id, "error", err)
		u.reinviteDone(c, Reinvited{ID: c.id, Code: 488, Reason: "Not Acceptable Here: " + err.Error()})
		return
	}
	u.mu.Lock()
	c.media = r.local
	u.mu.Unlock()
	u.log.Info("session changed by our re-INVITE", "call", c.id, "direction", neg.Direction, "remote", neg.Remote)
	u.reinviteDone(c, Reinvited{ID: c.id, Code: res.StatusCode, Reason: res.Reason, Media: &neg})
}

// retryReinvite schedules the re-INVITE again after the RFC 3261 §14.1
// delay on the injected clock.
func (u *UA) retryReinvite(c *call, r *reinvite) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c.reinvite != r || c.ended {
		return
	}
	r.tries++
	r.inFlight = false
	d := glareDelay(c.dir == outgoing)
	u.log.Info("re-INVITE answered 491: retrying", "call", c.id, "in", d, "try", r.tries)
	r.retry = u.clk.AfterFunc(d, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		// wg.Add only while not closed, under u.mu: Close sets closed
		// under u.mu before it waits.
		if c.reinvite != r || c.ended || u.closed {
			return
		}
		u.wg.Add(1)
		go u.sendReinvite(c)
	})
}

// reinviteDone ends our re-INVITE with ev, then sends a REFER that was
// waiting for it.
func (u *UA) reinviteDone(c *call, ev Reinvited) {
	u.mu.Lock()
	defer u.mu.Unlock()
	c.reinvite = nil
	u.emitLocked(c, ev)
	if ro := c.referOut; ro != nil && ro.deferred && !c.ended && !u.closed {
		u.sendReferLocked(c, ro)
	}
}
