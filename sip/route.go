package sip

import (
	"slices"

	gosip "github.com/emiago/sipgo/sip"
)

// recordRoute reads the URIs of Record-Route headers, each of which may
// hold several comma-separated entries, in order; reversed for a UAC
// (RFC 3261 §12.1.1, §12.1.2). Unparsable entries are skipped.
func recordRoute(hs []gosip.Header, reverse bool) []gosip.Uri {
	var out []gosip.Uri
	for _, h := range hs {
		for _, v := range splitComma(h.Value()) {
			var uri gosip.Uri
			params := gosip.NewParams()
			if _, err := gosip.ParseAddressValue(v, &uri, &params); err == nil {
				out = append(out, uri)
			}
		}
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// splitComma splits a header value at commas outside <> and quotes.
func splitComma(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
