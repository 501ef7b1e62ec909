package daemon

import (
	"strings"
	"testing"
)

func TestRegistrationHint(t *testing.T) {
	for _, tc := range []struct {
		state  string
		code   int
		reason string
		want   string // a word the hint must hold; "" for no hint
	}{
		{"registered", 200, "OK", ""},
		{"registering", 0, "", ""},
		{"failed", 401, "Unauthorized", "account.password"},
		{"failed", 407, "Proxy Authentication Required", "account.auth_user"},
		{"failed", 403, "Forbidden", "account.user"},
		{"failed", 404, "Not Found", "account.domain"},
		{"failed", 503, "Service Unavailable", "503"},
		{"failed", 0, "Timer_B timed out. transaction timeout", "32 s"},
		{"failed", 0, "lookup pbx.example: no such host", "sip.dns"},
		{"failed", 0, "dial tcp 127.0.0.1:5060: connect: connection refused", "port"},
		{"failed", 0, "TLS: registrar certificate not trusted (signed by unknown authority)", "sip.ca"},
		{"failed", 480, "Temporarily Unavailable", ""},
		{"unconfirmed", 0, "sip: registrar did not answer the keep-alive within 4s", "network path"},
	} {
		got := registrationHint(tc.state, tc.code, tc.reason)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s %d %q: hint %q, want one mentioning %q", tc.state, tc.code, tc.reason, got, tc.want)
		}
	}
}
