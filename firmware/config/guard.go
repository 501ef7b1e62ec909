package config

// This file holds the keys that bound who may reach the phone and what a
// flood may cost it (issue 18, items 5 and 6): sip.accept_from,
// sip.untrusted, sip.max_server_transactions, sip.rate_limit,
// sip.rate_burst and system.memory_limit_mb. decode.go, api.go and
// validate.go call in here; configs/README.md documents them.

// AcceptFrom lists the values of sip.accept_from ("" means the default:
// "proxy" with a registrar or outbound proxy, else "any").
var AcceptFrom = []string{"any", "proxy"}

// Untrusted lists the values of sip.untrusted: what a request from an
// untrusted source gets.
var Untrusted = []string{"reject", "drop"}

// Defaults and bounds of the guard's numbers.
const (
	DefaultMaxServerTx   = 64
	DefaultRateLimit     = 20 // requests per second per source
	DefaultRateBurst     = 40
	DefaultMemoryLimitMB = 64 // half of a 128 MB phone
	maxServerTxBound     = 10000
	maxRateBound         = 100000
	minMemoryLimitMB     = 16
	maxMemoryLimitMB     = 1 << 20
)

func (d *decoder) decodeSIPGuard(t map[string]any, p []string, c *Config) {
	d.Str(t, p, "accept_from", &c.SIP.AcceptFrom)
	d.Str(t, p, "untrusted", &c.SIP.Untrusted)
	d.Int(t, p, "max_server_transactions", &c.SIP.MaxServerTransactions)
	d.Int(t, p, "rate_limit", &c.SIP.RateLimit)
	d.Int(t, p, "rate_burst", &c.SIP.RateBurst)
}

func (v *validator) validateGuard(c *Config) {
	p := func(keys ...string) []string { return keys }
	if c.SIP.AcceptFrom != "" {
		v.oneOf(p("sip", "accept_from"), "source policy", c.SIP.AcceptFrom, AcceptFrom)
	}
	v.oneOf(p("sip", "untrusted"), "answer to untrusted sources", c.SIP.Untrusted, Untrusted)
	v.intIn(p("sip", "max_server_transactions"), c.SIP.MaxServerTransactions, 1, maxServerTxBound)
	v.intIn(p("sip", "rate_limit"), c.SIP.RateLimit, 0, maxRateBound)
	v.intIn(p("sip", "rate_burst"), c.SIP.RateBurst, 1, maxRateBound)
	if m := c.System.MemoryLimitMB; m != 0 {
		v.intIn(p("system", "memory_limit_mb"), m, minMemoryLimitMB, maxMemoryLimitMB)
	}
}

// intIn fails path unless lo <= n <= hi.
func (v *validator) intIn(path []string, n, lo, hi int) {
	if n < lo || n > hi {
		v.fail(path, "%d out of range (want %d to %d)", n, lo, hi)
	}
}

// AcceptFromProxy reports whether requests are taken only from the
// registrar's or outbound proxy's host: sip.accept_from = "proxy", or
// unset with a registrar or an outbound proxy configured.
func (c *Config) AcceptFromProxy() bool {
	if c.SIP.AcceptFrom != "" {
		return c.SIP.AcceptFrom == "proxy"
	}
	return c.Account.Registrar != "" || c.Account.OutboundProxy != ""
}
