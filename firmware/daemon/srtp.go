package daemon

import (
	"bytes"
	"fmt"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/sip/sdp"
)

// SRTP with SDES (RFC 3711, RFC 4568): the keys of a call's SDP, and the
// leg that runs with the negotiated ones. The policy (which offers carry
// keys, what is refused) is sip/sdp's; the daemon only makes keys and
// hands the outcome to the leg.

// srtpSuites are the suites we hold keys for: the offered ones
// (sdp.OfferSuites) and AEAD_AES_128_GCM, answered when a peer offers it.
var srtpSuites = []sdp.Suite{sdp.AESCM128SHA1_80, sdp.AESCM128SHA1_32, sdp.AEADAES128GCM}

// srtpKeys puts the policy and fresh keys (crypto/rand) into a new call's
// local media. They stay the call's keys for its re-INVITEs.
func (d *Daemon) srtpKeys(local *sdp.Media) error {
	local.SRTP = d.opts.SRTP
	if d.opts.SRTP == sdp.SRTPOff {
		return nil
	}
	keys, err := sdp.NewKeys(srtpSuites)
	if err != nil {
		return fmt.Errorf("daemon: srtp keys: %w", err)
	}
	local.Crypto = keys
	return nil
}

// legSRTP is the leg's SRTP parameters, nil for plain RTP.
func legSRTP(k sdp.SRTPKeys) *rtpstream.SRTP {
	if !k.On() {
		return nil
	}
	return &rtpstream.SRTP{Suite: string(k.Suite), Local: k.Local, Remote: k.Remote}
}

func sameKeys(a, b sdp.SRTPKeys) bool {
	return a.Suite == b.Suite && bytes.Equal(a.Local, b.Local) && bytes.Equal(a.Remote, b.Remote)
}

// rekey restarts a call's leg on its own sockets when a re-INVITE or
// UPDATE changed the SRTP keys (RFC 4568 §7.1.4: a new offer may carry
// new keys); true if it did. The new stream starts with a fresh replay
// window and latches again.
func (d *Daemon) rekey(c *call) bool {
	if sameKeys(c.media.SRTP, c.legKeys) {
		return false
	}
	d.log.Info("call srtp keys changed: restarting its media", "call", string(c.ref), "srtp", string(c.media.SRTP.Suite))
	c.streamed = false
	d.startMedia(c.ref)
	return true
}
