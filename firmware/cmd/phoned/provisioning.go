package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/phoned/firmware/cfgstore"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/provision"
)

// provisioner keeps the phone on its provisioning server's config (issue
// 13): it checks at boot after a random delay, then periodically with a
// spread derived from the MAC, after a failure on a jittered back-off,
// and on demand (API, SIP check-sync); a changed set of files that loads
// over the phone's own file is stored (cfgstore) and applied like a
// reload. A stored set that changed how the phone registers must register
// within provisioning.rollback_after of being applied, or the phone goes
// back to the last set that did.
type provisioner struct {
	path    string // the phone's own file
	rl      *reloader
	d       *daemon.Daemon
	clk     clock.Clock
	log     *slog.Logger
	model   string
	version string
	leases  func() []string // DHCP lease files; provision.DefaultLeaseFiles
	mac     func() (string, error)

	kick   chan struct{} // check now
	reboot atomic.Bool   // a check-sync asked for a restart after the check
	stored chan struct{} // the stored layers changed: verify them
	rnd    *rand.Rand

	mu       sync.Mutex
	st       daemon.ProvisioningStatus
	fetcher  *provision.Fetcher
	fetchKey string
	// restarted: this phone restarted itself for a new config; the first
	// check waits a full interval, not the boot delay.
	restarted bool
}

// inherit carries the status and the fetcher (its ETags) of the
// provisioner before an in-process restart.
func (p *provisioner) inherit(prev *provisioner) {
	if prev == nil {
		return
	}
	prev.mu.Lock()
	st, f, key := prev.st, prev.fetcher, prev.fetchKey
	prev.mu.Unlock()
	p.mu.Lock()
	p.st, p.fetcher, p.fetchKey, p.restarted = st, f, key, true
	p.mu.Unlock()
	p.d.SetProvisioningStatus(st)
}

