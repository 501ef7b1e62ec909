package cfgstore

import (
	"os"
	"syscall"
)

// crashHook ends the process with SIGKILL at the write step named by
// PHONED_TEST_CRASH_AT (the kill -9 test of the real binary); nil
// otherwise. It is a test seam with no effect unless that variable is set.
func crashHook() func(string) {
	at := os.Getenv("PHONED_TEST_CRASH_AT")
	if at == "" {
		return nil
	}
	return func(step string) {
		if step == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
