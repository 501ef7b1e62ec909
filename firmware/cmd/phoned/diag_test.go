package main

import (
	"log/slog"
	"testing"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/diag"
)

// log.sip_trace sets the trace at start and when the key changes; a
// trace switched from the API stays through reloads that leave the key
// alone.
func TestSIPTraceKey(t *testing.T) {
	// Not newDiagnostics: Install would set sipgo's global hook in the
	// test process.
	d := &diagnostics{Diag: diag.New(clock.Real{}, slog.New(slog.DiscardHandler))}
	on, off := config.Default(), config.Default()
	on.Log.SIPTrace = true
	d.start(off, slog.New(slog.DiscardHandler))
	if d.SIPTrace() {
		t.Fatal("on at start with the key false")
	}
	d.applyConfig(on)
	if !d.SIPTrace() {
		t.Fatal("the key turned true: trace still off")
	}
	d.SetSIPTrace(false) // the API
	d.applyConfig(on)    // a reload of other keys
	if d.SIPTrace() {
		t.Fatal("a reload that left the key alone undid the API's switch")
	}
	d.applyConfig(off)
	d.SetSIPTrace(true)
	d.start(off, slog.New(slog.DiscardHandler)) // an in-process restart, key unchanged
	if !d.SIPTrace() {
		t.Fatal("a restart with the key unchanged undid the API's switch")
	}
}
