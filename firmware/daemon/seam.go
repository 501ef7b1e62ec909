package daemon

import (
	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

// The types the loop shares with the engine and the user agent (the
// issue 11 contract), named here so the loop's interfaces read on their own.
type (
	// Mix says what the handset hears and talks to.
	Mix = engine.Mix
	// DialOptions are the extra headers of a transfer's INVITE.
	DialOptions = sip.DialOptions
	// Reinvited is the answer to our re-INVITE.
	Reinvited = sip.Reinvited
	// TransferProgress is the progress of our REFER.
	TransferProgress = sip.TransferProgress
	// Referred is a REFER the far end sent, accepted with 202.
	Referred = sip.Referred
)

// withDirection is our SDP for a re-INVITE in direction dir (RFC 3264
// §8.4; "" is sendrecv).
func withDirection(local sdp.Media, dir string) sdp.Media {
	local.Direction = dir
	return local
}

// replacesOf is the call an INVITE replaces (RFC 3891), "" for none.
func replacesOf(in sip.Incoming) sip.CallID { return in.Replaces }
