package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/phoned/firmware/api"
	"github.com/deskphone/phoned/firmware/cfgstore"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/daemon"
)

// reloader applies a changed config file to the running phone (SIGHUP):
// a file that does not load is refused whole and the running config
// stays (CoreDNS reload semantics); a good one is compared with the
// running config key by key (config.Diff), and the daemon applies it
// when the phone is idle: hot keys in place, the others by restarting
// the phone in-process (run starts serve again with the new config).
type reloader struct {
	path     string
	stateDir string // the phone's own file's system.state_dir
	log      *slog.Logger
	d        *daemon.Daemon
	// options builds the daemon's options from a config; hot applies the
	// caller's own hot keys (log level, ringer) on the loop.
	options func(*config.Config) daemon.Options
	hot     func(*config.Config)
	// restart stops serve so that run starts it again with next.
	restart context.CancelFunc

	// stored, when set, hears of newly stored layers (the provisioner
	// verifies them).
	stored func()
	prov   *provisioner

	mu     sync.Mutex
	latest *config.Config // the newest config offered (it may wait for idle)
	cur    *config.Config // the config running
	next   *restartWith   // set when a restart is on its way
}

// restartWith is the config serve starts again with, and the status that
// says why.
type restartWith struct {
	cfg    *config.Config
	status daemon.ConfigStatus
	prov   *provisioner // its status and fetcher carry on
}

// errReloadRefused wraps the problems of a refused file.
var errReloadRefused = errors.New("config refused, the running config stays")

// reload reads the file again and hands the changes to the daemon.
func (r *reloader) reload(source string) error {
	n, warn, err := loadEffective(r.path)
	if warn != "" {
		r.log.Warn(warn, "source", source)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			r.log.Error("config refused", "source", source, "problem", line)
		}
		return errors.Join(errReloadRefused, err)
	}
	return r.offer(n, source)
}

// offer compares n with the running config and queues what changed.
func (r *reloader) offer(n *config.Config, source string) error {
	r.mu.Lock()
	changes := config.Diff(r.cur, n)
	// A config waiting for idle that this one takes back.
	revert := len(changes) == 0 && r.latest != nil && len(config.Diff(r.latest, r.cur)) > 0
	r.latest = n
	r.mu.Unlock()
	if revert {
		r.log.Info("config back to the running one: the waiting change is dropped", "source", source)
		return r.d.Reconfigure(daemon.Reconfig{Options: r.options(n), Source: source})
	}
	if len(changes) == 0 {
		r.log.Info("config unchanged", "source", source)
		return nil
	}
	keys := make([]string, len(changes))
	for i, c := range changes {
		keys[i] = c.Key
	}
	rc := daemon.Reconfig{Options: r.options(n), Keys: keys, Source: source}
	if need := config.Needs(changes); need > config.Hot {
		rc.Restart = func() {
			now := time.Now()
			r.mu.Lock()
			r.next = &restartWith{cfg: n, status: daemon.ConfigStatus{AppliedAt: &now, Source: source, AppliedKey: keys}, prov: r.prov}
			r.mu.Unlock()
			r.restart()
		}
		r.log.Info("config accepted", "source", source, "keys", keys, "apply", need.String())
	} else {
		rc.Apply = func() {
			r.hot(n)
			r.mu.Lock()
			r.cur = n
			r.mu.Unlock()
		}
		r.log.Info("config accepted", "source", source, "keys", keys, "apply", "hot")
	}
	return r.d.Reconfigure(rc)
}

// restartWith is the config to start again with, nil when serve stopped
// for good.
func (r *reloader) restartWith() *restartWith {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

// restartWhenIdle restarts the phone with the config it has once idle
// (check-sync;reboot=true).
func (r *reloader) restartWhenIdle(source string) {
	r.mu.Lock()
	n := r.cur
	if r.latest != nil {
		n = r.latest
	}
	if r.next != nil {
		r.mu.Unlock()
		return // a restart is on its way already
	}
	r.mu.Unlock()
	keys := []string{"(restart)"}
	err := r.d.Reconfigure(daemon.Reconfig{Options: r.options(n), Keys: keys, Source: source, Restart: func() {
		now := time.Now()
		r.mu.Lock()
		r.next = &restartWith{cfg: n, status: daemon.ConfigStatus{AppliedAt: &now, Source: source, AppliedKey: keys}, prov: r.prov}
		r.mu.Unlock()
		r.restart()
	}})
	if err != nil {
		r.log.Warn("restart not queued", "source", source, "err", err)
	}
}

// current is the config running.
func (r *reloader) current() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// store keeps set as the layers in use, atomically.
func (r *reloader) store(set cfgstore.Set) error {
	s, err := cfgstore.New(r.stateDir)
	if err == nil {
		err = s.Save(set)
	}
	if err != nil {
		err = fmt.Errorf("cannot keep the config in %s: %w", r.stateDir, err)
		r.log.Error("state write failed, the stored config stays", "err", err)
	}
	r.d.NoteStateWrite(err) // status "storage" (a full disk)
	return err
}

// pushName names a pushed file in error messages and the store.
const pushName = "pushed.toml"

// PushConfig takes a config pushed to PUT /api/v1/config: checked over
// the phone's own file, stored as the layers in use (replacing fetched
// ones), and applied like a reload. A refused file changes nothing.
func (r *reloader) PushConfig(data []byte) (api.PushResult, error) {
	n, err := parseWithLayers(r.path, []cfgstore.File{{Name: pushName, Data: data}})
	if err != nil {
		if !errors.Is(err, config.ErrInvalid) {
			return api.PushResult{}, err
		}
		res := api.PushResult{Problems: strings.Split(err.Error(), "\n")}
		r.log.Warn("pushed config refused", "problems", len(res.Problems))
		return res, fmt.Errorf("%w: %d problems", api.ErrPushRefused, len(res.Problems))
	}
	r.mu.Lock()
	changes := config.Diff(r.cur, n)
	r.mu.Unlock()
	if err := r.store(cfgstore.Set{Files: []cfgstore.File{{Name: pushName, Data: data}}, Source: "push", AppliedAt: time.Now().UTC()}); err != nil {
		return api.PushResult{}, err
	}
	if r.stored != nil {
		r.stored()
	}
	res := api.PushResult{Changed: []string{}, Apply: config.Needs(changes).String()}
	for _, c := range changes {
		res.Changed = append(res.Changed, c.Key)
	}
	if len(changes) == 0 {
		return res, nil
	}
	st := r.d.Status()
	res.WaitsForIdle = st.State != "idle" || st.OffHook || len(st.Calls) > 0
	return res, r.offer(n, "push")
}
