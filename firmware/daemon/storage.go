package daemon

import "time"

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

// NoteStateWrite records how a write to the state directory went: an
// error is counted and shown, a success clears the shown error. Safe from
// any goroutine (d.mu: the writes happen in the reloader and the
// provisioner, outside the loop).
func (d *Daemon) NoteStateWrite(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		if d.disk != nil {
			d.disk.Error = ""
		}
		return
	}
	if d.disk == nil {
		d.disk = &StorageStatus{}
	}
	now := d.clk.Now().UTC()
	d.disk.WriteErrors++
	d.disk.Error = err.Error()
	d.disk.LastErrorAt = &now
}
