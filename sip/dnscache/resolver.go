package dnscache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

// ErrNotFound is a name with no records of the type asked (NXDOMAIN or
// NODATA, RFC 2308 §2), from DNS or from the cache.
var ErrNotFound = errors.New("dnscache: no such record")

// Config configures a Resolver; zero values take the defaults.
type Config struct {
	// Servers are asked in order. Default: the nameserver lines of
	// ResolvConf, else 127.0.0.1:53.
	Servers []netip.AddrPort
	// ResolvConf default /etc/resolv.conf; HostsFile default /etc/hosts.
	ResolvConf, HostsFile string
	// Timeout is the wait for one server's answer; default 5 s (as
	// resolv.conf(5)), so a slow server that answers within it is heard. Each
	// server is tried Attempts times (default 2), in turn.
	Timeout  time.Duration
	Attempts int
	// MaxEntries bounds the cache; default 512.
	MaxEntries int
	Clock      clock.Clock
	Dialer     dialer // default &net.Dialer{}
}

// Resolver is a caching stub resolver. It is safe for concurrent use.
type Resolver struct {
	cfg     Config
	cache   *cache
	flights flights
	stats   struct{ queries atomicCounter }
}

// New returns a resolver for cfg.
func New(cfg Config) *Resolver {
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = "/etc/resolv.conf"
	}
	if cfg.HostsFile == "" {
		cfg.HostsFile = "/etc/hosts"
	}
	if len(cfg.Servers) == 0 {
		cfg.Servers = resolvConf(cfg.ResolvConf)
	}
	if len(cfg.Servers) == 0 {
		cfg.Servers = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53")}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 2
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 512
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &net.Dialer{}
	}
	return &Resolver{cfg: cfg, cache: newCache(cfg.MaxEntries)}
}

// Queries is how many queries were sent to name servers so far.
func (r *Resolver) Queries() uint64 { return r.stats.queries.load() }

// LookupNetIP returns host's addresses: network "ip4" (A), "ip6" (AAAA)
// or "ip" (both). /etc/hosts is read first.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	name := canonical(host)
	want := func(a netip.Addr) bool {
		switch network {
		case "ip4":
			return a.Unmap().Is4()
		case "ip6":
			return !a.Unmap().Is4()
		}
		return true
	}
	var out []netip.Addr
	for _, a := range hostsLookup(r.cfg.HostsFile, name) {
		if want(a) {
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	var types []uint16
	switch network {
	case "ip4":
		types = []uint16{typeA}
	case "ip6":
		types = []uint16{typeAAAA}
	case "ip":
		types = []uint16{typeA, typeAAAA}
	default:
		return nil, fmt.Errorf("dnscache: network %q (want ip, ip4 or ip6)", network)
	}
	var errs []error
	for _, t := range types {
		res, err := r.lookup(ctx, name, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, res.addrs...)
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%w: %s", ErrNotFound, name))
	}
	return nil, errors.Join(errs...)
}

// LookupSRV returns the SRV records of _service._proto.name ordered by
// priority and, within a priority, by weighted random choice (RFC 2782).
func (r *Resolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	qname := "_" + service + "._" + proto + "." + canonical(name)
	res, err := r.lookup(ctx, qname, typeSRV)
	if err != nil {
		return "", nil, err
	}
	return qname + ".", orderSRV(res.srvs), nil
}

// orderSRV sorts by priority, then within each priority draws records
// with probability proportional to weight (RFC 2782 "Usage rules").
func orderSRV(in []srv) []*net.SRV {
	s := slices.Clone(in)
	slices.SortStableFunc(s, func(a, b srv) int { return cmp.Compare(a.Priority, b.Priority) })
	out := make([]*net.SRV, 0, len(s))
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Priority == s[i].Priority {
			j++
		}
		group := s[i:j]
		for len(group) > 0 {
			total := 0
			for _, g := range group {
				total += int(g.Weight)
			}
			pick := 0
			if total > 0 {
				n := rand.IntN(total + 1)
				for k, g := range group {
					n -= int(g.Weight)
					if n <= 0 {
						pick = k
						break
					}
				}
			}
			g := group[pick]
			target := g.Target + "."
			if g.Target == "" {
				target = "." // RFC 2782: service decidedly not available
			}
			out = append(out, &net.SRV{Target: target, Port: g.Port, Priority: g.Priority, Weight: g.Weight})
			group = slices.Delete(slices.Clone(group), pick, pick+1)
		}
		i = j
	}
	return out
}

// lookup answers (name, qtype) from the cache or from one shared query.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) (result, error) {
	k := key{name, qtype}
	if res, ok := r.cache.get(k, r.cfg.Clock.Now()); ok {
		return found(res, name)
	}
	fl, leader := r.flights.start(k)
	if leader {
		// The query runs on its own deadline so that one caller giving
		// up does not fail the others waiting for it.
		go func() {
			res, err := r.query(name, qtype)
			if err == nil {
				r.cache.put(k, res, r.cfg.Clock.Now())
			}
			r.flights.finish(k, fl, res, err)
		}()
	}
	select {
	case <-fl.done:
		if fl.err != nil {
			return result{}, fl.err
		}
		return found(fl.res, name)
	case <-ctx.Done():
		return result{}, fmt.Errorf("dnscache: %s: %w", name, ctx.Err())
	}
}

func found(res result, name string) (result, error) {
	if res.negative {
		return res, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return res, nil
}

// query asks the servers in turn until one answers (RFC 1035 §7.2).
func (r *Resolver) query(name string, qtype uint16) (result, error) {
	var last error = ErrServer
	for range r.cfg.Attempts {
		for _, s := range r.cfg.Servers {
			id := uint16(rand.Uint32())
			q, err := buildQuery(id, name, qtype)
			if err != nil {
				return result{}, err
			}
			r.stats.queries.add()
			ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
			rep, err := exchange(ctx, r.cfg.Dialer, s, id, q, name, qtype)
			cancel()
			if err != nil {
				last = fmt.Errorf("%w: %s: %v", ErrServer, s, err)
				continue
			}
			if rep.rcode != rcodeOK && rep.rcode != rcodeNXDomain {
				last = fmt.Errorf("%w: %s answered rcode %d", ErrServer, s, rep.rcode)
				continue
			}
			return interpret(rep, name, qtype), nil
		}
	}
	return result{}, fmt.Errorf("%s: %w", name, last)
}
