package main

import (
	"log/slog"
	"sync"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/diag"
)

// diagnostics is the process's SIP trace and packet capture: one for the
// whole process (sipgo's tracer hook is global), kept across in-process
// restarts, so a capture goes on through one.
type diagnostics struct {
	*diag.Diag
	mu  sync.Mutex
	key *bool // log.sip_trace as last applied; nil before the first config
}

func newDiagnostics() *diagnostics {
	d := &diagnostics{Diag: diag.New(clock.Real{}, slog.New(slog.DiscardHandler))}
	d.Install() // before any SIP transport exists
	return d
}

// start takes a (re)started phone's log and passwords, and its
// log.sip_trace.
func (d *diagnostics) start(cfg *config.Config, log *slog.Logger) {
	d.SetLogger(log.With("part", "diag"))
	d.SetSecrets(cfg.Account.Password.Reveal(), cfg.API.Password.Reveal())
	d.SetTLS(cfg.SIPTransport() == "tls")
	d.applyConfig(cfg)
}

// applyConfig turns the trace on or off when log.sip_trace changed (or at
// the first config): a trace switched from the API stays as it is until
// the key itself changes.
func (d *diagnostics) applyConfig(cfg *config.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.key != nil && *d.key == cfg.Log.SIPTrace {
		return
	}
	v := cfg.Log.SIPTrace
	d.key = &v
	d.SetSIPTrace(v)
}
