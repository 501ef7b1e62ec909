package sip

import (
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

// Modified reports that the far end changed an established call's media
// with a re-INVITE (RFC 3261 §14.2) or an UPDATE (RFC 3311): a new
// address, codec or direction. Being put on hold shows as Media.Direction
// recvonly or inactive (RFC 3264 §8.4); resuming as sendrecv.
type Modified struct {
	ID    CallID
	Media sdp.Negotiated
}

func (e Modified) CallID() CallID { return e.ID }

// modifySession answers a re-INVITE or UPDATE within a confirmed dialog.
// With an offer we answer it, keeping our SDP origin id and raising its
// version (RFC 3264 §8); an offerless re-INVITE gets our current SDP as
// the offer (§14.2, the answer comes in the ACK). An offer we cannot take
// gets 488 and leaves the session as it was; a request outside any dialog
// 481; one that crosses our own pending change 491 (§14.2).
func (u *UA) modifySession(req *gosip.Request, tx gosip.ServerTransaction) {
	u.mu.Lock()
	c := u.matchDialogLocked(req)
	if c == nil {
		u.mu.Unlock()
		u.respondStateless(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if c.state == stAnswered {
		// sipgo handles each request in its own goroutine, so the ACK of
		// our 2xx may still be on its way: wait for it a little.
		acked := c.acked
		u.mu.Unlock()
		select {
		case <-acked:
		case <-time.After(time.Second):
		}
		u.mu.Lock()
	}
	if !u.events.room(queueInDialog) {
		u.mu.Unlock()
		u.refuseBusy(req, tx)
		return
	}
	switch c.state {
	case stConfirmed:
	case stAnswered:
		// RFC 3261 §14.2: a re-INVITE before the ACK of the initial 2xx
		// gets 500 with Retry-After.
		u.mu.Unlock()
		u.respondStateless(req, tx, 500, "Server Internal Error", gosip.NewHeader("Retry-After", "1"))
		return
	default:
		u.mu.Unlock()
		u.respondStateless(req, tx, 491, "Request Pending")
		return
	}
	if c.reinvite != nil && c.reinvite.inFlight {
		// RFC 3261 §14.2: a re-INVITE (or UPDATE with an offer) that
		// crosses our own pending re-INVITE (glare) gets 491; we retry
		// ours after the §14.1 delay.
		u.mu.Unlock()
		u.log.Info("glare: session change crosses ours", "call", c.id, "method", req.Method)
		u.respondInDialog(c, req, tx, 491, "Request Pending", nil)
		return
	}
	var body []byte
	var neg sdp.Negotiated
	changed := false
	if len(req.Body()) == 0 {
		if req.Method == gosip.UPDATE {
			u.mu.Unlock()
			u.respondInDialog(c, req, tx, 200, "OK", nil) // a session-timer refresh, no SDP
			return
		}
		// Our current SDP as the offer; a new SDP of ours, so a new
		// version (RFC 3264 §8).
		body = c.newOffer(c.media)
	} else {
		offer, err := sdp.Parse(req.Body())
		if err == nil {
			body, neg, err = sdp.AnswerOrigin(offer, c.media, c.sdpID, c.sdpVer+1)
		}
		if err != nil {
			u.mu.Unlock()
			u.log.Info("refusing session change", "call", c.id, "method", req.Method, "error", err)
			u.respondInDialog(c, req, tx, 488, "Not Acceptable Here", nil)
			return
		}
		c.sdpVer++
		if mine, perr := sdp.Parse(body); perr == nil {
			c.keepLayout(mine)
		}
		changed = true
	}
	c.tookRequest(req) // CSeq and target refresh, RFC 3261 §12.2.2
	u.mu.Unlock()
	u.respondInDialog(c, req, tx, 200, "OK", body)
	if changed {
		u.mu.Lock()
		u.emitLocked(c, Modified{ID: c.id, Media: neg})
		u.mu.Unlock()
		u.log.Info("session modified by the far end", "call", c.id, "method", req.Method,
			"remote", neg.Remote, "codec", neg.Codec, "direction", neg.Direction)
	}
}

// respondInDialog answers an in-dialog request with our To tag, Contact
// for 2xx to INVITE/UPDATE, and an SDP body when given.
func (u *UA) respondInDialog(c *call, req *gosip.Request, tx gosip.ServerTransaction, code int, reason string, body []byte, hdrs ...gosip.Header) {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if code < 300 && (req.Method == gosip.INVITE || req.Method == gosip.UPDATE || req.Method == gosip.REFER) {
		res.AppendHeader(u.contact(c.host))
	}
	res.AppendHeader(gosip.NewHeader("Allow", allowed))
	res.AppendHeader(gosip.NewHeader("Supported", supportedTags))
	u.addCommon(res)
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
	res.SetBody(body)
	if err := tx.Respond(res); err != nil {
		u.log.Warn("respond", "code", code, "method", req.Method, "error", err)
	}
}

// onUpdate handles UPDATE (RFC 3311) like a re-INVITE.
func (u *UA) onUpdate(req *gosip.Request, tx gosip.ServerTransaction) {
	u.modifySession(req, tx)
}

// onInfo accepts INFO within a dialog (RFC 6086); DTMF relay by INFO
// (application/dtmf-relay) is read by the media work. Outside a dialog: 481.
func (u *UA) onInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	u.mu.Lock()
	c := u.matchDialogLocked(req)
	u.mu.Unlock()
	if c == nil {
		u.respondStateless(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if ct := req.ContentType(); ct != nil && strings.EqualFold(mediaType(ct.Value()), dtmfRelayType) {
		digit, dur, ok := parseDTMFRelay(req.Body())
		if !ok {
			u.respondInDialog(c, req, tx, 400, "Bad Request (dtmf-relay without a Signal)", nil)
			return
		}
		if !u.events.room(queueInDialog) {
			u.refuseBusy(req, tx)
			return
		}
		u.respondInDialog(c, req, tx, 200, "OK", nil)
		u.mu.Lock()
		if cs := req.CSeq(); cs != nil && cs.SeqNo > c.infoSeq {
			c.infoSeq = cs.SeqNo
			u.emitLocked(c, DTMF{ID: c.id, Digit: digit, Duration: dur})
		}
		u.mu.Unlock()
		return
	}
	u.respondInDialog(c, req, tx, 200, "OK", nil)
}
