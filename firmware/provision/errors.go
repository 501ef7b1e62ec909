package provision

import "errors"

// Sentinel errors; every error returned wraps one of them with %w and names
// the file or setting concerned. None ever carries the password.
var (
	// ErrSource: the Source is unusable (bad URL, macro, MAC, key files).
	ErrSource = errors.New("provisioning source")
	// ErrNotFound: neither common.toml nor the MAC file exists.
	ErrNotFound = errors.New("no provisioning file found")
	// ErrStatus: the server answered with a status other than 200, 304 or 404.
	ErrStatus = errors.New("unexpected HTTP status")
	// ErrTooLarge: a file is larger than config.MaxSize.
	ErrTooLarge = errors.New("file too large")
	// ErrRedirect: too many redirects, or a redirect from https to http.
	ErrRedirect = errors.New("refused redirect")
	// ErrTimeout: the server did not answer within Source.Timeout.
	ErrTimeout = errors.New("timed out")
	// ErrTLS: the TLS handshake failed (unknown authority, wrong host name,
	// client certificate refused, ...).
	ErrTLS = errors.New("TLS failure")
	// ErrAuth: the server wants credentials we do not have, refused ours,
	// or would get them in clear text.
	ErrAuth = errors.New("authentication failed")
	// ErrSignature: a signature is missing or does not verify.
	ErrSignature = errors.New("signature refused")
	// ErrLease: a DHCP lease file could not be read or parsed.
	ErrLease = errors.New("DHCP lease")
	// ErrNoMAC: no interface with the default route and a MAC address.
	ErrNoMAC = errors.New("no MAC address")
)
