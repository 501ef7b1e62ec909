package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/deskphone/phoned/firmware/api"
	"github.com/deskphone/phoned/firmware/config"
)

// listenAPI opens the control API's listener as the config asks: none
// when api.listen is "", plain HTTP on loopback, HTTPS beyond it (the
// certificate from api.cert/api.key, or the one kept in system.state_dir).
// An IPv4 address listens on IPv4 only.
func listenAPI(cfg *config.Config, log *slog.Logger) (net.Listener, api.Options, error) {
	ap, ok := cfg.APIListen()
	if !ok {
		return nil, api.Options{}, nil
	}
	opts := api.Options{Password: cfg.API.Password.Reveal()}
	var tlsCfg *tls.Config
	if cfg.APIBeyondLoopback() {
		cert, generated, err := api.Certificate(cfg.API.Cert, cfg.API.Key, cfg.System.StateDir, ap.Addr(), time.Now())
		if err != nil {
			return nil, opts, err
		}
		opts.HTTPS, opts.CertSHA256 = true, api.Fingerprint(cert.Certificate[0])
		tlsCfg = api.TLSConfig(cert)
		log.Warn("api listening beyond loopback: HTTPS with a password", "addr", ap.String(),
			"cert_sha256", opts.CertSHA256, "generated", generated)
	}
	ln, err := api.Listen(ap, tlsCfg)
	if err != nil {
		return nil, opts, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		opts.Listen = netip.AddrPortFrom(ap.Addr(), uint16(a.Port))
	} else {
		opts.Listen = ap
	}
	return ln, opts, nil
}
