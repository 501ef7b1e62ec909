package main

import (
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/sip/sdp"
)

// srtpMode is the SRTP policy the phone's SDP follows: audio.srtp, or
// off where keys may not travel (audio.srtp = "optional" over plain
// UDP/TCP without audio.srtp_allow_plain_sip; the config refuses
// "required" there).
func srtpMode(cfg *config.Config) sdp.SRTPMode {
	if !cfg.Audio.SRTPKeysAllowed(cfg.SIP.Transport) {
		return sdp.SRTPOff
	}
	m, _ := sdp.ParseSRTPMode(cfg.Audio.SRTP) // validated
	return m
}
