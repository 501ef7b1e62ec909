package rtpstream

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/pion/srtp/v3"
)

// SRTP is what SDES (RFC 4568) negotiated for a stream: the crypto-suite
// and the master key||salt each side sends with. It never prints its keys.
type SRTP struct {
	// Suite is the RFC 4568 name: AES_CM_128_HMAC_SHA1_80,
	// AES_CM_128_HMAC_SHA1_32 or AEAD_AES_128_GCM.
	Suite string
	// Local protects what we send; Remote checks and decrypts what the
	// peer sends.
	Local, Remote []byte
}

// String shows the suite only.
func (p SRTP) String() string { return "SRTP(" + p.Suite + ")" }

// Format implements fmt.Formatter: no verb shows the keys.
func (p SRTP) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue implements slog.LogValuer.
func (p SRTP) LogValue() slog.Value { return slog.StringValue(p.Suite) }

// ErrSRTP is returned by New for unusable SRTP parameters.
var ErrSRTP = errors.New("rtpstream: srtp")

// replayWindow is the SRTP and SRTCP replay window, in packets: RFC 3711
// §3.3.2 asks for at least 64; 128 (as libsrtp) tolerates reordering
// deeper than any jitter buffer we keep.
const replayWindow = 128

// srtpOverhead is the most SRTP adds to a packet: the 16-octet GCM tag
// (RFC 7714 §7); HMAC-SHA1 adds 10 or 4 (RFC 3711 §4.2). SRTCP adds its
// 4-octet index as well.
const srtpOverhead = 16 + 4

// profile maps an RFC 4568 suite name to pion's protection profile.
func profile(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case "AES_CM_128_HMAC_SHA1_80":
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case "AES_CM_128_HMAC_SHA1_32":
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	case "AEAD_AES_128_GCM":
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	}
	return 0, fmt.Errorf("%w: suite %q not supported", ErrSRTP, suite)
}

// srtpContexts are a stream's four SRTP contexts, one per direction and
// protocol, so each has one goroutine: the media loop (RTP out), the RTP
// reader, the RTCP sender (under rtcpMu) and the RTCP reader.
type srtpContexts struct {
	suite                        string
	txRTP, rxRTP, txRTCP, rxRTCP *srtp.Context
}

// newSRTP makes the contexts, replay protection on (RFC 3711 §3.3.2).
func newSRTP(p *SRTP) (*srtpContexts, error) {
	prof, err := profile(p.Suite)
	if err != nil {
		return nil, err
	}
	kl, _ := prof.KeyLen()
	sl, _ := prof.SaltLen()
	if len(p.Local) != kl+sl || len(p.Remote) != kl+sl {
		return nil, fmt.Errorf("%w: %s keys of %d and %d octets, want %d", ErrSRTP, p.Suite, len(p.Local), len(p.Remote), kl+sl)
	}
	mk := func(key []byte) (*srtp.Context, error) {
		// pion keeps its own copies of the key and salt.
		return srtp.CreateContext(key[:kl], key[kl:], prof,
			srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	}
	c := &srtpContexts{suite: p.Suite}
	for _, x := range []struct {
		dst **srtp.Context
		key []byte
	}{{&c.txRTP, p.Local}, {&c.rxRTP, p.Remote}, {&c.txRTCP, p.Local}, {&c.rxRTCP, p.Remote}} {
		if *x.dst, err = mk(x.key); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSRTP, err)
		}
	}
	return c, nil
}

// protect turns the RTP packet in s.out[:n] into what goes on the wire:
// itself for plain RTP, its SRTP form (RFC 3711 §3.1) in s.sout
// otherwise. Called from the media loop only.
func (s *Stream) protect(n int) ([]byte, error) {
	if s.srtp == nil {
		return s.out[:n], nil
	}
	b, err := s.srtp.txRTP.EncryptRTP(s.sout[:0], s.out[:n], &s.encHdr)
	if err != nil {
		return nil, fmt.Errorf("rtpstream: srtp protect: %w", err)
	}
	return b, nil
}

// writeRTP protects and sends one packet of s.out[:n].
func (s *Stream) writeRTP(n int, to netip.AddrPort) error {
	b, err := s.protect(n)
	if err != nil {
		return err
	}
	_, err = s.conn.WriteToUDPAddrPort(b, to)
	if err == nil {
		tapped(true, false, s.conn, to, b)
	}
	return err
}

// unprotect checks and decrypts one received SRTP packet into s.plain
// (RFC 3711 §3.3): a replayed index or a failed authentication tag drops
// it and counts it, so nothing unauthenticated is ever played.
func (s *Stream) unprotect(b []byte) ([]byte, bool) {
	if s.srtp == nil {
		return b, true
	}
	out, err := s.srtp.rxRTP.DecryptRTP(s.plain[:0], b, &s.decHdr)
	if err == nil {
		return out, true
	}
	s.mu.Lock()
	switch {
	case errors.Is(err, srtp.ErrFailedToVerifyAuthTag):
		s.stats.SRTPAuthFailed++
	case strings.Contains(err.Error(), "duplicated"):
		// pion reports a replay (RFC 3711 §3.3.2) with an unexported
		// error saying "duplicated packet".
		s.stats.SRTPReplayed++
	default:
		s.stats.PacketsInvalid++ // too short for its tag, unreadable header
	}
	first := s.stats.SRTPAuthFailed+s.stats.SRTPReplayed == 1
	s.mu.Unlock()
	if first { // the first; the counts are in the stats
		s.log.Debug("srtp packet dropped", "err", err)
	}
	return nil, false
}
