package daemon

import "github.com/deskphone/phoned/sip"

// guardStats is the SIP UA's guard counters (issue 18: requests refused as
// untrusted, over a source's rate, or over the cap on server
// transactions), when the UA keeps them; nil otherwise (fakes).
type guardStats interface{ GuardStats() sip.GuardStats }

func (d *Daemon) guardStatus() *sip.GuardStats {
	g, ok := d.deps.Calls.(guardStats)
	if !ok {
		return nil
	}
	s := g.GuardStats()
	return &s
}
