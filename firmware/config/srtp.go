package config

// This file holds the SRTP keys of [audio]: audio.srtp and
// audio.srtp_allow_plain_sip (issue 12). decode.go and validate.go call
// in here; the rules are documented in configs/README.md.

// SRTPModes lists the values of audio.srtp.
var SRTPModes = []string{"off", "optional", "required"}

// SecureTransport is the sip.transport over which SDES keys may travel
// without audio.srtp_allow_plain_sip: SIP over TLS (RFC 4568 §8.3).
const SecureTransport = "tls"

// decodeAudioSRTP decodes the SRTP keys of [audio] (t, at path p).
func (d *decoder) decodeAudioSRTP(t map[string]any, p []string, c *Config) {
	d.Str(t, p, "srtp", &c.Audio.SRTP)
	d.Bool(t, p, "srtp_allow_plain_sip", &c.Audio.SRTPAllowPlainSIP)
}

// validateSRTP checks them: "required" puts keys in every SDP, so it
// needs SIP over TLS unless plain signalling is allowed explicitly.
func (v *validator) validateSRTP(c *Config) {
	at := []string{"audio", "srtp"}
	v.oneOf(at, "srtp mode", c.Audio.SRTP, SRTPModes)
	if c.Audio.SRTP == "required" && c.SIPTransport() != SecureTransport && !c.Audio.SRTPAllowPlainSIP {
		v.fail(at, "\"required\" puts SRTP keys in every SDP, which sip.transport %q carries in clear: "+
			"use sip.transport = %q, or set audio.srtp_allow_plain_sip = true", c.SIPTransport(), SecureTransport)
	}
}

// SRTPKeysAllowed reports whether SDES keys may go into our SDP with this
// config: audio.srtp is not "off", and the signalling is TLS or plain
// signalling is allowed. With "optional" over plain UDP/TCP and no
// allowance the phone offers and answers plain RTP only.
func (a Audio) SRTPKeysAllowed(transport string) bool {
	return a.SRTP != "" && a.SRTP != "off" && (transport == SecureTransport || a.SRTPAllowPlainSIP)
}
