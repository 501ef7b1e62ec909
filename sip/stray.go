package sip

import (
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
)

// A 2xx to INVITE that no client transaction matched is either ours (a
// retransmission after the transaction ended, a 200 that crossed our
// CANCEL, the answer of a second fork) or forged. RFC 3261 §13.2.2.4 asks
// the UAC core to ACK every 2xx of its own INVITEs, and a dialog it does
// not want is then ended with BYE (§15). A response to someone else's
// Call-ID is dropped: acting on it would make the phone send ACK and BYE
// to an address of the sender's choosing.

// spentTTL is how long an ended outgoing call still claims 2xx to its
// INVITE: 64*T1, the time a UAS retransmits its 2xx (RFC 3261 §13.3.1.4).
const spentTTL = 32 * time.Second

// maxSpent bounds the ended calls remembered; maxForks bounds the dialogs
// (to-tags) one INVITE may have had ACKed and BYEd.
const (
	maxSpent = 128
	maxForks = 4
)

// sentInvite is what a 2xx needs to be recognised as the answer to one of
// our INVITEs after the call itself is gone.
type sentInvite struct {
	localTag string
	// remoteTag is the dialog the call had (its 2xx retransmissions are
	// ACKed, not BYEd); byed the other forks already ended.
	remoteTag string
	byed      []string
	host      string // Via/Contact host the call used
	local     party
	ended     time.Time
}

// spentCalls remembers recently ended outgoing calls, oldest first.
// Guarded by UA.mu.
type spentCalls struct {
	m     map[CallID]*sentInvite
	order []CallID
}

func (s *spentCalls) add(id CallID, e *sentInvite) {
	if s.m == nil {
		s.m = make(map[CallID]*sentInvite)
	}
	if _, ok := s.m[id]; ok {
		return
	}
	for len(s.order) >= maxSpent {
		delete(s.m, s.order[0])
		s.order = s.order[1:]
	}
	s.m[id] = e
	s.order = append(s.order, id)
}

// get returns the entry for id if it is younger than spentTTL, pruning
// the expired ones first.
func (s *spentCalls) get(id CallID, now time.Time) *sentInvite {
	for len(s.order) > 0 && now.Sub(s.m[s.order[0]].ended) >= spentTTL {
		delete(s.m, s.order[0])
		s.order = s.order[1:]
	}
	return s.m[id]
}

// forked reports whether tag is a fork to ACK and BYE now: not the call's
// own dialog, not BYEd already, within maxForks. It records the tag.
func (e *sentInvite) forked(tag string) bool {
	if tag == e.remoteTag {
		return false
	}
	for _, t := range e.byed {
		if t == tag {
			return false
		}
	}
	if len(e.byed) >= maxForks {
		return false
	}
	e.byed = append(e.byed, tag)
	return true
}

// rateLog lets one log line through per interval and counts the rest, so a
// flood of junk costs no more log than a trickle.
type rateLog struct {
	mu         sync.Mutex
	clk        clock.Clock
	every      time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many were held back since.
func (r *rateLog) allow() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clk.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return true, n
}

// rememberLocked records an ending outgoing call for spentTTL.
func (u *UA) rememberLocked(c *call) {
	if c.dir != outgoing {
		return
	}
	e := &sentInvite{localTag: c.local.Tag, remoteTag: c.remote.Tag, host: c.host, local: c.local, ended: u.clk.Now()}
	if f := u.forks[c.id]; f != nil {
		e.byed = f.byed
		delete(u.forks, c.id)
	}
	u.spent.add(c.id, e)
}

// onStrayResponse gets responses no client transaction matched. Only a
// 2xx to INVITE needs anything (RFC 3261 §13.2.2.4): for our live call's
// own dialog, ACK again; for a call of ours that ended, or another fork of
// it, ACK and BYE once (§15); anything else is dropped.
func (u *UA) onStrayResponse(res *gosip.Response) {
	cseq, to, from, cid := res.CSeq(), res.To(), res.From(), res.CallID()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != gosip.INVITE || to == nil || from == nil || cid == nil {
		u.dropStray(res, "not a 2xx to INVITE")
		return
	}
	tag, _ := to.Params.Get("tag")
	fromTag, _ := from.Params.Get("tag")
	id := CallID(cid.Value())
	u.mu.Lock()
	var (
		local party
		host  string
	)
	if c := u.calls[id]; c != nil && c.dir == outgoing && c.local.Tag == fromTag {
		if c.ack != nil && c.remote.Tag == tag {
			ack := c.ack
			u.mu.Unlock()
			u.sendAck(ack)
			return
		}
		// A second fork answered (§13.2.2.4): ACK and BYE it once.
		if u.spentFork(id, c, tag) {
			local, host = c.local, c.host
		}
	} else if e := u.spent.get(id, u.clk.Now()); e != nil && e.localTag == fromTag {
		if tag == e.remoteTag || e.forked(tag) {
			local, host = e.local, e.host
		}
	}
	ct := res.Contact()
	if host == "" || ct == nil || u.closed || tag == "" {
		u.mu.Unlock()
		u.dropStray(res, "no call of ours")
		return
	}
	byeToo := true
	if e := u.spent.m[id]; e != nil && tag == e.remoteTag {
		byeToo = false // the call's own dialog: BYEd when the call ended
	}
	if byeToo {
		u.wg.Add(1)
	}
	u.mu.Unlock()
	stray := &dialog{
		id:           id,
		local:        local,
		remote:       party{DisplayName: to.DisplayName, URI: to.Address, Tag: tag},
		remoteTarget: *ct.Address.Clone(),
		// RFC 3261 §12.1.2: the route set is the 2xx's Record-Route, reversed.
		routeSet: recordRoute(res.GetHeaders("Record-Route"), true),
		host:     host,
	}
	u.sendAck(u.inDialog(stray, gosip.ACK, cseq.SeqNo))
	if !byeToo {
		return
	}
	u.log.Info("2xx to an INVITE we no longer want: ACK and BYE", "call", id, "to_tag", tag)
	go func() {
		defer u.wg.Done()
		code, err := u.do(u.inDialog(stray, gosip.BYE, cseq.SeqNo+1))
		u.log.Info("BYE for stray 2xx done", "call", id, "code", code, "error", err)
	}()
}

// spentFork records tag as a fork of live call c to BYE, once.
func (u *UA) spentFork(id CallID, c *call, tag string) bool {
	e := u.forks[id]
	if e == nil {
		if len(u.forks) >= maxSpent {
			return false
		}
		e = &sentInvite{remoteTag: c.remote.Tag}
		if u.forks == nil {
			u.forks = make(map[CallID]*sentInvite)
		}
		u.forks[id] = e
	}
	return e.forked(tag)
}

// dropStray counts a response that is not for us, logged at debug at most
// once a second.
func (u *UA) dropStray(res *gosip.Response, why string) {
	u.strayDropped.Add(1)
	if ok, n := u.strayLog.allow(); ok {
		u.log.Debug("stray response dropped", "why", why, "status", res.StatusCode, "suppressed", n)
	}
}
