package sip

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
)

// ErrBadHeader is wrapped by the errors of the REFER/Replaces parsers.
var ErrBadHeader = errors.New("sip: bad header")

// TransferProgress reports how our REFER (Refer) goes: a final failure of
// the REFER itself (Code 3xx-6xx, Final), or a NOTIFY of its implicit
// subscription carrying the status line of the transfer target's answer
// (message/sipfrag, RFC 3515 §2.4.5), Final when the subscription is
// terminated. A 202 alone is no outcome; no final NOTIFY within
// referTimeout gives Code 408, Final.
type TransferProgress struct {
	ID     CallID
	Code   int
	Reason string
	Final  bool
}

// Referred reports that the far end asked us to call Target (an in-dialog
// REFER, accepted with 202; a NOTIFY "100 Trying" went out, RFC 3515
// §2.4.4). The firmware places the call with DialWith(Target, ...,
// DialOptions{ReferredBy, Replaces}) and reports its progress with
// NotifyRefer.
type Referred struct {
	ID         CallID
	Target     string // the Refer-To URI without its headers
	ReferredBy string // the Referred-By header (RFC 3892), "" if none
	Replaces   string // the Refer-To URI's Replaces header, unescaped (RFC 3891), "" if none
}

func (e TransferProgress) CallID() CallID { return e.ID }
func (e Referred) CallID() CallID         { return e.ID }

// referTimeout bounds the wait for the final NOTIFY after a REFER.
const referTimeout = 32 * time.Second

// referOut is our REFER and its implicit subscription (RFC 3515 §2.4.4).
type referOut struct {
	referTo  string // the Refer-To URI, headers escaped
	seq      uint32 // CSeq of the REFER: the subscription's id (§2.4.6)
	deferred bool   // waiting for our re-INVITE to finish
	timeout  clock.Timer
}

// referIn is the subscription created by a REFER we accepted: NOTIFYs go
// out in order from one goroutine.
type referIn struct {
	seq   uint32          // CSeq of the REFER
	queue chan sipfragMsg // buffered; closed never, the worker ends on a final
	final bool            // a final NOTIFY was queued
}

type sipfragMsg struct {
	code   int
	reason string
}

// Refer asks the far end of call id to call target (RFC 3515): a REFER
// with Refer-To target and Referred-By our AOR (RFC 3892). With replaces
// set (attended transfer, RFC 5589 §7) the Refer-To URI carries the
// Replaces header naming that call's dialog (RFC 3891 §3), so the target
// swaps its call with us for the new one. It returns at once; the outcome
// comes as TransferProgress events. One REFER at a time per call. While
// a re-INVITE of ours is pending on the call (a hold just asked for), the
// REFER waits for its outcome before it goes.
func (u *UA) Refer(id CallID, target string, replaces CallID) error {
	var uri gosip.Uri
	if err := gosip.ParseUri(target, &uri); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadTarget, target, err)
	}
	if uri.Scheme != "sip" || uri.Host == "" || strings.ContainsAny(target, "<>\r\n\" ") || strings.Contains(target, "?") {
		return fmt.Errorf("%w: %q: want sip:user@host[:port]", ErrBadTarget, target)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return ErrClosed
	}
	c := u.calls[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, id)
	}
	if (c.state != stConfirmed && c.state != stAnswered) || c.referOut != nil {
		return fmt.Errorf("%w: %s: REFER needs an answered call with no REFER pending", ErrCallState, id)
	}
	referTo := target
	if replaces != "" {
		r := u.calls[replaces]
		if r == nil || r.id == id {
			return fmt.Errorf("%w: replaces %s", ErrUnknownCall, replaces)
		}
		if (r.state != stConfirmed && r.state != stAnswered) || r.remote.Tag == "" {
			return fmt.Errorf("%w: replaces %s: not a confirmed call", ErrCallState, replaces)
		}
		// RFC 3891 §3 / RFC 5589 §7: Replaces as an escaped URI header.
		referTo += "?Replaces=" + escapeHeaderValue(r.replaces())
	}
	ro := &referOut{referTo: referTo}
	c.referOut = ro
	ro.timeout = u.clk.AfterFunc(referTimeout, func() {
		u.referDone(c, ro, TransferProgress{ID: c.id, Code: 408, Reason: "Request Timeout (no final NOTIFY)", Final: true})
	})
	if c.reinvite != nil {
		// A REFER crossing our re-INVITE (e.g. the hold before an
		// attended transfer) tends to draw 491: it goes once the
		// re-INVITE is done (reinviteDone), RFC 5589 §7.
		ro.deferred = true
	} else {
		u.sendReferLocked(c, ro)
	}
	u.log.Info("REFER queued", "call", id, "target", target, "attended", replaces != "", "after_reinvite", ro.deferred)
	return nil
}

