package daemon

import (
	"slices"
	"time"

	"github.com/deskphone/phoned/firmware/phone"
)

// Live reconfiguration: a new config reaches the running loop as a
// Reconfig. It is applied between events and never during a call: while
// the phone is off-hook or has a call, it waits (the status shows it
// pending) and is applied the moment the phone is idle. A newer Reconfig
// replaces a pending one.

// Reconfig is a new config for the running phone.
type Reconfig struct {
	// Options are the loop's options built from the new config. Clock and
	// Logger are kept from the running loop.
	Options Options
	// Keys are the changed keys (for the status and the log).
	Keys []string
	// Restart, when set, is called (on the loop) instead of applying
	// Options: the change needs the phone restarted (re-registration, a
	// listen address, the board); the caller stops this loop and starts a
	// new one with the new config.
	Restart func()
	// Apply, when set, is called on the loop once Options are in place:
	// the caller's own hot changes (log level, ringer volume). Quick.
	Apply func()
	// Source says where the config came from ("SIGHUP", "api"...).
	Source string
}

// ConfigStatus is the live-reconfiguration part of Status.
type ConfigStatus struct {
	// Pending lists the changed keys of a config waiting for the phone to
	// be idle; Restart says it will restart the phone.
	Pending []string `json:"pending,omitempty"`
	Restart bool     `json:"pending_restart,omitempty"`
	// Applied is the last config applied: when, from where, which keys.
	AppliedAt  *time.Time `json:"applied_at,omitempty"`
	Source     string     `json:"source,omitempty"`
	AppliedKey []string   `json:"applied_keys,omitempty"`
}

// Reconfigure hands a new config to the loop. It does not block: a full
// queue is ErrBusy (a newer config is on its way already).
func (d *Daemon) Reconfigure(r Reconfig) error {
	select {
	case d.reconfC <- r:
		return nil
	default:
		return ErrBusy
	}
}

// idle: on-hook with no call at all, the only time a config changes.
func (d *Daemon) idle() bool {
	return d.state.Mode == phone.Idle && !d.state.OffHook && len(d.state.Calls) == 0 && len(d.calls) == 0
}

// reconfigure takes a new config: applied now when idle, else kept.
func (d *Daemon) reconfigure(r Reconfig) {
	if d.next != nil {
		d.log.Info("config replaced while waiting for idle", "keys", d.next.Keys)
	}
	d.next = &r
	if !d.idle() {
		d.log.Info("config waits until the phone is idle", "keys", r.Keys, "restart", r.Restart != nil, "source", r.Source)
		d.publishConfig()
		return
	}
	d.applyNext()
}

// applyNext applies the pending config if the phone is idle now.
func (d *Daemon) applyNext() {
	if d.next == nil || !d.idle() {
		return
	}
	r := *d.next
	d.next = nil
	if r.Restart != nil {
		d.log.Info("config applied: restarting the phone", "keys", r.Keys, "source", r.Source)
		d.mu.Lock()
		d.snap.config.Pending, d.snap.config.Restart = nil, false
		d.mu.Unlock()
		r.Restart()
		return
	}
	o := r.Options
	o.Clock, o.Logger = d.opts.Clock, d.opts.Logger
	if o.Machine.MediaTimeout == 0 {
		o.Machine.MediaTimeout = o.MediaTimeout
	}
	d.opts = o
	d.m = phone.NewMachine(o.Machine)
	if r.Apply != nil {
		r.Apply()
	}
	now := d.clk.Now()
	d.mu.Lock()
	d.snap.config = ConfigStatus{AppliedAt: &now, Source: r.Source, AppliedKey: slices.Clone(r.Keys)}
	d.mu.Unlock()
	d.log.Info("config applied", "keys", r.Keys, "source", r.Source)
	d.publish()
}

// SetConfigStatus shows cs as the last config applied: after the phone
// restarted itself for a new config. Safe from any goroutine.
func (d *Daemon) SetConfigStatus(cs ConfigStatus) {
	d.mu.Lock()
	d.snap.config = cs
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
}

func (d *Daemon) publishConfig() {
	d.mu.Lock()
	if d.next != nil {
		d.snap.config.Pending = slices.Clone(d.next.Keys)
		d.snap.config.Restart = d.next.Restart != nil
	}
	d.mu.Unlock()
	d.publish()
}

// ProvisioningStatus is the "provisioning" part of Status (issue 13):
// where the config comes from and how the last check went.
type ProvisioningStatus struct {
	// Source: "config" (provisioning.url), "dhcp" (option 160/66) or
	// "none" (nothing to fetch from).
	Source string `json:"source"`
	URL    string `json:"url,omitempty"` // the directory, macros expanded, no credentials
	// LastResult of the last check: "applied", "unchanged", "refused"
	// (a file that does not load), "failed" (fetching), "rolled back".
	LastCheck      *time.Time `json:"last_check,omitempty"`
	LastResult     string     `json:"last_result,omitempty"`
	Hash           string     `json:"hash,omitempty"` // of the stored layers in use
	AppliedAt      *time.Time `json:"applied_at,omitempty"`
	PendingRestart bool       `json:"pending_restart"`
	NextCheck      *time.Time `json:"next_check,omitempty"`
	Error          string     `json:"error,omitempty"`
}

// SetProvisioningStatus shows ps in the status. Safe from any goroutine.
func (d *Daemon) SetProvisioningStatus(ps ProvisioningStatus) {
	d.mu.Lock()
	d.snap.prov = &ps
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
}
