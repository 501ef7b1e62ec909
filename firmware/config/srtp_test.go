package config

import (
	"slices"
	"testing"
)

// audio.srtp and audio.srtp_allow_plain_sip: values, and "required"
// refused over plain signalling unless allowed, naming file, line and key.
func TestSRTPKeys(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want []string
	}{
		{"default off", "schema = 1\n", nil},
		{"optional over udp", "schema = 1\n[audio]\nsrtp = \"optional\"\n", nil},
		{"required over udp allowed", "schema = 1\n[audio]\nsrtp = \"required\"\nsrtp_allow_plain_sip = true\n", nil},
		{"required over udp", "schema = 1\n[audio]\nsrtp = \"required\"\n",
			[]string{`phoned.toml:3: audio.srtp: "required" puts SRTP keys in every SDP, which sip.transport "udp" carries in clear: use sip.transport = "tls", or set audio.srtp_allow_plain_sip = true`}},
		{"required over tcp", "schema = 1\n[sip]\ntransport = \"tcp\"\n[audio]\n\nsrtp = \"required\"\nsrtp_allow_plain_sip = false\n",
			[]string{`phoned.toml:6: audio.srtp: "required" puts SRTP keys in every SDP, which sip.transport "tcp" carries in clear: use sip.transport = "tls", or set audio.srtp_allow_plain_sip = true`}},
		{"unknown mode", "schema = 1\n[audio]\nsrtp = \"on\"\n", []string{`phoned.toml:3: audio.srtp: unknown srtp mode "on" (want off, optional or required)`}},
		{"mode not a string", "schema = 1\n[audio]\nsrtp = true\n", []string{`phoned.toml:3: audio.srtp: want a string, got boolean`}},
		{"allow not a boolean", "schema = 1\n[audio]\nsrtp_allow_plain_sip = \"yes\"\n", []string{`phoned.toml:3: audio.srtp_allow_plain_sip: want a boolean, got string`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				mustParse(t, tt.src)
				return
			}
			checkLines(t, parseErr(t, tt.src), tt.want)
		})
	}
	if c := mustParse(t, "schema = 1\n"); c.Audio.SRTP != "off" || c.Audio.SRTPAllowPlainSIP {
		t.Fatalf("defaults: srtp %q, allow plain %t", c.Audio.SRTP, c.Audio.SRTPAllowPlainSIP)
	}
}

// Keys go into SDP only with SRTP on and over TLS, or plain signalling
// allowed. ("tls" is checked as a string: SIP over TLS is its own work.)
func TestSRTPKeysAllowed(t *testing.T) {
	for _, tt := range []struct {
		mode      string
		allow     bool
		transport string
		want      bool
	}{
		{"off", true, "tls", false}, {"optional", false, "udp", false}, {"optional", false, "tls", true},
		{"optional", true, "tcp", true}, {"required", false, "tls", true}, {"required", true, "udp", true},
	} {
		a := Audio{SRTP: tt.mode, SRTPAllowPlainSIP: tt.allow}
		if got := a.SRTPKeysAllowed(tt.transport); got != tt.want {
			t.Errorf("%s allow=%t over %s: %t", tt.mode, tt.allow, tt.transport, got)
		}
	}
	if !slices.Equal(SRTPModes, []string{"off", "optional", "required"}) {
		t.Fatal(SRTPModes)
	}
}