// sendReferLocked sends the REFER of ro and follows it to its final
// response. Caller holds u.mu; the UA is not closed.
func (u *UA) sendReferLocked(c *call, ro *referOut) {
	ro.deferred = false
	req := u.nextInDialog(&c.dialog, gosip.REFER)
	req.AppendHeader(u.contact(c.host))
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+ro.referTo+">"))
	req.AppendHeader(gosip.NewHeader("Referred-By", c.local.nameAddr()))
	req.AppendHeader(gosip.NewHeader("Allow", allowed))
	req.AppendHeader(gosip.NewHeader("Supported", supportedTags))
	ro.seq = req.CSeq().SeqNo
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		res, err := u.doRes(req)
		switch {
		case err != nil:
			u.log.Info("REFER failed", "call", c.id, "error", err)
			u.referDone(c, ro, TransferProgress{ID: c.id, Code: 408, Reason: "Request Timeout (" + err.Error() + ")", Final: true})
		case res.StatusCode >= 300:
			u.log.Info("REFER refused", "call", c.id, "code", res.StatusCode, "reason", res.Reason)
			u.referDone(c, ro, TransferProgress{ID: c.id, Code: res.StatusCode, Reason: res.Reason, Final: true})
		default:
			u.log.Info("REFER accepted", "call", c.id, "code", res.StatusCode)
		}
	}()
	u.log.Info("REFER sent", "call", c.id, "refer_to", ro.referTo)
}

// referDone ends our REFER ro with a final ev, once.
func (u *UA) referDone(c *call, ro *referOut, ev TransferProgress) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c.referOut != ro {
		return
	}
	c.referOut = nil
	ro.timeout.Stop()
	u.emitLocked(c, ev)
}

// doRes runs a non-INVITE client transaction to its final response.
func (u *UA) doRes(req *gosip.Request) (*gosip.Response, error) {
	tx, err := u.request(context.Background(), req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	res, _, err := finalOf(tx, req, nil)
	return res, err
}

// finalOf waits for tx's final response to req. When abort closes first,
// it returns aborted true and no response.
func finalOf(tx gosip.ClientTransaction, req *gosip.Request, abort <-chan struct{}) (res *gosip.Response, aborted bool, err error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, false, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, false, err
			}
			return nil, false, fmt.Errorf("sip: %s transaction ended without a response", req.Method)
		case <-abort:
			return nil, true, nil
		}
	}
}

