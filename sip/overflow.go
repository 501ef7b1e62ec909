package sip

import (
	gosip "github.com/emiago/sipgo/sip"
)

// refuseBusy answers a request the event queue has no room for: 503 with
// Retry-After (RFC 3261 §21.5.4), at once, from sipgo's goroutine. It is
// counted (Overflows) and logged: the first, then every 100th.
func (u *UA) refuseBusy(req *gosip.Request, tx gosip.ServerTransaction) {
	n := u.overflows.Add(1)
	if n == 1 || n%100 == 0 {
		u.log.Warn("event queue full: request refused with 503", "method", req.Method, "refused_so_far", n)
	}
	u.respondStateless(req, tx, 503, "Service Unavailable (busy)", gosip.NewHeader("Retry-After", retryAfter))
}

// Overflows is how many requests got 503 because the queue of events
// towards the firmware was full.
func (u *UA) Overflows() uint64 { return u.overflows.Load() }

// PendingEvents is how many events wait for the firmware to take them.
func (u *UA) PendingEvents() int { return u.events.Pending() }
