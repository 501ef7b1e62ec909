// Command phoned is the desk phone daemon: it reads the hook switch and the
// keypad, runs the SIP user agent and the call state machine, and streams
// G.711 audio between the sound device and the network.
//
//	phoned -config configs/phoned.toml
//	phoned -version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/board/sim"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/api"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/dnscache"
	"github.com/deskphone/phoned/sip/sdp"
)

// version is stamped by the build: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("phoned", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/phoned.toml", "config file")
	showVersion := fs.Bool("version", false, "print the version and exit")
	keys := fs.String("keypad", "auto", "sim board keypad on the terminal: auto (when stdin is a terminal), on, off")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "phoned %s (%s/%s, %s)\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return 0
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		// One line per problem, so an admin fixes the file in one go.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "phoned: %s\n", line)
		}
		return 2
	}
	useTerminal := *keys == "on" || *keys == "auto" && term.IsTerminal(int(stdin.Fd()))
	if *keys != "auto" && *keys != "on" && *keys != "off" {
		fmt.Fprintf(stderr, "phoned: -keypad %q: want auto, on or off\n", *keys)
		return 2
	}
	if err := serve(cfg, useTerminal, stdin, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "phoned: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the phone until a signal or the quit key.
func serve(cfg *config.Config, useTerminal bool, stdin *os.File, stdout, stderr io.Writer) error {
	brd, err := loadBoard(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The terminal front panel owns the screen; logs go above its line.
	var panel *sim.Terminal
	logOut := stderr
	var restore func()
	if useTerminal && brd.Keypad == "terminal" {
		raw := false
		if fd := int(stdin.Fd()); term.IsTerminal(fd) {
			if st, err := term.MakeRaw(fd); err == nil {
				raw = true
				restore = func() { term.Restore(fd, st) }
			}
		}
		panel = sim.New(stdin, stdout, raw, nil)
		logOut = panel.LogWriter()
	}
	if restore != nil {
		defer restore()
	}
	log := newLogger(cfg, logOut)
	log.Info("starting", "version", version, "board", brd.Name, "config", cfg)

	clk := clock.Real{}
	front, err := openPanel(brd, clk, log.With("part", "board"))
	if err != nil {
		return err
	}
	snd, err := openSound(cfg, brd, clk, log.With("part", "audio"))
	if err != nil {
		return err
	}
	dev := snd.dev
	eng := engine.New(dev, clk, log.With("part", "audio"))

	codecs := make([]sdp.Codec, 0, len(cfg.Audio.Codecs))
	for _, c := range cfg.Audio.Codecs {
		codecs = append(codecs, map[string]sdp.Codec{"PCMU": sdp.PCMU, "PCMA": sdp.PCMA}[c])
	}
	sipEvents := make(chan sip.Event, 64)
	creds := sip.Credentials{User: cfg.AuthUser(), Password: cfg.Account.Password.Reveal()}
	// Calls go through the outbound proxy, or, like desk phones do, through
	// the registrar in use when there is no proxy (the UA follows the
	// registration's fail-over and fail-back, sip/dial.go).
	proxy := cfg.OutboundProxyURI()
	ua, err := sip.New(sip.Config{
		Listen:        cfg.SIPListen(),
		User:          cfg.Account.User,
		DisplayName:   cfg.Account.DisplayName,
		Domain:        cfg.Domain(),
		UserAgent:     cfg.UserAgent(version),
		Codecs:        codecs,
		Logger:        log.With("part", "sip"),
		Credentials:   creds,
		OutboundProxy: proxy,
		Transport:     cfg.SIP.Transport,
		// DNS answers cached for their TTL (sip.dns, else resolv.conf).
		Resolver: dnscache.New(dnscache.Config{Servers: cfg.DNSServers(), Clock: clk}),
	}, func(ev sip.Event) { sipEvents <- ev })
	if err != nil {
		dev.Close()
		return err
	}
	if reg := cfg.RegistrarURI(); reg != "" {
		err := ua.StartRegistration(sip.RegConfig{
			Registrars:  append([]string{reg}, cfg.Account.BackupRegistrars...),
			Credentials: creds,
			Expires:     cfg.Account.RegisterExpires.Duration,
			KeepAlive:   cfg.Account.KeepAlive.Duration,
			Clock:       clk,
		})
		if err != nil {
			ua.Close()
			dev.Close()
			return err
		}
	}

	var apiLn net.Listener
	if ap, ok := cfg.APIListen(); ok {
		if apiLn, err = net.Listen("tcp", ap.String()); err != nil {
			ua.Close()
			dev.Close()
			return fmt.Errorf("api: %w", err)
		}
	}

	ringer := front.outputs["ringer"]
	d := daemon.New(daemon.Options{
		Machine: phone.Config{
			DialPlan:        cfg.DialPlan(),
			ShortInterDigit: cfg.Phone.ShortInterdigitTimeout.Duration,
			InterDigit:      cfg.Phone.InterdigitTimeout.Duration,
			OffHook:         cfg.Phone.OffhookTimeout.Duration,
			NoAnswer:        cfg.Phone.NoAnswerTimeout.Duration,
			MaxCalls:        cfg.Phone.MaxCalls,
			CallWaiting:     cfg.Phone.CallWaiting,
		},
		User:         cfg.Account.User,
		Registering:  cfg.RegistrarURI() != "",
		Domain:       cfg.Domain(),
		Directory:    cfg.Directory,
		MediaIP:      mediaIP(cfg.SIPListen().Addr()),
		RTPMin:       cfg.Audio.RTPPortMin,
		RTPMax:       cfg.Audio.RTPPortMax,
		MediaTimeout: cfg.Audio.RTPTimeout.Duration,
		DSCP:         cfg.Audio.DSCP,
		Latch:        cfg.Audio.SymmetricRTP,
		Ptime:        int(cfg.Audio.Ptime.Milliseconds()),
		JitterMin:    cfg.Audio.JitterMin.Duration,
		JitterMax:    cfg.Audio.JitterMax.Duration,
		Codecs:       codecs,
		DTMF:         101,
		Tones:        snd.plan,
		Clock:        clk,
		Logger:       log.With("part", "phone"),
	}, daemon.Deps{
		Calls:     ua,
		SIPEvents: sipEvents,
		Tones:     eng,
		Media:     eng,
		Ringer:    snd.ringer(output.Ringer{Line: ringer, Log: log}),
		Lamps:     front,
		Audio:     snd.status,
	})

	var wg sync.WaitGroup
	engCtx, stopEngine := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); eng.Run(engCtx) }()
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); d.Run(loopCtx) }()
	front.start(d)

	var srv *http.Server
	if apiLn != nil {
		srv = &http.Server{Handler: api.Handler(d, log.With("part", "api")), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("api stopped", "err", err)
			}
		}()
		log.Info("api listening", "addr", apiLn.Addr().String())
	}

	if panel != nil {
		panel = sim.New(stdin, stdout, restore != nil, d)
		// Logs keep going above the (new) panel's display line.
		log = newLogger(cfg, panel.LogWriter())
		if err := panel.Run(ctx); err != nil {
			log.Error("keypad", "err", err)
		}
	} else {
		<-ctx.Done()
	}

	// Orderly stop: hang up, unregister the UA, stop media, close files.
	log.Info("stopping")
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	front.stop()
	stopLoop()
	<-loopDone
	if err := ua.Close(); err != nil {
		log.Warn("sip close", "err", err)
	}
	stopEngine()
	wg.Wait()
	if err := dev.Close(); err != nil {
		return fmt.Errorf("sound device: %w", err)
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// mediaIP is the address RTP binds to and SDP announces: the SIP address,
// or, when SIP listens on every address, the first global unicast one.
func mediaIP(sipIP netip.Addr) netip.Addr {
	if !sipIP.IsUnspecified() {
		return sipIP
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap().IsGlobalUnicast() && ip.Is4() == sipIP.Is4() {
				return ip.Unmap()
			}
		}
	}
	if sipIP.Is4() {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.IPv6Loopback()
}