// headerValues returns the values of a header by full and compact name,
// comma-separated entries split.
func headerValues(req *gosip.Request, name, compact string) []string {
	var out []string
	for _, n := range []string{name, compact} {
		for _, h := range req.GetHeaders(n) {
			for _, v := range splitComma(h.Value()) {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// onNotify takes the NOTIFYs of our REFER's implicit subscription (RFC
// 3515 §2.4.5): 200 to each, its sipfrag status line reported as
// TransferProgress, Final on Subscription-State: terminated. A sipfrag we
// cannot read gets 400 and is not reported; a NOTIFY for no subscription
// of ours 481, for another event package 489 (RFC 6665 §8.3.2).
func (u *UA) onNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	if ok, reboot := isCheckSync(req); ok {
		u.onCheckSync(req, tx, reboot)
		return
	}
	u.mu.Lock()
	c := u.matchDialogLocked(req)
	var ro *referOut
	if c != nil {
		ro = c.referOut
	}
	u.mu.Unlock()
	if c == nil {
		u.respondStateless(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	ev := headerValues(req, "Event", "o")
	if len(ev) != 1 {
		u.respondInDialog(c, req, tx, 400, "Bad Request (want one Event)", nil)
		return
	}
	pkg, params := cutParams(ev[0])
	if !strings.EqualFold(pkg, "refer") {
		u.respondInDialog(c, req, tx, 489, "Bad Event", nil)
		return
	}
	if ro == nil {
		u.respondInDialog(c, req, tx, 481, "Subscription Does Not Exist", nil)
		return
	}
	if id, ok := params["id"]; ok && id != strconv.FormatUint(uint64(ro.seq), 10) {
		u.respondInDialog(c, req, tx, 481, "Subscription Does Not Exist", nil)
		return
	}
	if ct := req.ContentType(); ct == nil || !strings.EqualFold(mediaType(ct.Value()), "message/sipfrag") {
		u.respondInDialog(c, req, tx, 415, "Unsupported Media Type", nil, gosip.NewHeader("Accept", "message/sipfrag"))
		return
	}
	code, reason, err := parseSipfrag(req.Body())
	if err != nil {
		u.log.Info("NOTIFY with a bad sipfrag", "call", c.id, "error", err)
		u.respondInDialog(c, req, tx, 400, "Bad Request (sipfrag)", nil)
		return
	}
	state := ""
	if ss := req.GetHeader("Subscription-State"); ss != nil {
		state, _ = cutParams(ss.Value())
	}
	if state == "" {
		u.respondInDialog(c, req, tx, 400, "Bad Request (no Subscription-State)", nil)
		return
	}
	u.respondInDialog(c, req, tx, 200, "OK", nil)
	final := strings.EqualFold(state, "terminated")
	ev2 := TransferProgress{ID: c.id, Code: code, Reason: reason, Final: final}
	u.log.Info("transfer progress", "call", c.id, "code", code, "reason", reason, "final", final)
	if final {
		u.referDone(c, ro, ev2)
		return
	}
	u.mu.Lock()
	c.tookRequest(req)
	if c.referOut == ro {
		u.emitLocked(c, ev2)
	}
	u.mu.Unlock()
}

// onRefer accepts a REFER within a confirmed dialog (RFC 3515 §2.4.2):
// 202, then NOTIFY "SIP/2.0 100 Trying" (§2.4.4), then Referred. Outside
// a dialog 403 (we take no out-of-dialog REFER), for an unknown dialog
// 481, without exactly one Refer-To or with one we cannot read 400
// (§2.4.1), while another of ours is still notifying 491.
func (u *UA) onRefer(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to == nil || !to.Params.Has("tag") {
		u.respondStateless(req, tx, 403, "Forbidden (REFER outside a dialog)")
		return
	}
	u.mu.Lock()
	c := u.matchDialogLocked(req)
	if c == nil || (c.state != stConfirmed && c.state != stAnswered) {
		// Our 2xx made the dialog (the ACK may still be on its way).
		u.mu.Unlock()
		u.respondStateless(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	busy := c.referIn != nil
	u.mu.Unlock()
	rts := headerValues(req, "Refer-To", "r")
	if len(rts) != 1 {
		u.respondInDialog(c, req, tx, 400, "Bad Request (want exactly one Refer-To)", nil)
		return
	}
	target, replaces, err := parseReferTo(rts[0])
	if err != nil {
		u.respondInDialog(c, req, tx, 400, "Bad Request (Refer-To)", nil)
		return
	}
	referredBy := ""
	if rb := headerValues(req, "Referred-By", "b"); len(rb) > 0 {
		referredBy = rb[0]
	}
	if busy {
		u.respondInDialog(c, req, tx, 491, "Request Pending", nil)
		return
	}

	u.mu.Lock()
	if c.ended || c.referIn != nil || u.closed {
		u.mu.Unlock()
		u.respondInDialog(c, req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	c.tookRequest(req)
	ri := &referIn{seq: req.CSeq().SeqNo, queue: make(chan sipfragMsg, 8)}
	c.referIn = ri
	ri.queue <- sipfragMsg{100, "Trying"} // RFC 3515 §2.4.4
	u.mu.Unlock()
	// The 202 first, then the NOTIFYs, in order, from one goroutine.
	u.respondInDialog(c, req, tx, 202, "Accepted", nil)
	u.log.Info("REFER accepted", "call", c.id, "target", target, "attended", replaces != "")
	u.mu.Lock()
	defer u.mu.Unlock()
	if c.ended || u.closed {
		return
	}
	u.wg.Add(1)
	go u.notifier(c, ri)
	u.emitLocked(c, Referred{ID: c.id, Target: target, ReferredBy: referredBy, Replaces: replaces})
}

// NotifyRefer reports the progress of the call placed for a REFER we
// accepted: a NOTIFY with the sipfrag "SIP/2.0 <code> <reason>" (RFC 3515
// §2.4.5), terminating the subscription when code >= 200. It returns at
// once; NOTIFYs go out in order.
func (u *UA) NotifyRefer(id CallID, code int, reason string) error {
	if code < 100 || code > 699 {
		return fmt.Errorf("sip: notify refer %s: status %d", id, code)
	}
	reason = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, reason)
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.calls[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, id)
	}
	ri := c.referIn
	if ri == nil || ri.final {
		return fmt.Errorf("%w: %s: no REFER to notify", ErrCallState, id)
	}
	select {
	case ri.queue <- sipfragMsg{code, reason}:
	default:
		if code < 200 {
			return nil // provisional progress may be dropped when NOTIFYs back up
		}
		return fmt.Errorf("%w: %s: NOTIFY queue full", ErrCallState, id)
	}
	if code >= 200 {
		ri.final = true
	}
	return nil
}

// notifier sends the NOTIFYs of ri in order, each after the previous one
// was answered, until the final one. It owns one u.wg count.
func (u *UA) notifier(c *call, ri *referIn) {
	defer u.wg.Done()
	for {
		var m sipfragMsg
		select {
		case m = <-ri.queue:
		case <-c.done:
			return
		case <-u.served:
			return
		}
		final := m.code >= 200
		u.mu.Lock()
		if c.ended {
			u.mu.Unlock()
			return
		}
		req := u.nextInDialog(&c.dialog, gosip.NOTIFY)
		req.AppendHeader(u.contact(c.host))
		req.AppendHeader(gosip.NewHeader("Event", "refer;id="+strconv.FormatUint(uint64(ri.seq), 10)))
		if final {
			req.AppendHeader(gosip.NewHeader("Subscription-State", "terminated;reason=noresource"))
			c.referIn = nil
		} else {
			req.AppendHeader(gosip.NewHeader("Subscription-State", "active;expires=60"))
		}
		req.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", m.code, m.reason)))
		u.mu.Unlock()
		code, err := u.do(req)
		u.log.Info("NOTIFY done", "call", c.id, "sipfrag", m.code, "code", code, "error", err)
		if final {
			return
		}
	}
}

// ------------------------------------------------------------- parsers

// maxHeaderValue bounds what the parsers below take.
const maxHeaderValue = 2048

// parseSipfrag reads the status line of a message/sipfrag body (RFC 3420,
// RFC 3515 §2.4.5): "SIP/2.0 <code> <reason>". Headers after it are
// ignored. It never panics.
func parseSipfrag(body []byte) (int, string, error) {
	if len(body) > 8*maxHeaderValue {
		return 0, "", fmt.Errorf("%w: sipfrag of %d bytes", ErrBadHeader, len(body))
	}
	line, _, _ := strings.Cut(string(body), "\n")
	line = strings.TrimRight(line, "\r")
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.EqualFold(proto, "SIP/2.0") {
		return 0, "", fmt.Errorf("%w: sipfrag status line %q", ErrBadHeader, trunc(line))
	}
	num, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(num)
	if err != nil || len(num) != 3 || code < 100 || code > 699 {
		return 0, "", fmt.Errorf("%w: sipfrag status code %q", ErrBadHeader, trunc(num))
	}
	for _, r := range reason {
		if r < ' ' && r != '\t' || r == 0x7f {
			return 0, "", fmt.Errorf("%w: control character in sipfrag reason", ErrBadHeader)
		}
	}
	return code, strings.TrimSpace(reason), nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// replacesHdr is a parsed Replaces header (RFC 3891 §6.1).
type replacesHdr struct {
	callID, toTag, fromTag string
	earlyOnly              bool
}

// parseReplaces reads "callid;to-tag=x;from-tag=y[;early-only]" (RFC 3891
// §6.1). It never panics.
func parseReplaces(v string) (replacesHdr, error) {
	var r replacesHdr
	if len(v) > maxHeaderValue {
		return r, fmt.Errorf("%w: Replaces of %d bytes", ErrBadHeader, len(v))
	}
	parts := strings.Split(v, ";")
	r.callID = strings.TrimSpace(parts[0])
	if r.callID == "" || strings.ContainsFunc(r.callID, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
		return r, fmt.Errorf("%w: Replaces Call-ID %q", ErrBadHeader, trunc(r.callID))
	}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		switch k {
		case "to-tag":
			r.toTag = val
		case "from-tag":
			r.fromTag = val
		case "early-only":
			r.earlyOnly = true
		}
	}
	if r.toTag == "" || r.fromTag == "" {
		return r, fmt.Errorf("%w: Replaces without to-tag and from-tag", ErrBadHeader)
	}
	return r, nil
}

// parseReferTo reads a Refer-To value (RFC 3515 §2.1): a name-addr or
// addr-spec whose sip: URI may carry headers (?Replaces=...&...). It
// returns the URI without headers and the unescaped Replaces header, which
// must parse (RFC 3891 §6.1). It never panics.
func parseReferTo(v string) (target, replaces string, err error) {
	if len(v) > maxHeaderValue {
		return "", "", fmt.Errorf("%w: Refer-To of %d bytes", ErrBadHeader, len(v))
	}
	v = strings.TrimSpace(v)
	var spec string
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", "", fmt.Errorf("%w: Refer-To without '>'", ErrBadHeader)
		}
		spec = v[i+1 : i+j]
	} else {
		// addr-spec: no headers or parameters allowed in the URI (RFC
		// 3261 §20.10); anything after ';' is a header parameter.
		spec, _, _ = strings.Cut(v, ";")
		if strings.ContainsAny(spec, "?,") {
			return "", "", fmt.Errorf("%w: Refer-To addr-spec with '?' or ','", ErrBadHeader)
		}
	}
	spec = strings.TrimSpace(spec)
	base, hdrs, _ := strings.Cut(spec, "?")
	if strings.ContainsFunc(base, func(c rune) bool { return c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' }) {
		return "", "", fmt.Errorf("%w: Refer-To URI %q", ErrBadHeader, trunc(base))
	}
	var uri gosip.Uri
	if perr := gosip.ParseUri(base, &uri); perr != nil {
		return "", "", fmt.Errorf("%w: Refer-To URI %q: %v", ErrBadHeader, trunc(base), perr)
	}
	if uri.Scheme != "sip" || uri.Host == "" || uri.Port < 0 || uri.Port > 65535 {
		return "", "", fmt.Errorf("%w: Refer-To URI %q: want sip:user@host", ErrBadHeader, trunc(base))
	}
	if hdrs != "" {
		for _, h := range strings.Split(hdrs, "&") {
			name, val, _ := strings.Cut(h, "=")
			if !strings.EqualFold(name, "Replaces") {
				continue
			}
			if replaces != "" {
				return "", "", fmt.Errorf("%w: two Replaces in Refer-To", ErrBadHeader)
			}
			un, uerr := url.PathUnescape(val)
			if uerr != nil {
				return "", "", fmt.Errorf("%w: Refer-To Replaces escaping: %v", ErrBadHeader, uerr)
			}
			if _, rerr := parseReplaces(un); rerr != nil {
				return "", "", rerr
			}
			replaces = un
		}
	}
	return base, replaces, nil
}

// escapeHeaderValue escapes a URI header value (RFC 3261 §25.1: hvalue is
// hnv-unreserved / unreserved / escaped): everything else as %HH, so ';',
// '=' and '@' of a Replaces value survive inside the URI.
func escapeHeaderValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()[]/?:+$", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// cutParams splits "value;k=v;k2" into the value and its parameters
// (keys lower-cased).
func cutParams(s string) (string, map[string]string) {
	parts := strings.Split(s, ";")
	params := make(map[string]string, len(parts)-1)
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		params[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return strings.TrimSpace(parts[0]), params
}
