package provision

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// ParsePublicKey reads an Ed25519 public key (RFC 8032) as the config's
// provisioning.public_key gives it: the base64 of the 32 raw bytes (what
// `go run ./scripts/provsign -genkey` writes to KEY.pub), or a PEM "PUBLIC
// KEY" block (RFC 8410, what `openssl pkey -pubout` writes).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("%w: public_key: PEM is not a PUBLIC KEY block", ErrSource)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: public_key: %w", ErrSource, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: public_key: %T, want Ed25519", ErrSource, k)
		}
		return pub, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public_key: want the base64 of 32 bytes (Ed25519) or a PEM PUBLIC KEY", ErrSource)
	}
	return ed25519.PublicKey(b), nil
}
