package sip

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

// respondStateless answers a request outside any call.
func (u *UA) respondStateless(req *gosip.Request, tx gosip.ServerTransaction, code int, reason string, hdrs ...gosip.Header) {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0" // even to SIP/7.0 (505, RFC 4475 §3.1.2.16)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	u.addCommon(res)
	if err := tx.Respond(res); err != nil {
		u.log.Warn("respond", "code", code, "method", req.Method, "error", err)
	}
}

// response builds a response to c's INVITE carrying our To tag (RFC 3261
// §8.2.6.2: the same tag on every response but 100) and, for 1xx/2xx, our
// Contact (§12.1.1).
func (u *UA) response(c *call, code int, reason string, body []byte) *gosip.Response {
	res := gosip.NewResponseFromRequest(c.req, code, reason, nil)
	if to := res.To(); to != nil {
		to.Params.Add("tag", c.local.Tag)
	}
	if code < 300 {
		res.AppendHeader(u.contact(c.host))
		res.AppendHeader(gosip.NewHeader("Allow", allowed))
		res.AppendHeader(gosip.NewHeader("Supported", supportedTags))
	}
	u.addCommon(res)
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
	res.SetBody(body)
	return res
}

func sourceHost(req *gosip.Request) string {
	h, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return ""
	}
	return h
}

