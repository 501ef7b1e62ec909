package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/sip"
)

// setMemoryLimit sets Go's soft memory limit from system.memory_limit_mb
// (issue 18 item 6): the collector works harder as the heap nears it, so a
// flood's garbage is returned before the phone runs out. GOMEMLIMIT in the
// environment wins (the runtime read it at start). It returns the limit in
// bytes, math.MaxInt64 for none.
func setMemoryLimit(cfg *config.Config, log *slog.Logger) int64 {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		n := debug.SetMemoryLimit(-1)
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v, "bytes", n)
		return n
	}
	mb := cfg.System.MemoryLimitMB
	if mb == 0 {
		return debug.SetMemoryLimit(-1)
	}
	n := int64(mb) << 20
	debug.SetMemoryLimit(n)
	log.Info("memory limit set", "mib", mb)
	return n
}

// sipGuard is the sip.Guard the config asks for.
func sipGuard(cfg *config.Config) sip.Guard {
	return sip.Guard{
		ProxyOnly:     cfg.AcceptFromProxy(),
		DropUntrusted: cfg.SIP.Untrusted == "drop",
		MaxServerTx:   cfg.SIP.MaxServerTransactions,
		Rate:          float64(cfg.SIP.RateLimit),
		Burst:         cfg.SIP.RateBurst,
	}
}
