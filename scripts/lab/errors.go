package lab

import "errors"

// Sentinel errors; failures wrap one of them with %w and the details.
var (
	// ErrNotInstalled: the peer's binary is not on the PATH.
	ErrNotInstalled = errors.New("peer not installed")
	// ErrOption: an option value that cannot be used.
	ErrOption = errors.New("bad lab option")
	// ErrConfig: a peer rejected the configuration the lab wrote.
	ErrConfig = errors.New("peer rejected its config")
	// ErrStart: a peer could not be started (exec failed, no free port).
	ErrStart = errors.New("peer did not start")
	// ErrNotReady: a peer started but never became ready.
	ErrNotReady = errors.New("peer not ready")
	// ErrControl: a control command to a peer failed or was refused.
	ErrControl = errors.New("peer control failed")
	// ErrTimeout: an awaited event did not happen in time.
	ErrTimeout = errors.New("timed out")
	// ErrExit: a peer exited with a failure status.
	ErrExit = errors.New("peer failed")
)