// onInvite handles a new INVITE (RFC 3261 §13.3). It runs in its own
// goroutine and stays there until the INVITE transaction has its final
// response, because sipgo terminates the transaction when the handler
// returns.
func (u *UA) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	from, to, cidh, cseq := req.From(), req.To(), req.CallID(), req.CSeq()
	if from == nil || to == nil || cidh == nil || cseq == nil {
		// sipgo accepts such requests; we do not (RFC 3261 §8.1.1, §8.2.2).
		u.respondStateless(req, tx, 400, "Bad Request (missing header)")
		return
	}
	target := from.Address
	if ct := req.Contact(); ct != nil {
		target = ct.Address
	} else if b, _ := req.Via().Params.Get("branch"); !strings.HasPrefix(b, magicCookie) || strings.HasPrefix(b, magicCookie+"2543.") {
		// An RFC 2543 element (RFC 4475 §3.4.1) need not send a Contact:
		// its requests then go to the From address (RFC 2543 §6.13).
	} else {
		u.respondStateless(req, tx, 400, "Bad Request (missing Contact)") // RFC 3261 §8.1.1.8
		return
	}
	id := CallID(cidh.Value())
	if to.Params.Has("tag") {
		u.modifySession(req, tx) // re-INVITE, RFC 3261 §14.2
		return
	}

	u.mu.Lock()
	closed, dup := u.closed, u.calls[id] != nil
	u.mu.Unlock()
	if closed {
		u.respondStateless(req, tx, 503, "Service Unavailable")
		return
	}
	if dup {
		// Same Call-ID, new transaction, no To tag: merged request
		// (RFC 3261 §8.2.2.2).
		u.respondStateless(req, tx, 482, "Loop Detected")
		return
	}

	replaced, code, reason := u.matchReplaces(req)
	if code != 0 {
		u.log.Info("INVITE with Replaces refused", "call", id, "code", code, "reason", reason)
		u.respondStateless(req, tx, code, reason)
		return
	}

	// RFC 3261 §17.2.1 / §8.2.6.1: 100 Trying at once, unless the 180
	// goes out at once itself (below).
	atOnce := u.ringAtOnce.Load()
	if !atOnce {
		u.respondStateless(req, tx, 100, "Trying")
	}

	fromTag, _ := from.Params.Get("tag")
	c := &call{
		dialog: dialog{
			id: id,
			local: party{
				DisplayName: to.DisplayName,
				URI:         *to.Address.Clone(),
				Tag:         gosip.GenerateTagN(16),
			},
			remote:       party{DisplayName: from.DisplayName, URI: *from.Address.Clone(), Tag: fromTag},
			remoteTarget: *target.Clone(), // RFC 3261 §12.1.1
			// RFC 3261 §12.1.1: the route set is the Record-Route, in order.
			routeSet:  recordRoute(req.GetHeaders("Record-Route"), false),
			localSeq:  1 + rand.Uint32N(1<<15),
			remoteSeq: cseq.SeqNo,
			host:      u.contactHost(sourceHost(req)),
			flow:      u.flowOf(req.Transport(), req.Source()),
		},
		dir:       incoming,
		state:     stIncoming,
		done:      make(chan struct{}),
		req:       req,
		stx:       tx,
		final:     make(chan struct{}),
		acked:     make(chan struct{}),
		cancelled: make(chan struct{}),
	}
	log := u.log.With("call", id)

	// RFC 3264 §6 / RFC 3261 §13.3.1: an offer we cannot answer gets 488.
	// Offerless INVITEs (offer in the ACK) are not supported yet: 488 too.
	offer, err := sdp.Parse(req.Body())
	if err == nil {
		_, _, err = sdp.Answer(offer, sdp.Media{Codecs: u.cfg.Codecs, SRTP: u.cfg.SRTP})
	}
	if len(req.Body()) == 0 {
		err = fmt.Errorf("offerless INVITE not supported")
	}
	if err != nil {
		log.Info("rejecting INVITE with 488", "error", err)
		if rerr := tx.Respond(u.response(c, 488, "Not Acceptable Here", nil)); rerr != nil {
			log.Warn("respond 488", "error", rerr)
		}
		return
	}
	c.offer = offer

	// The CANCEL hook runs under the transaction's lock: only close a
	// channel here, never take u.mu (Answer holds u.mu while responding).
	if !tx.OnCancel(func(*gosip.Request) { c.cancelOne.Do(func() { close(c.cancelled) }) }) {
		return // cancelled or terminated already
	}

	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		u.respondStateless(req, tx, 503, "Service Unavailable")
		return
	}
	if !u.events.room(queueNewDialogs) {
		u.mu.Unlock()
		u.refuseBusy(req, tx)
		return
	}
	u.calls[id] = c
	u.wg.Add(1)
	if atOnce {
		// An idle phone rings for every call: 180 without waiting for the
		// phone's loop (RFC 3261 §13.3.1.1). Should the phone have gone
		// busy meanwhile, its final answer (486) follows the 180.
		if err := tx.Respond(u.response(c, 180, "Ringing", nil)); err != nil {
			log.Warn("respond 180", "error", err)
		} else {
			c.rang = true
		}
	}
	party := Party{DisplayName: from.DisplayName, User: from.Address.User, URI: from.Address.String()}
	alert := ""
	if h := req.GetHeader("Alert-Info"); h != nil {
		alert = h.Value()
	}
	u.emitLocked(c, Incoming{ID: id, From: party, Offer: offer, AlertInfo: alert, Replaces: replaced})
	u.mu.Unlock()
	defer u.wg.Done()
	log.Info("incoming call", "from", party.URI)

	select {
	case <-c.final:
	case <-c.cancelled:
		// The transaction layer has answered 200 to the CANCEL and 487 to
		// the INVITE (RFC 3261 §9.2).
		log.Info("incoming call cancelled")
		u.finish(c, Ended{ID: id, Reason: "cancelled", Remote: true})
		return
	case <-tx.Done():
		u.finish(c, Ended{ID: id, Reason: "INVITE transaction ended", Remote: true})
		return
	case <-c.done:
		return
	}

	u.mu.Lock()
	res := c.okRes
	u.mu.Unlock()
	if res == nil {
		return // non-2xx final: the transaction absorbs the ACK
	}

	// RFC 3261 §13.3.1.4: the UAS core retransmits the 2xx, starting at T1
	// and doubling up to T2, until the ACK arrives; after 64*T1 without ACK
	// the session is ended with BYE.
	interval := gosip.T1
	retx := time.NewTimer(interval)
	defer retx.Stop()
	giveUp := time.NewTimer(64 * gosip.T1)
	defer giveUp.Stop()
	for {
		select {
		case <-c.acked:
			return
		case <-c.done:
			return
		case <-retx.C:
			if err := tx.Respond(res); err != nil {
				log.Debug("2xx retransmission", "error", err)
			}
			interval = min(2*interval, gosip.T2)
			retx.Reset(interval)
		case <-giveUp.C:
			u.mu.Lock()
			if c.state != stAnswered {
				u.mu.Unlock()
				return // a Hangup owns the BYE
			}
			u.mu.Unlock()
			log.Warn("no ACK for our 2xx: sending BYE")
			u.byeThen(c, Ended{ID: id, Reason: "no ACK received"})
			return
		}
	}
}

