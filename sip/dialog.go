package sip

import (
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

// dialog is the state of one dialog (RFC 3261 §12), shared by everything
// that happens in it: the initial INVITE of either side, re-INVITE, BYE,
// INFO, REFER and NOTIFY, and Replaces matching. Every in-dialog request
// we send is built by UA.inDialog from it, every request we receive is
// matched by matches. Fields are guarded by UA.mu.
type dialog struct {
	id     CallID
	local  party // us: From of our requests
	remote party // them: To of our requests
	// remoteTarget is the peer's Contact (RFC 3261 §12.1), refreshed by
	// target-refresh requests and responses (§12.2).
	remoteTarget gosip.Uri
	// routeSet is the dialog route set (RFC 3261 §12.1.1/§12.1.2), copied
	// as Route into every request.
	routeSet []gosip.Uri
	// localSeq is the CSeq of the last request we sent (§12.2.1.1);
	// remoteSeq the highest CSeq the peer used (§12.2.2), 0 = none yet.
	localSeq, remoteSeq uint32
	host                string // our host for Via/Contact on this call
	// flow is the remote address of the TLS connection the dialog was
	// set up over (RFC 5626 flow, see UA.flowOf); "" for none.
	flow string
	// Our SDP origin (o= session id and version, RFC 3264 §8): every new
	// SDP of ours in the session keeps the id and raises the version.
	sdpID, sdpVer uint64
	// layout is the session's m= lines when the peer's offer had more
	// than our audio stream, and audioIndex ours (sdp.Media.Layout): our
	// later offers keep them (RFC 3264 §8). Nil for one audio line.
	layout     []sdp.Stream
	audioIndex int
}

// keepLayout records the m= lines of an answer of ours (RFC 3264 §8).
func (d *dialog) keepLayout(s sdp.Session) {
	d.layout, d.audioIndex = nil, 0
	if len(s.Streams) > 1 {
		d.layout, d.audioIndex = s.Streams, s.Index
	}
}

// withLayout is m with the session's m= lines.
func (d *dialog) withLayout(m sdp.Media) sdp.Media {
	m.Layout, m.AudioIndex = d.layout, d.audioIndex
	return m
}

// nextSeq takes the CSeq for a new request within the dialog (RFC 3261
// §12.2.1.1: one higher than the last).
func (d *dialog) nextSeq() uint32 {
	d.localSeq++
	return d.localSeq
}

// newOffer is a new SDP offer of ours within the session: the same o= id,
// the version one higher than the last SDP we sent (RFC 3264 §8).
func (d *dialog) newOffer(m sdp.Media) []byte {
	d.sdpVer++
	return sdp.OfferOrigin(d.withLayout(m), d.sdpID, d.sdpVer)
}

// matches reports whether req belongs to this dialog (RFC 3261 §12.2.2:
// Call-ID, local tag = To tag, remote tag = From tag). Before the peer's
// tag is known (our INVITE not yet answered) any From tag matches.
func (d *dialog) matches(req *gosip.Request) bool {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil || CallID(cid.Value()) != d.id {
		return false
	}
	ft, _ := from.Params.Get("tag")
	tt, _ := to.Params.Get("tag")
	return tt == d.local.Tag && (d.remote.Tag == "" || ft == d.remote.Tag)
}

// replaces is the Replaces header value that names this dialog to the
// peer (RFC 3891 §3): the to-tag is the tag of the UA that will receive
// the INVITE with Replaces (our remote party), the from-tag ours.
func (d *dialog) replaces() string {
	return string(d.id) + ";to-tag=" + d.remote.Tag + ";from-tag=" + d.local.Tag
}

// inDialog builds a request within d with CSeq seq (RFC 3261 §12.2.1.1):
// Request-URI the remote target, Route the route set, From/To/Call-ID of
// the dialog. Caller holds u.mu or owns d exclusively.
func (u *UA) inDialog(d *dialog, method gosip.RequestMethod, seq uint32) *gosip.Request {
	req := gosip.NewRequest(method, *d.remoteTarget.Clone())
	req.AppendHeader(u.via(d.host))
	for _, r := range d.routeSet {
		req.AppendHeader(&gosip.RouteHeader{Address: *r.Clone()})
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(d.local.from())
	req.AppendHeader(d.remote.to())
	cid := gosip.CallIDHeader(d.id)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: method})
	u.addCommon(req)
	req.SetBody(nil)
	u.overFlow(d, req)
	return req
}

// nextInDialog builds a new request within d with the next CSeq.
func (u *UA) nextInDialog(d *dialog, method gosip.RequestMethod) *gosip.Request {
	return u.inDialog(d, method, d.nextSeq())
}

// tookRequest records a request the peer sent within the dialog: its CSeq
// (RFC 3261 §12.2.2) and, for a target refresh (re-INVITE, UPDATE), its
// Contact as the new remote target. It reports false for a CSeq lower
// than one already taken (out of order).
func (d *dialog) tookRequest(req *gosip.Request) bool {
	if cs := req.CSeq(); cs != nil {
		if d.remoteSeq != 0 && cs.SeqNo < d.remoteSeq {
			return false
		}
		d.remoteSeq = cs.SeqNo
	}
	if req.Method == gosip.INVITE || req.Method == gosip.UPDATE {
		if ct := req.Contact(); ct != nil {
			d.remoteTarget = *ct.Address.Clone()
		}
	}
	return true
}

// aor is a party's URI without parameters or headers, as text.
func (p party) aor() string {
	u := gosip.Uri{Scheme: p.URI.Scheme, User: p.URI.User, Host: p.URI.Host, Port: p.URI.Port}
	if u.Scheme == "" {
		u.Scheme = "sip"
	}
	return u.String()
}

// nameAddr is <uri> with the display name, for Referred-By.
func (p party) nameAddr() string {
	var b strings.Builder
	if p.DisplayName != "" {
		b.WriteString(`"` + strings.ReplaceAll(p.DisplayName, `"`, "") + `" `)
	}
	b.WriteString("<" + p.aor() + ">")
	return b.String()
}