func newProvisioner(path string, rl *reloader, d *daemon.Daemon, clk clock.Clock, log *slog.Logger, model string) *provisioner {
	leases := provision.DefaultLeaseFiles
	if model == "sim" {
		// The simulated phone runs on a host whose DHCP leases are the
		// host's, not a phone's: it never takes a provisioning URL from them.
		leases = func() []string { return nil }
	}
	return &provisioner{path: path, rl: rl, d: d, clk: clk, log: log, model: model, version: version,
		leases: leases, mac: provision.DefaultMAC,
		kick: make(chan struct{}, 1), stored: make(chan struct{}, 1),
		rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// CheckNow asks for a check at once; it never blocks.
func (p *provisioner) CheckNow() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// CheckSyncNow is a check-sync from the registrar: check at once; with
// reboot, restart once idle after applying.
func (p *provisioner) CheckSyncNow(reboot bool) {
	if reboot {
		p.reboot.Store(true)
	}
	p.CheckNow()
}

// Stored says the stored layers changed (a push): verify them.
func (p *provisioner) Stored() {
	select {
	case p.stored <- struct{}{}:
	default:
	}
}

// run checks until ctx ends.
func (p *provisioner) run(ctx context.Context) {
	go p.verify(ctx)
	failures := 0
	wait := p.schedule(p.rl.current()).Boot(p.rnd)
	if p.restarted {
		now := p.clk.Now()
		wait = p.schedule(p.rl.current()).Next(now, 0, p.rnd).Sub(now)
	}
	for {
		p.update(func(st *daemon.ProvisioningStatus) {
			t := p.clk.Now().Add(wait)
			st.NextCheck = &t
		})
		if !p.sleep(ctx, wait, p.kick) {
			return
		}
		if err := p.check(ctx); err != nil {
			failures++
		} else {
			failures = 0
		}
		if p.reboot.Swap(false) {
			p.rl.restartWhenIdle("check-sync")
		}
		now := p.clk.Now()
		wait = p.schedule(p.rl.current()).Next(now, failures, p.rnd).Sub(now)
	}
}

func (p *provisioner) schedule(cfg *config.Config) provision.Schedule {
	mac, _ := p.macOf(cfg)
	return provision.Schedule{Interval: cfg.Provisioning.Interval.Duration, BootDelayMax: cfg.Provisioning.BootDelayMax.Duration, MAC: mac}
}

// sleep waits d, or for a kick; false when ctx ended.
func (p *provisioner) sleep(ctx context.Context, d time.Duration, kick <-chan struct{}) bool {
	fired := make(chan struct{})
	t := p.clk.AfterFunc(max(d, 0), func() { close(fired) })
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-fired:
	case <-kick:
	}
	return true
}

func (p *provisioner) update(f func(*daemon.ProvisioningStatus)) {
	p.mu.Lock()
	f(&p.st)
	st := p.st
	p.mu.Unlock()
	p.d.SetProvisioningStatus(st)
}

func (p *provisioner) macOf(cfg *config.Config) (string, error) {
	if cfg.Provisioning.MAC != "" {
		return cfg.Provisioning.MAC, nil
	}
	return p.mac()
}

// errNoSource: nothing to fetch from (no URL, no DHCP option); not a
// failure to back off from.
var errNoSource = errors.New("no provisioning URL (provisioning.url, DHCP option 160 or 66)")

// source is where to fetch from now, and from which setting.
func (p *provisioner) source(cfg *config.Config) (provision.Source, string, error) {
	pr := cfg.Provisioning
	url, from := pr.URL, "config"
	if url == "" {
		u, err := provision.LeaseURL(p.leases()...)
		if err != nil || u == "" {
			return provision.Source{}, "none", errNoSource
		}
		url, from = u, "dhcp"
	}
	mac, err := p.macOf(cfg)
	if err != nil {
		return provision.Source{}, from, err
	}
	return provision.Source{URL: url, MAC: mac, Model: p.model, Version: p.version, CA: pr.CA, ClientCert: pr.ClientCert,
		ClientKey: pr.ClientKey, User: pr.User, Password: pr.Password.Reveal(), PublicKey: cfg.ProvisioningKey()}, from, nil
}

// check fetches and applies once.
func (p *provisioner) check(ctx context.Context) (err error) {
	cfg := p.rl.current()
	src, from, err := p.source(cfg)
	now := p.clk.Now()
	result := ""
	defer func() {
		p.update(func(st *daemon.ProvisioningStatus) {
			st.Source, st.LastCheck, st.LastResult, st.Error = from, &now, result, ""
			if err != nil && !errors.Is(err, errNoSource) {
				st.Error = err.Error()
			}
		})
		p.log.Info("provisioning check", "source", from, "result", result, "err", err)
	}()
	if errors.Is(err, errNoSource) {
		result = "none"
		return nil
	}
	if err != nil {
		result = "failed"
		return err
	}
	f, err := p.fetcherFor(src)
	if err != nil {
		result = "failed"
		return err
	}
	dir, _ := provision.ExpandURL(src.URL, src.MAC, src.Model, src.Version)
	p.update(func(st *daemon.ProvisioningStatus) { st.URL = dir })
	fctx, cancel := context.WithTimeout(ctx, 2*provision.DefaultTimeout)
	defer cancel()
	res, err := f.Fetch(fctx)
	if err != nil {
		result = "failed"
		return err
	}
	if res.Unchanged {
		result = "unchanged"
		return nil
	}
	files := make([]cfgstore.File, len(res.Files))
	for i, file := range res.Files {
		files[i] = cfgstore.File{Name: file.URL, Data: file.Data}
	}
	set := cfgstore.Set{Files: files, Source: "provisioning", AppliedAt: p.clk.Now().UTC()}
	if store, err := cfgstore.New(p.rl.stateDir); err == nil {
		// After a restart the fetcher knows nothing: what is stored, or was
		// rolled back, is not applied again.
		if cur, err := store.Current(); err == nil && cur.Hash() == set.Hash() {
			f.Applied(res)
			result = "unchanged"
			return nil
		}
		if rej, ok := store.Rejected(); ok && rej.Hash == set.Hash() {
			f.Applied(res)
			result = "refused"
			return fmt.Errorf("these files were rolled back before (%s); not applied again until they change", rej.Why)
		}
	}
	n, err := parseWithLayers(p.path, files)
	if err != nil {
		result = "refused"
		for _, line := range strings.Split(err.Error(), "\n") {
			p.log.Error("provisioned config refused", "problem", line)
		}
		return fmt.Errorf("config refused, the running config stays: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if err := p.rl.store(set); err != nil {
		result = "failed"
		return err
	}
	f.Applied(res)
	result = "applied"
	p.update(func(st *daemon.ProvisioningStatus) { st.Hash, st.AppliedAt = set.Hash(), &set.AppliedAt })
	p.Stored()
	return p.rl.offer(n, "provisioning")
}

// fetcherFor keeps one fetcher (its ETags) while the source stays.
func (p *provisioner) fetcherFor(src provision.Source) (*provision.Fetcher, error) {
	key := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%x|%x", src.URL, src.MAC, src.CA, src.ClientCert, src.ClientKey, src.User,
		sha(src.Password), src.PublicKey)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fetcher != nil && p.fetchKey == key {
		return p.fetcher, nil
	}
	f, err := provision.NewFetcher(src, p.clk, p.log)
	if err != nil {
		return nil, err
	}
	p.fetcher, p.fetchKey = f, key
	return f, nil
}

func sha(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// verify watches the stored layers in use: once applied (nothing
// pending), a set that changed how the phone registers must register
// within rollback_after, else the last good set comes back.
func (p *provisioner) verify(ctx context.Context) {
	sub, unsub := p.d.Subscribe()
	defer unsub()
	for {
		if !p.verifyOnce(ctx, sub) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-p.stored:
		}
	}
}

// verifyOnce verifies the set in use; false when ctx ended.
func (p *provisioner) verifyOnce(ctx context.Context, sub <-chan struct{}) bool {
	store, err := cfgstore.New(p.rl.stateDir)
	if err != nil {
		return true
	}
	cur, err := store.Current()
	if err != nil {
		return true // none (the own file is good), or unreadable (ignored at start)
	}
	good, err := store.LastGood()
	if err == nil && good.Hash() == cur.Hash() {
		return true
	}
	haveGood := err == nil
	curCfg, perr := parseWithLayers(p.path, cur.Files)
	if perr != nil {
		return true // ignored at start too; nothing to verify
	}
	if !p.changesRegistration(good, haveGood, curCfg) || curCfg.RegistrarURI() == "" {
		p.d.NoteStateWrite(store.MarkGood())
		return true
	}
	var deadline time.Time
	for {
		st := p.d.Status()
		// Applied: nothing waits for idle, and the phone runs this set's
		// config (not the one before a restart it waits for).
		applied := (st.Config == nil || len(st.Config.Pending) == 0) && len(config.Diff(p.rl.current(), curCfg)) == 0
		switch {
		case applied && deadline.IsZero():
			deadline = p.clk.Now().Add(p.rl.current().Provisioning.RollbackAfter.Duration)
		case !applied:
			deadline = time.Time{}
		}
		if applied && st.Registration.State == "registered" {
			err := store.MarkGood()
			if err != nil {
				p.log.Warn("cannot record the config as good", "err", err)
			}
			p.d.NoteStateWrite(err)
			p.log.Info("config registered: kept as the last good one", "hash", cur.Hash(), "source", cur.Source)
			return true
		}
		if !deadline.IsZero() && !p.clk.Now().Before(deadline) {
			p.rollback(store, cur, good, haveGood, st.Registration)
			return true
		}
		var wake <-chan struct{}
		var t clock.Timer
		if !deadline.IsZero() {
			w := make(chan struct{})
			t = p.clk.AfterFunc(deadline.Sub(p.clk.Now()), func() { close(w) })
			wake = w
		}
		var done, again bool
		select {
		case <-ctx.Done():
			done = true
		case <-sub:
		case <-wake:
		case <-p.stored:
			again = true // a newer set replaced it
		}
		if t != nil {
			t.Stop()
		}
		if done {
			return false
		}
		if again {
			return p.verifyOnce(ctx, sub)
		}
	}
}

// changesRegistration reports whether cur, the config of the set in use,
// registers differently from the last good set (or the phone's own
// file): an account or SIP change.
func (p *provisioner) changesRegistration(good cfgstore.Set, haveGood bool, cur *config.Config) bool {
	var base *config.Config
	var err error
	if haveGood {
		base, err = parseWithLayers(p.path, good.Files)
	} else {
		base, err = config.Load(p.path)
	}
	if err != nil {
		return true
	}
	for _, c := range config.Diff(base, cur) {
		if c.Apply == config.Reregister || strings.HasPrefix(c.Key, "sip.") {
			return true
		}
	}
	return false
}

// rollback puts the last good set (or none: the phone's own file) back.
func (p *provisioner) rollback(store *cfgstore.Store, cur, good cfgstore.Set, haveGood bool, reg daemon.Registration) {
	why := fmt.Sprintf("no registration within %s of applying the config from %s (%s): %s %s",
		p.rl.current().Provisioning.RollbackAfter.Duration, cur.Source, cur.Hash(), reg.State, strings.TrimSpace(fmt.Sprint(reg.Code, " ", reg.Reason)))
	var err error
	if haveGood {
		good.Source, good.AppliedAt = "rollback", p.clk.Now().UTC()
		err = store.Save(good)
	} else {
		err = store.Clear()
	}
	p.d.NoteStateWrite(err)
	if err != nil {
		p.log.Error("rollback failed", "err", err)
		return
	}
	if err := store.Reject(cfgstore.Rejection{Hash: cur.Hash(), Why: why, At: p.clk.Now().UTC()}); err != nil {
		p.log.Warn("cannot record the rolled-back config", "err", err)
	}
	p.log.Warn("config rolled back to the last good one", "why", why)
	now := p.clk.Now()
	p.update(func(st *daemon.ProvisioningStatus) {
		st.LastResult, st.Error, st.LastCheck = "rolled back", why, &now
		if haveGood {
			st.Hash = good.Hash()
		} else {
			st.Hash = ""
		}
	})
	if err := p.rl.reload("rollback"); err != nil {
		p.log.Error("rollback reload", "err", err)
	}
}