// matchReplaces reads an INVITE's Replaces header (RFC 3891 §3) and
// finds the call it names: Call-ID, to-tag = our local tag, from-tag = the
// remote tag. It returns that call, or a response code when the INVITE
// must be refused: 400 for a bad or repeated header, 481 when no dialog
// matches (or only an early dialog we did not initiate, or one ending),
// 486 for early-only naming a confirmed dialog. No header: "", 0.
func (u *UA) matchReplaces(req *gosip.Request) (CallID, int, string) {
	hs := req.GetHeaders("Replaces")
	if len(hs) == 0 {
		return "", 0, ""
	}
	if len(hs) > 1 {
		return "", 400, "Bad Request (more than one Replaces)"
	}
	r, err := parseReplaces(hs[0].Value())
	if err != nil {
		return "", 400, "Bad Request (Replaces)"
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.calls[CallID(r.callID)]
	if c == nil || c.ended || c.local.Tag != r.toTag || c.remote.Tag != r.fromTag {
		return "", 481, "Call/Transaction Does Not Exist"
	}
	switch c.state {
	case stIncoming, stTerminating:
		// An early dialog not initiated by us, or one being torn down.
		return "", 481, "Call/Transaction Does Not Exist"
	case stAnswered, stConfirmed:
		if r.earlyOnly {
			return "", 486, "Busy Here"
		}
	}
	return c.id, 0, ""
}

// onAck confirms an answered incoming call (RFC 3261 §13.3.1.4). ACKs for
// non-2xx are absorbed by the transaction layer and never get here.
func (u *UA) onAck(req *gosip.Request, _ gosip.ServerTransaction) {
	cid, cseq := req.CallID(), req.CSeq()
	if cid == nil || cseq == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.calls[CallID(cid.Value())]
	if c == nil || c.dir != incoming || c.okRes == nil || cseq.SeqNo != c.req.CSeq().SeqNo {
		return
	}
	if c.state == stAnswered {
		c.state = stConfirmed
	}
	c.ackOne.Do(func() { close(c.acked) })
}

// matchDialogLocked finds the call a mid-dialog request belongs to (RFC
// 3261 §12.2.2, dialog.matches).
func (u *UA) matchDialogLocked(req *gosip.Request) *call {
	cid := req.CallID()
	if cid == nil {
		return nil
	}
	c := u.calls[CallID(cid.Value())]
	if c == nil || !c.matches(req) {
		return nil
	}
	return c
}

// onBye ends a call on the peer's request (RFC 3261 §15.1.2).
func (u *UA) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	u.mu.Lock()
	c := u.matchDialogLocked(req)
	if c == nil || c.state == stCalling {
		u.mu.Unlock()
		u.respondStateless(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	early := c.state == stIncoming
	u.mu.Unlock()
	u.respondStateless(req, tx, 200, "OK")
	if early {
		// Caller's BYE on an early dialog: finish the INVITE with 487.
		_ = c.stx.Respond(u.response(c, 487, "Request Terminated", nil))
	}
	u.log.Info("remote hangup", "call", c.id)
	u.finish(c, Ended{ID: c.id, Reason: "remote hangup", Remote: true})
}

// onCancel only sees CANCELs that matched no INVITE transaction: the
// transaction layer handles the others (200 + 487, RFC 3261 §9.2).
func (u *UA) onCancel(req *gosip.Request, tx gosip.ServerTransaction) {
	u.respondStateless(req, tx, 481, "Call/Transaction Does Not Exist")
}

// onOptions answers capabilities queries (RFC 3261 §11.2).
func (u *UA) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	u.respondStateless(req, tx, 200, "OK",
		gosip.NewHeader("Allow", allowed),
		gosip.NewHeader("Accept", "application/sdp"))
}

// onNoRoute rejects methods we do not implement (RFC 3261 §8.2.1): 405 with
// an Allow header for a SIP method we know of, 501 for one we do not.
func (u *UA) onNoRoute(req *gosip.Request, tx gosip.ServerTransaction) {
	if !knownMethods[req.Method] {
		u.respondStateless(req, tx, 501, "Not Implemented", gosip.NewHeader("Allow", allowed))
		return
	}
	u.respondStateless(req, tx, 405, "Method Not Allowed", gosip.NewHeader("Allow", allowed))
}

// incomingLocked returns an incoming call still waiting for a final response.
func (u *UA) incomingLocked(id CallID) (*call, error) {
	c := u.calls[id]
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCall, id)
	}
	if c.dir != incoming || c.state != stIncoming {
		return nil, fmt.Errorf("%w: %s", ErrCallState, id)
	}
	return c, nil
}

