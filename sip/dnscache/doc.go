// Package dnscache is the phone's stub resolver: it asks the configured
// name servers (sip.dns, else /etc/resolv.conf) for SRV, A and AAAA
// records over UDP (TCP when the answer is truncated, RFC 1035 §4.2.2,
// RFC 7766) and caches the answers for their TTL (RFC 1035 §3.2.1) and
// the negative answers for the SOA minimum (RFC 2308 §5), on an injected
// clock, in a cache of bounded size. Go's net.Resolver gives no TTL, which
// is why this exists.
//
// Contract:
//
//   - /etc/hosts is read first (files before DNS, as Go's resolver does
//     by default); its names are never cached here.
//   - Concurrent lookups of one name and type share one query.
//   - Answers are parsed by this package (msg.go), bounded and fuzzed: a
//     malformed answer is an error, never a panic.
//   - Server failures and timeouts are not cached; the next lookup asks
//     again.
//   - Resolver has the two methods the SIP layer needs (LookupSRV,
//     LookupNetIP) with net.Resolver's signatures.
package dnscache
