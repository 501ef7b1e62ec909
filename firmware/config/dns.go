package config

import "net/netip"

// maxDNSServers bounds sip.dns (resolv.conf(5) reads three).
const maxDNSServers = 3

// DNSServers is sip.dns as addresses (port 53 when none is given); nil
// means the system's (/etc/resolv.conf). Valid after Load.
func (c *Config) DNSServers() []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range c.SIP.DNS {
		if ap, ok := parseDNSServer(s); ok {
			out = append(out, ap)
		}
	}
	return out
}

// parseDNSServer reads "IP", "IP:port" or "[IPv6]:port".
func parseDNSServer(s string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, ap.Port() != 0
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, 53), true
}

// dnsServers checks sip.dns: IP addresses (a name server named by a
// name would need DNS itself), at most maxDNSServers.
func (v *validator) dnsServers(path []string, servers []string) {
	if len(servers) > maxDNSServers {
		v.fail(path, "%d name servers (at most %d)", len(servers), maxDNSServers)
		return
	}
	for i, s := range servers {
		if _, ok := parseDNSServer(s); !ok {
			v.fail(append(path[:len(path):len(path)], elem(i)), "invalid name server %q (want an IP address, optionally with a port: 192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53)", s)
		}
	}
}
