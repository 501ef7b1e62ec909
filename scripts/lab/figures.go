package lab

import (
	"slices"
	"time"
)

// InviteTo180 returns, per call of a SIPp UAC trace, the time from the
// first INVITE sent to the first 180 received (calls without a 180 are
// left out), in call order.
func InviteTo180(msgs []SIPpMessage) []time.Duration {
	sent := map[string]time.Time{}
	done := map[string]bool{}
	var out []time.Duration
	for _, m := range msgs {
		switch {
		case m.Sent && m.Method == "INVITE" && m.Status == 0:
			if _, ok := sent[m.CallID]; !ok {
				sent[m.CallID] = m.Time
			}
		case !m.Sent && m.Status == 180 && !done[m.CallID]:
			if t0, ok := sent[m.CallID]; ok {
				out = append(out, m.Time.Sub(t0))
				done[m.CallID] = true
			}
		}
	}
	return out
}

// RegisterTimes are the REGISTER figures of one registration.
type RegisterTimes struct {
	Total      time.Duration // first REGISTER to its final 200 (the 401/407 round included)
	Authorized time.Duration // the REGISTER with credentials to its 200
}

// RegisterRoundTrips returns, per Call-ID of a capture, the REGISTER times
// of the first successful registration.
func RegisterRoundTrips(msgs []TraceMessage) []RegisterTimes {
	first := map[string]time.Time{}
	last := map[string]time.Time{}
	done := map[string]bool{}
	var out []RegisterTimes
	for _, m := range msgs {
		switch {
		case m.Method == "REGISTER":
			if _, ok := first[m.CallID]; !ok {
				first[m.CallID] = m.Time
			}
			last[m.CallID] = m.Time
		case m.Status == 200 && m.CSeq == "REGISTER" && !done[m.CallID]:
			if t0, ok := first[m.CallID]; ok {
				out = append(out, RegisterTimes{Total: m.Time.Sub(t0), Authorized: m.Time.Sub(last[m.CallID])})
				done[m.CallID] = true
			}
		}
	}
	return out
}

// Median of ds (0 for none).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
