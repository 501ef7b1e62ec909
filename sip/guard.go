package sip

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// Guard bounds who may send the phone requests and what they may cost
// (issue 18, items 5 and 6). The zero value accepts anyone, with no cap.
type Guard struct {
	// ProxyOnly takes requests only from the trusted server: the host of
	// the registrar the phone is registered at, or the outbound proxy
	// given as an address (see trusted). Responses to our own requests
	// are matched by transaction and never come here.
	ProxyOnly bool
	// DropUntrusted drops a refused request silently instead of answering
	// 403 (RFC 3261 §21.4.4), so a scanner learns nothing.
	DropUntrusted bool
	// MaxServerTx caps the out-of-dialog server transactions in progress
	// (pending incoming calls included); beyond it a new request gets 503
	// with Retry-After (RFC 3261 §21.5.4). 0: no cap.
	MaxServerTx int
	// Rate is the sustained rate of requests per second a source address
	// may send, Burst its bucket; beyond it requests are dropped unanswered
	// (answering a flood doubles it). The trusted server is exempt. 0: no
	// limit.
	Rate  float64
	Burst int
}

// maxSources bounds the per-source rate table: beyond it, full buckets are
// forgotten first, then every source shares one overflow bucket.
const maxSources = 1024

// GuardStats counts what the guard refused.
type GuardStats struct {
	Untrusted   uint64 `json:"untrusted"`    // 403 or dropped: not from the trusted server
	RateLimited uint64 `json:"rate_limited"` // dropped: the source's rate exceeded
	TxCapped    uint64 `json:"tx_capped"`    // 503: too many server transactions
	ServerTx    int64  `json:"server_tx"`    // out-of-dialog server transactions in progress
	Malformed   uint64 `json:"malformed"`    // messages that did not parse: answered 400 or dropped (readfilter.go)
}

type guardState struct {
	untrusted, rateLimited, txCapped atomic.Uint64
	malformed                        atomic.Uint64
	serverTx                         atomic.Int64
	limiter                          *limiter
	log                              rateLog
}

// GuardStats returns the guard's counters.
func (u *UA) GuardStats() GuardStats {
	g := &u.guard
	return GuardStats{
		Untrusted: g.untrusted.Load(), RateLimited: g.rateLimited.Load(),
		TxCapped: g.txCapped.Load(), ServerTx: g.serverTx.Load(),
		Malformed: g.malformed.Load(),
	}
}

// guarded runs the guard's checks before h: trust, then the source's rate,
// then the cap on server transactions. An ACK is never answered (RFC 3261
// §17.1.1.3).
func (u *UA) guarded(h handler) handler {
	cfg := u.cfg.Guard
	g := &u.guard
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		src, _ := netip.ParseAddrPort(req.Source())
		trusted := u.checkSyncFrom(src.Addr())
		if cfg.ProxyOnly && !trusted && !outOfDialog(req) && u.fromDirectPeer(req, src.Addr()) {
			trusted = true
		}
		if cfg.ProxyOnly && !trusted {
			n := g.untrusted.Add(1)
			u.guardLog("request from an untrusted source refused", req, src, n)
			if cfg.DropUntrusted || req.IsAck() {
				return
			}
			u.respondStateless(req, tx, 403, "Forbidden (not from the trusted server)")
			return
		}
		if !trusted && g.limiter != nil && !g.limiter.allow(src.Addr(), u.clk.Now()) {
			n := g.rateLimited.Add(1)
			u.guardLog("request over the source's rate dropped", req, src, n)
			return
		}
		if cfg.MaxServerTx > 0 && !req.IsAck() && outOfDialog(req) {
			if g.serverTx.Add(1) > int64(cfg.MaxServerTx) {
				g.serverTx.Add(-1)
				n := g.txCapped.Add(1)
				u.guardLog("too many server transactions: request refused with 503", req, src, n)
				u.respondStateless(req, tx, 503, "Service Unavailable (busy)", gosip.NewHeader("Retry-After", retryAfter))
				return
			}
			if !tx.OnTerminate(func(string, error) { g.serverTx.Add(-1) }) {
				g.serverTx.Add(-1)
			}
		}
		h(req, tx)
	}
}

// fromDirectPeer reports whether req belongs to a dialog that runs
// without proxies (no route set, RFC 3261 §12.1: a call dialled straight
// to another domain's host) and comes from its remote target's address:
// the far end itself, which is no stranger to its own call.
func (u *UA) fromDirectPeer(req *gosip.Request, src netip.Addr) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.matchDialogLocked(req)
	if c == nil || len(c.routeSet) > 0 {
		return false
	}
	a, err := netip.ParseAddr(strings.Trim(c.remoteTarget.Host, "[]"))
	return err == nil && a.Unmap() == src.Unmap()
}

// outOfDialog reports whether req starts something: no To tag (RFC 3261
// §12.2). CANCEL carries the INVITE's To and belongs to its transaction.
func outOfDialog(req *gosip.Request) bool {
	if req.Method == gosip.CANCEL {
		return false
	}
	to := req.To()
	if to == nil || to.Params == nil {
		return true
	}
	tag, _ := to.Params.Get("tag")
	return tag == ""
}

// guardLog logs a refusal at most once a second, with the count so far.
func (u *UA) guardLog(msg string, req *gosip.Request, src netip.AddrPort, n uint64) {
	if ok, held := u.guard.log.allow(); ok {
		u.log.Warn(msg, "method", req.Method, "source", src.String(), "refused_so_far", n, "not_logged", held)
	}
}

// limiter is a token bucket per source address, in a bounded table.
type limiter struct {
	mu       sync.Mutex
	rate     float64
	burst    float64
	buckets  map[netip.Addr]*bucket
	overflow bucket // shared by sources beyond maxSources
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if burst < 1 {
		burst = 1
	}
	return &limiter{rate: rate, burst: float64(burst), buckets: make(map[netip.Addr]*bucket)}
}

// allow takes a token from src's bucket, reporting false when it is empty.
func (l *limiter) allow(src netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[src]
	if b == nil {
		if len(l.buckets) >= maxSources {
			l.sweep(now)
		}
		if len(l.buckets) >= maxSources {
			b = &l.overflow
		} else {
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[src] = b
		}
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if b.at.IsZero() {
		b.tokens, b.at = l.burst, now
		return
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.at = now
	}
}

// sweep forgets the sources whose buckets have refilled: they are as new.
func (l *limiter) sweep(now time.Time) {
	for a, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, a)
		}
	}
}

// sources is how many sources the rate table holds (for tests).
func (l *limiter) sources() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
