package sip

import (
	"context"
	"sync"
	"time"
)

// StopTimeout bounds Close: hang-ups and the unregister together take at
// most this long, whatever the network does (issue 18 item 8). Without it
// a registrar that does not answer holds an unregister for Timer F, 64*T1
// = 32 s (RFC 3261 §17.1.2.2).
const StopTimeout = 3 * time.Second

// Close is Shutdown bounded by StopTimeout.
func (u *UA) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	return u.Shutdown(ctx)
}

// settle waits, until ctx ends, for the calls to end (their BYE, CANCEL or
// 486 already under way) while reg, when set, unregisters. What ctx cuts
// short is logged by what it was: the calls still ending, the registrar
// still unanswered (register.go).
func (u *UA) settle(ctx context.Context, calls []*call, reg *registrar) {
	var wg sync.WaitGroup
	if reg != nil {
		wg.Add(1)
		go func() { defer wg.Done(); reg.shutdown(ctx) }()
	}
	for _, c := range calls {
		select {
		case <-c.done:
			continue
		case <-ctx.Done():
		}
		select {
		case <-c.done:
			continue
		default:
		}
		u.log.Warn("gave up waiting for the hang-up: no answer before the stop deadline", "call", c.id)
	}
	wg.Wait()
}
