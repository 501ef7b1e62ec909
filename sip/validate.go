package sip

import (
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// supported lists the option tags we implement, for Require (RFC 3261
// §8.2.2.3): Replaces (RFC 3891).
var supported = map[string]bool{"replaces": true}

// knownMethods are SIP methods defined by RFCs that we recognise; a
// request with one we do not implement gets 405, any other 501 (RFC 3261
// §8.2.1).
var knownMethods = map[gosip.RequestMethod]bool{
	"REGISTER": true, "MESSAGE": true, "SUBSCRIBE": true, "NOTIFY": true, "REFER": true,
	"PRACK": true, "PUBLISH": true,
}

type handler = func(*gosip.Request, gosip.ServerTransaction)

// validated runs the checks of RFC 3261 §8.2 before h, because sipgo
// hands handlers many messages RFC 4475 calls invalid. A request that
// fails gets the response the RFC names for it; an ACK is never answered
// (§17.1.1.3), only dropped.
func (u *UA) validated(h handler) handler {
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		code, reason, hdrs := check(req)
		if code == 0 && u.tls != nil && !strings.EqualFold(req.Transport(), "TLS") {
			// RFC 3261 §26.2: a phone set up for TLS takes no plain SIP.
			code, reason = 403, "Forbidden (TLS required)"
		}
		if code == 0 {
			h(req, tx)
			return
		}
		u.log.Info("invalid request", "method", req.Method, "code", code, "reason", reason)
		if req.IsAck() {
			return
		}
		u.respondStateless(req, tx, code, reason, hdrs...)
	}
}

// check returns 0 for a request we can handle, else the response code,
// its reason phrase and any header the response must carry.
func check(req *gosip.Request) (int, string, []gosip.Header) {
	// §8.2.1 / §21.5.7: only SIP/2.0.
	if req.SipVersion != "SIP/2.0" {
		return 505, "Version Not Supported", nil
	}
	// §8.1.1: the mandatory headers.
	switch {
	case req.Via() == nil:
		return 400, "Bad Request (missing Via)", nil
	case req.From() == nil:
		return 400, "Bad Request (missing From)", nil
	case req.To() == nil:
		return 400, "Bad Request (missing To)", nil
	case req.CallID() == nil || req.CallID().Value() == "":
		return 400, "Bad Request (missing Call-ID)", nil
	case req.CSeq() == nil:
		return 400, "Bad Request (missing CSeq)", nil
	}
	// §7.3.1: headers that take one value appear once (RFC 4475 §3.3.8,
	// §3.3.9).
	for _, name := range singleHeaders {
		if len(req.GetHeaders(name)) > 1 {
			return 400, "Bad Request (more than one " + name + ")", nil
		}
	}
	// §8.1.1.5: the CSeq method matches the request method. sipgo upper-
	// cases the request line's method (RFC 4475 §3.1.1.2's is mixed case),
	// so the comparison cannot be exact.
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		if !knownMethods[req.Method] && !strings.Contains(allowed, string(req.Method)) {
			// RFC 4475 §3.1.2.18 prefers 501 for an unknown method.
			return 501, "Not Implemented", nil
		}
		return 400, "Bad Request (CSeq method does not match)", nil
	}
	// §8.2.2.1: we only serve sip: URIs.
	if req.Recipient.Scheme != "" && req.Recipient.Scheme != "sip" {
		return 416, "Unsupported URI Scheme", nil
	}
	// §8.2.2.3: extensions the client requires and we lack.
	if req.Method != gosip.ACK && req.Method != gosip.CANCEL {
		var missing []string
		for _, h := range req.GetHeaders("Require") {
			for _, tag := range strings.Split(h.Value(), ",") {
				if tag = strings.TrimSpace(tag); tag != "" && !supported[strings.ToLower(tag)] {
					missing = append(missing, tag)
				}
			}
		}
		if len(missing) > 0 {
			return 420, "Bad Extension", []gosip.Header{gosip.NewHeader("Unsupported", strings.Join(missing, ", "))}
		}
	}
	// §8.2.3: a body we must read in a form we do not understand.
	if len(req.Body()) > 0 && (req.Method == gosip.INVITE || req.Method == gosip.UPDATE) {
		if ce := req.GetHeader("Content-Encoding"); ce != nil && !strings.EqualFold(strings.TrimSpace(ce.Value()), "identity") {
			return 415, "Unsupported Media Type", []gosip.Header{gosip.NewHeader("Accept-Encoding", "identity")}
		}
		ct := req.ContentType()
		if ct == nil || !strings.EqualFold(mediaType(ct.Value()), "application/sdp") {
			return 415, "Unsupported Media Type", []gosip.Header{gosip.NewHeader("Accept", "application/sdp")}
		}
	}
	// §8.2.3 / §21.4.7: an INVITE whose Accept leaves out SDP could get
	// no answer we can give (RFC 4475 §3.3.15).
	if req.Method == gosip.INVITE && !acceptsSDP(req) {
		return 406, "Not Acceptable", []gosip.Header{gosip.NewHeader("Warning", `399 - "answers are application/sdp"`)}
	}
	return 0, "", nil
}

// singleHeaders take a single value (RFC 3261 §7.3.1, §20).
var singleHeaders = []string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// acceptsSDP reports whether the request's Accept headers, if any, admit
// application/sdp (RFC 3261 §20.1; no Accept means application/sdp).
func acceptsSDP(req *gosip.Request) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			switch strings.ToLower(mediaType(t)) {
			case "application/sdp", "application/*", "*/*":
				return true
			}
		}
	}
	return false
}

// mediaType is a Content-Type value without parameters.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}
