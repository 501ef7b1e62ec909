// Package sdp implements the SDP offer/answer model (RFC 3264) for the
// phone's single G.711 audio stream, with its own RFC 4566 parser
// (parse.go: lines, o=, c=, m= and a=; pion/sdp was dropped, 53 KB on
// armv7).
//
// Contract:
//
//   - [Offer] builds our offer: one m=audio line listing our codecs in
//     preference order plus telephone-event (RFC 4733) when Media.DTMF is
//     non-zero, with a=rtpmap for every payload type, a=ptime:20 and
//     a=sendrecv or [Media].Direction (RFC 3264 §5).
//   - [Parse] turns a remote body into a [Session]. It never panics; any
//     input it cannot use yields an error wrapping [ErrMalformed] or
//     [ErrNoAudio]. It is fuzzed (FuzzParse).
//   - [Answer] answers a remote offer: it picks the first of OUR codecs that
//     the offer lists (RFC 3264 §6.1), keeps the offer's telephone-event
//     payload type, answers the direction (below), and returns
//     [ErrNoCommonCodec] when nothing matches. A rejected stream (port 0) yields [ErrRejected].
//     The answer has exactly the offer's m= lines in the offer's order
//     (RFC 3264 §6; [Session].Streams): the first audio stream we can use
//     (a port, a common codec, the SRTP rules below) is accepted, every
//     other line (video, a second audio stream, application, image, an
//     unknown profile) is rejected with port 0, the offer's media type and
//     profile and its first format. A re-offer in a session (re-INVITE,
//     UPDATE) has the same lines (RFC 3264 §8), so its answer keeps the
//     layout. An offer without a usable audio stream is an error (488).
//   - [Accept] reads the answer to our offer (RFC 3264 §6.1 / §7). Our
//     offers have one m=audio line, or after a peer's offer with more
//     lines the session's lines ([Media].Layout: the others rejected with
//     port 0, RFC 3264 §8, e.g. in a hold re-INVITE): an answer with other
//     m= lines or another order is refused with [ErrLayout] (RFC 3264 §6;
//     a hang-up, or 488 for our re-INVITE).
//   - [Media].Direction is our wanted direction ("" = sendrecv): offers
//     carry it; answers mirror the offered direction narrowed by it (RFC
//     3264 §6.1, §8.4): a sendonly offer is answered recvonly, or
//     inactive while we hold the far end ourselves.
//   - [OfferOrigin] and [AnswerOrigin] take the o= session id and version,
//     for a new SDP within a session (same id, version + 1, RFC 3264 §8).
//   - SDES (RFC 4568, crypto.go, srtp.go): [Media].SRTP is the policy and
//     [Media].Crypto our keys ([NewKeys], crypto/rand, fresh per call).
//     "optional" offers RTP/AVP with a=crypto lines (best-effort SRTP, as
//     baresip and most desk phones do), "required" offers RTP/SAVP; one
//     line per suite of [OfferSuites] in preference order. An answer picks
//     the first offered suite we have a key for (AEAD_AES_128_GCM too)
//     and answers one a=crypto with the offer's tag and the offer's
//     profile. RTP/SAVP without a usable line, or "required" without
//     SRTP, is [ErrNoSRTP] (488, or a hang-up after an answer).
//     [ParseCrypto] is strict (one inline key of the suite's length, a
//     lifetime of 2^31 to 2^48 packets, no MKI, no session parameters) and
//     fuzzed (FuzzParseCrypto). Keys never print ([Key], [Crypto] and
//     [SRTPKeys] mask them for fmt and slog); [MaskKeys] masks inline keys
//     in a body before it is logged.
//
// Scope and limits: one audio stream is used; the other m= lines are
// answered with port 0, whatever their media type and profile (m=image
// udptl t38, a new profile): they are echoed in the rejection. Codecs
// are matched by static payload type (PCMU=0, PCMA=8); a G.711 codec offered
// under a dynamic payload type is not recognised. c= may be at session or
// media level (media wins, RFC 4566 §5.7), IPv4 or IPv6.
package sdp
