package config

import "testing"

// sip.accept_from defaults to "proxy" once the phone has a trusted server.
func TestAcceptFromDefault(t *testing.T) {
	for _, c := range []struct {
		accept, registrar, proxy string
		want                     bool
	}{
		{"", "", "", false},
		{"", "pbx.example.com", "", true},
		{"", "", "sip:sbc.example.com", true},
		{"any", "pbx.example.com", "", false},
		{"proxy", "", "", true},
	} {
		cfg := Default()
		cfg.SIP.AcceptFrom, cfg.Account.Registrar, cfg.Account.OutboundProxy = c.accept, c.registrar, c.proxy
		if got := cfg.AcceptFromProxy(); got != c.want {
			t.Errorf("%+v: AcceptFromProxy = %v", c, got)
		}
	}
}
