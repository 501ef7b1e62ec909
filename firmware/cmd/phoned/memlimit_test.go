package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/deskphone/phoned/firmware/config"
)

// system.memory_limit_mb sets Go's soft memory limit; 0 leaves none;
// GOMEMLIMIT in the environment wins.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("GOMEMLIMIT", "")

	cfg := config.Default()
	if got := setMemoryLimit(cfg, log); got != 64<<20 || debug.SetMemoryLimit(-1) != 64<<20 {
		t.Fatalf("default: limit %d, runtime %d, want 64 MiB", got, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(math.MaxInt64)
	cfg.System.MemoryLimitMB = 0
	if got := setMemoryLimit(cfg, log); got != math.MaxInt64 {
		t.Fatalf("0: limit %d, want none", got)
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(100 << 20) // what the runtime read at start
	cfg.System.MemoryLimitMB = 32
	if got := setMemoryLimit(cfg, log); got != 100<<20 || debug.SetMemoryLimit(-1) != 100<<20 {
		t.Fatalf("with GOMEMLIMIT: limit %d, want the environment's 100 MiB", got)
	}
}
