package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/deskphone/phoned/sip"
)

// stopTimeout bounds an orderly stop (SIGTERM, or the restart a new
// config needs): the API's requests, the hang-ups and the unregister share
// it (issue 18 item 8).
const stopTimeout = sip.StopTimeout

// apiStopTimeout is the most the API's requests in flight get of it.
const apiStopTimeout = time.Second

// closeUA shuts ua down by ctx's deadline. The phone loop has stopped by
// then, so the UA's last events (calls ended, unregistered) are read and
// discarded here: with nobody reading, a full channel would hold the UA's
// event queue, and the stop, for ever.
func closeUA(ctx context.Context, ua *sip.UA, events <-chan sip.Event, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-events:
			case <-done:
				return
			}
		}
	}()
	defer close(done)
	if err := ua.Shutdown(ctx); err != nil {
		log.Warn("sip close", "err", err)
	}
}
