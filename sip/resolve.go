package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ErrResolve is a host that resolved to no address.
var ErrResolve = errors.New("sip: cannot resolve")

// resolver is what target resolution needs of DNS; *net.Resolver has it.
type resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTargets turns a SIP URI's host and port into the ordered list of
// addresses to try, per RFC 3263 §4.2 for UDP:
//   - an IP literal is used as is (port 5060 when none is given);
//   - a name with an explicit port is looked up with A/AAAA only;
//   - a name without a port is looked up as _sip._udp (or _sip._tcp) SRV first (records
//     ordered by priority and, within one priority, by weighted random
//     choice, RFC 2782), each target's A/AAAA in turn; with no SRV records
//     the name's own A/AAAA at port 5060.
//
// The caller fails over along the list on timeout or 503 (RFC 3263 §4.3).
// want4 keeps IPv4 (or IPv6) addresses only, to match the listening socket.
//
// proto "tls" looks up _sips._tcp with default port 5061 (RFC 3263 §4.2,
// RFC 5630 §3.1).
func resolveTargets(ctx context.Context, r resolver, proto, host string, port int, want4 bool) ([]netip.AddrPort, error) {
	keep := func(a netip.Addr) bool { return a.Unmap().Is4() == want4 }
	service, defPort := "sip", uint16(5060)
	if proto == "tls" {
		service, proto, defPort = "sips", "tcp", 5061
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if port == 0 {
			port = int(defPort)
		}
		return []netip.AddrPort{netip.AddrPortFrom(a.Unmap(), uint16(port))}, nil
	}
	network := "ip6"
	if want4 {
		network = "ip4"
	}
	var out []netip.AddrPort
	lookup := func(name string, p uint16) {
		addrs, err := r.LookupNetIP(ctx, network, name)
		if err != nil {
			return
		}
		for _, a := range addrs {
			if keep(a) {
				out = append(out, netip.AddrPortFrom(a.Unmap(), p))
			}
		}
	}
	if port == 0 {
		if _, srvs, err := r.LookupSRV(ctx, service, proto, host); err == nil {
			for _, s := range srvs {
				if s.Target == "." { // RFC 2782: service decidedly not available
					continue
				}
				lookup(s.Target, s.Port)
			}
		}
		if len(out) == 0 {
			lookup(host, defPort)
		}
	} else {
		lookup(host, uint16(port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w %s", ErrResolve, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return out, nil
}
