package dnscache

import (
	"net/netip"
	"time"
)

// Bounds on how long an answer is kept, whatever its TTL says.
const (
	maxTTL         = 24 * time.Hour
	maxNegativeTTL = 3 * time.Hour // RFC 2308 §5 suggests 1-3 hours at most
	maxCNAMEChain  = 8
)

// result is what one (name, type) lookup gave: records, or none (a
// negative answer), valid for ttl.
type result struct {
	addrs    []netip.Addr
	srvs     []srv
	negative bool // NXDOMAIN or NODATA (RFC 2308 §2)
	nxdomain bool
	ttl      time.Duration
}

// interpret picks from a reply the records that answer (qname, qtype),
// following CNAMEs in the answer section (RFC 1034 §3.6.2), with the
// smallest TTL of the records used. A reply with none is negative, kept
// for min(SOA TTL, SOA MINIMUM) (RFC 2308 §5), or not at all without an
// SOA.
func interpret(r reply, qname string, qtype uint16) result {
	names := map[string]bool{qname: true}
	var ttl uint32 = 1<<31 - 1
	// Follow the chain: a CNAME whose owner is one of ours adds its target.
	for range maxCNAMEChain {
		added := false
		for _, rec := range r.answers {
			if rec.typ == typeCNAME && names[rec.name] && !names[rec.cname] {
				names[rec.cname] = true
				ttl = min(ttl, rec.ttl)
				added = true
			}
		}
		if !added {
			break
		}
	}
	var res result
	found := false
	for _, rec := range r.answers {
		if rec.typ != qtype || !names[rec.name] {
			continue
		}
		found = true
		ttl = min(ttl, rec.ttl)
		switch qtype {
		case typeA, typeAAAA:
			res.addrs = append(res.addrs, rec.addr)
		case typeSRV:
			res.srvs = append(res.srvs, rec.srv)
		}
	}
	if found {
		res.ttl = min(time.Duration(ttl)*time.Second, maxTTL)
		return res
	}
	res.negative = true
	res.nxdomain = r.rcode == rcodeNXDomain
	for _, rec := range r.authority {
		if rec.typ == typeSOA {
			res.ttl = min(time.Duration(min(rec.ttl, rec.minimum))*time.Second, maxNegativeTTL)
			break
		}
	}
	return res
}