// Ring sends 180 Ringing for an incoming call, unless it went out already
// (SetRingAtOnce).
func (u *UA) Ring(id CallID) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, err := u.incomingLocked(id)
	if err != nil {
		return err
	}
	if c.rang {
		return nil
	}
	if err := c.stx.Respond(u.response(c, 180, "Ringing", nil)); err != nil {
		return fmt.Errorf("sip: ring %s: %w", id, err)
	}
	c.rang = true
	return nil
}

// SetRingAtOnce says whether the phone would ring for a new call now (it
// is idle): then the UA answers an acceptable INVITE with 180 Ringing
// straight from the SIP layer, instead of 100 Trying and a 180 once the
// phone's loop has seen the call, and Ring finds it sent. Safe from any
// goroutine.
func (u *UA) SetRingAtOnce(on bool) { u.ringAtOnce.Store(on) }

// Answer sends 200 OK with our SDP answer and returns at once; the UA waits
// for the ACK in the background (BYE and Ended if none comes within 64*T1,
// RFC 3261 §13.3.1.4). With no common codec it answers 488, ends the call
// and returns an error wrapping sdp.ErrNoCommonCodec.
func (u *UA) Answer(id CallID, local sdp.Media) (sdp.Negotiated, error) {
	u.mu.Lock()
	c, err := u.incomingLocked(id)
	if err != nil {
		u.mu.Unlock()
		return sdp.Negotiated{}, err
	}
	body, neg, err := sdp.Answer(c.offer, local)
	if mine, perr := sdp.Parse(body); perr == nil {
		c.sdpID, c.sdpVer = mine.ID, mine.Version
		c.keepLayout(mine)
	}
	c.media = local
	if err != nil {
		u.mu.Unlock()
		if rerr := u.reject(c, 488, "Not Acceptable Here", "no acceptable media"); rerr != nil {
			err = fmt.Errorf("%w (488: %v)", err, rerr)
		}
		return sdp.Negotiated{}, fmt.Errorf("sip: answer %s: %w", id, err)
	}
	res := u.response(c, 200, "OK", body)
	// Holding u.mu across Respond is safe: the only transaction callback we
	// register (OnCancel) does not take u.mu.
	if err := c.stx.Respond(res); err != nil {
		u.mu.Unlock()
		return sdp.Negotiated{}, fmt.Errorf("sip: answer %s: %w", id, err)
	}
	c.okRes = res
	c.state = stAnswered
	close(c.final)
	u.mu.Unlock()
	u.log.Info("call answered", "call", id, "remote", neg.Remote, "codec", neg.Codec)
	return neg, nil
}

// Reject sends a final non-2xx (486 Busy Here, 480, 603...) for an
// incoming call; the call ends with Ended{Remote:false}.
func (u *UA) Reject(id CallID, code int, reason string) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("sip: reject %s: status %d is not a final non-2xx", id, code)
	}
	u.mu.Lock()
	c, err := u.incomingLocked(id)
	u.mu.Unlock()
	if err != nil {
		return err
	}
	return u.reject(c, code, reason, fmt.Sprintf("rejected %d", code))
}

func (u *UA) reject(c *call, code int, reason, why string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c.ended || c.state != stIncoming {
		return fmt.Errorf("%w: %s", ErrCallState, c.id)
	}
	if err := c.stx.Respond(u.response(c, code, reason, nil)); err != nil {
		return fmt.Errorf("sip: respond %d to %s: %w", code, c.id, err)
	}
	close(c.final)
	u.finishLocked(c, Ended{ID: c.id, Reason: why})
	return nil
}
