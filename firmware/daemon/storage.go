package daemon

import (
	"sync"
	"time"
)

// StorageStatus is Status.Storage: how the phone's writes to its state
// directory (system.state_dir: the provisioned config layers) went. A
// full or read-only disk fails them; the phone runs on, on what it has
// in memory, and what was stored stays as it was (every write replaces
// its file atomically: temporary file, fsync, rename). Absent until a
// write fails.
type StorageStatus struct {
	// WriteErrors counts the writes that failed since the phone started.
	WriteErrors uint64 `json:"write_errors"`
	// Error is the last failure (the path and the system's reason, e.g.
	// "no space left on device"), cleared by the next write that
	// succeeds; LastErrorAt stays.
	Error       string     `json:"error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// storageState keeps StorageStatus; its own lock (writes happen outside
// the loop, in the reloader and the provisioner).
type storageState struct {
	mu sync.Mutex
	st *StorageStatus
}

// NoteStateWrite records how a write to the state directory went: an
// error is counted and shown, a success clears the shown error. Safe from
// any goroutine.
func (d *Daemon) NoteStateWrite(err error) {
	d.disk.mu.Lock()
	defer d.disk.mu.Unlock()
	if err == nil {
		if d.disk.st != nil {
			d.disk.st.Error = ""
		}
		return
	}
	if d.disk.st == nil {
		d.disk.st = &StorageStatus{}
	}
	now := d.clk.Now().UTC()
	d.disk.st.WriteErrors++
	d.disk.st.Error = err.Error()
	d.disk.st.LastErrorAt = &now
}

// storageStatus is a copy for Status, nil while no write failed.
func (d *Daemon) storageStatus() *StorageStatus {
	d.disk.mu.Lock()
	defer d.disk.mu.Unlock()
	if d.disk.st == nil {
		return nil
	}
	c := *d.disk.st
	return &c
}
