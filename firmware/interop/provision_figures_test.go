package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkProvisioningCheck: from asking for a check (the API; a
// check-sync NOTIFY does the same after its challenge) to the result in
// the status, over HTTPS with a client certificate and signed files from
// nginx: "changed" applies a new directory entry (a hot key), "unchanged"
// finds the same files (nginx answers 304) and applies nothing.
//
//	go test -run '^$' -bench ProvisioningCheck -benchtime 20x ./firmware/interop/
func BenchmarkProvisioningCheck(b *testing.B) {
	for _, mode := range []string{"changed", "unchanged"} {
		b.Run(mode, func(b *testing.B) {
			tt := b
			s := startProvServer(tt)
			s.put(tt, "common.toml", "schema = 1\n", false)
			s.put(tt, provMAC+".toml", "schema = 1\n[directory]\n\"5\" = \"sip:five@127.0.0.1:9\"\n", false)
			p := s.phone(tt, "")
			_, err := p.Until(within, "the boot check", func(s phonedStatus) bool { return provResult(s) == "applied" })
			must(tt, err)
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				if mode == "changed" {
					// A size of its own each time: nginx's ETag is the file's
					// mtime in seconds and its size.
					s.put(tt, provMAC+".toml", fmt.Sprintf("schema = 1\n[directory]\n\"5\" = \"sip:five%d@127.0.0.1:9\"\n%s\n", i, "#"+strings.Repeat("-", i)), false)
				}
				start := time.Now()
				checkNow(tt, p, map[string]string{"changed": "applied", "unchanged": "unchanged"}[mode])
				if mode == "changed" {
					_, err := p.Until(within, "applied", func(s phonedStatus) bool {
						return s.Config != nil && s.Config.Source == "provisioning" && len(s.Config.Pending) == 0 && s.Config.AppliedAt != nil && s.Config.AppliedAt.After(start)
					})
					must(tt, err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-check-to-applied")
		})
	}
}
