package daemon

import (
	"errors"

	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

// Stand-ins for the types that the sip-dialog and engine-mixer branches add
// (issue 11 contract). Each has exactly the fields of the real one; when
// those branches are merged, each declaration here becomes an alias:
//
//	type Mix = engine.Mix
//	type DialOptions = sip.DialOptions
//	type Reinvited = sip.Reinvited
//	type TransferProgress = sip.TransferProgress
//	type Referred = sip.Referred
//
// withDirection sets local.Direction, replacesOf returns in.Replaces, and
// IncomingReplaces goes (sip.Incoming carries Replaces itself).

// ErrNotSupported is what an adapter returns for a feature the user agent
// or the media engine under it cannot do yet.
var ErrNotSupported = errors.New("not supported")

// Mix says what the handset hears and talks to (engine.Mix).
type Mix struct {
	Focus      string   // the leg the handset hears and talks to ("" = none)
	Conference []string // when len >= 2: the handset hears the sum of these legs
	Mute       bool     // microphone muted: legs get silence instead of the handset
}

// DialOptions are the extra headers of a transfer's INVITE (sip.DialOptions).
type DialOptions struct {
	ReferredBy string // RFC 3892
	Replaces   string // RFC 3891: the raw header value from the Refer-To URI
}

// Reinvited is the answer to our re-INVITE (sip.Reinvited): Code 2xx and
// Media is the new session; otherwise the session is unchanged.
type Reinvited struct {
	ID     sip.CallID
	Code   int
	Reason string
	Media  *sdp.Negotiated
}

// TransferProgress is the progress of our REFER (sip.TransferProgress).
type TransferProgress struct {
	ID     sip.CallID
	Code   int
	Reason string
	Final  bool
}

// Referred is a REFER the far end sent, accepted with 202 (sip.Referred).
type Referred struct {
	ID         sip.CallID
	Target     string
	ReferredBy string
	Replaces   string
}

// IncomingReplaces is an INVITE with Replaces naming one of our dialogs
// (sip.Incoming with its Replaces field set).
type IncomingReplaces struct {
	sip.Incoming
	Replaces sip.CallID
}

func (e Reinvited) CallID() sip.CallID        { return e.ID }
func (e TransferProgress) CallID() sip.CallID { return e.ID }
func (e Referred) CallID() sip.CallID         { return e.ID }

// withDirection is our SDP for a re-INVITE in direction dir (RFC 3264
// §8.4). sdp.Media has no Direction before the merge: the direction is
// kept in call.localDir and shown in the status.
func withDirection(local sdp.Media, dir string) sdp.Media {
	_ = dir
	return local
}

// replacesOf is the call an INVITE replaces ("" before the merge: such
// INVITEs arrive as IncomingReplaces).
func replacesOf(sip.Incoming) sip.CallID { return "" }
