package config

import (
	"slices"
	"strings"
	"testing"
)

func TestSIPDNS(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // errors; nil: valid
		servers   []string
	}{
		{"default", "schema = 1\n", nil, nil},
		{"ports", "schema = 1\n[sip]\ndns = [\"127.0.0.1:5353\", \"192.0.2.53\", \"[::1]:53\"]\n", nil, []string{"127.0.0.1:5353", "192.0.2.53:53", "[::1]:53"}},
		{"name", "schema = 1\n[sip]\ndns = [\"192.0.2.1\",\n  \"ns.example.com\"]\n", []string{`phoned.toml:4: sip.dns[1]: invalid name server "ns.example.com" (want an IP address, optionally with a port: 192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53)`}, nil},
		{"port 0", "schema = 1\n[sip]\ndns = [\"127.0.0.1:0\"]\n", []string{`phoned.toml:3: sip.dns[0]: invalid name server "127.0.0.1:0" (want an IP address, optionally with a port: 192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53)`}, nil},
		{"too many", "schema = 1\n[sip]\ndns = [\"1.1.1.1\", \"1.1.1.2\", \"1.1.1.3\", \"1.1.1.4\"]\n", []string{`phoned.toml:3: sip.dns: 4 name servers (at most 3)`}, nil},
		{"not a list", "schema = 1\n[sip]\ndns = \"127.0.0.1\"\n", []string{"phoned.toml:3: sip.dns: "}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("phoned.toml", []byte(tc.src))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, s := range c.DNSServers() {
					got = append(got, s.String())
				}
				if !slices.Equal(got, tc.servers) {
					t.Fatalf("DNSServers %v, want %v", got, tc.servers)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want[0]) {
				t.Fatalf("error %v, want %q", err, tc.want[0])
			}
		})
	}
	if _, ok := parseDNSServer("fe80::1%eth0"); ok {
		t.Error("a zoned address was accepted")
	}
}
