package main

import (
	"log/slog"

	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/sip/sdp"
)

// srtpMode is the SRTP policy the phone's SDP follows: audio.srtp, or
// off where keys may not travel (audio.srtp = "optional" over plain
// UDP/TCP without audio.srtp_allow_plain_sip; the config refuses
// "required" there).
func srtpMode(cfg *config.Config) sdp.SRTPMode {
	if !cfg.Audio.SRTPKeysAllowed(cfg.SIPTransport()) {
		return sdp.SRTPOff
	}
	m, _ := sdp.ParseSRTPMode(cfg.Audio.SRTP) // validated
	return m
}

// warnSRTP says when audio.srtp = "optional" is not applied: keys may
// not travel over this signalling, so calls are plain RTP.
func warnSRTP(log *slog.Logger, cfg *config.Config) {
	if cfg.Audio.SRTP == "optional" && srtpMode(cfg) == sdp.SRTPOff {
		log.Warn("audio.srtp = \"optional\" not applied: SRTP keys would travel in clear over sip.transport " +
			cfg.SIPTransport() + "; calls use plain RTP (use sip.transport = \"tls\", or audio.srtp_allow_plain_sip = true)")
	}
}
