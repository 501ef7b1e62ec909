package provision

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/url"
)

// SigSuffix names a file's detached signature: common.toml.sig.
const SigSuffix = ".sig"

// maxSigSize bounds a signature file: base64 of 64 bytes is 88 characters;
// allow a trailing newline and some white space.
const maxSigSize = 256

// ParseSignature reads a detached Ed25519 signature (RFC 8032 §5.1.6) in
// either form scripts/provsign writes or admins make by hand: the raw 64
// bytes, or their standard base64 (RFC 4648 §4, padded or not) as text
// with surrounding white space ignored.
func ParseSignature(b []byte) ([]byte, error) {
	if len(b) == ed25519.SignatureSize {
		return b, nil
	}
	if len(b) > maxSigSize {
		return nil, fmt.Errorf("%w: signature file of %d bytes: want 64 raw bytes or their base64", ErrSignature, len(b))
	}
	t := bytes.TrimSpace(b)
	t = bytes.TrimRight(t, "=")
	sig, err := base64.RawStdEncoding.DecodeString(string(t))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature file is neither 64 raw bytes nor base64 of 64 bytes", ErrSignature)
	}
	return sig, nil
}

// VerifySignature checks sigFile (as ParseSignature reads it) over data.
func VerifySignature(pub ed25519.PublicKey, data, sigFile []byte) error {
	sig, err := ParseSignature(sigFile)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, data, sig) {
		return fmt.Errorf("%w: the signature does not match the file and provisioning.public_key", ErrSignature)
	}
	return nil
}

// checkSignature fetches u+".sig" and verifies it over data.
func (f *Fetcher) checkSignature(ctx context.Context, u *url.URL, data []byte) error {
	su := *u
	su.Path += SigSuffix
	if su.RawPath != "" {
		su.RawPath += SigSuffix
	}
	sig, _, state, err := f.get(ctx, &su, "")
	if err != nil {
		return fmt.Errorf("%w: fetching %s: %w", ErrSignature, su.Redacted(), err)
	}
	if state != stateNew {
		return fmt.Errorf("%w: %s is missing (provisioning.public_key is set: every file needs its signature)", ErrSignature, su.Redacted())
	}
	return VerifySignature(f.src.PublicKey, data, sig)
}
