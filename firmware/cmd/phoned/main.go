// Command phoned is the desk phone daemon: it reads the hook switch and the
// keypad, runs the SIP user agent and the call state machine, and streams
// G.711 audio between the sound device and the network.
//
//	phoned [-config FILE] [-keypad auto|on|off]   run the phone
//	phoned print-config [-config FILE]
//	phoned check FILE...
//	phoned version
//	phoned help
//
// -check, -print-config and -version are aliases of their commands.
// Without -config the file is <dir of the binary>/../configs/phoned.toml
// or /etc/phoned/phoned.toml, whichever exists first (cli.go).
package main

import (
	"context"
	"errors"
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
	"sync/atomic"
	"syscall"

	"golang.org/x/term"

	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/board/sim"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/api"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/logring"
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
	c, err := parseCLI(args, stderr) // cli.go
	if err != nil {
		return 2
	}
	switch c.cmd {
	case "help":
		printHelp(stdout)
		return 0
	case "version":
		fmt.Fprintf(stdout, "phoned %s (%s/%s, %s)\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return 0
	case "check":
		return checkFiles(c.args, stdout, stderr)
	}
	cfgPath := c.cfgPath
	if cfgPath == "" {
		if cfgPath, err = findConfig(); err != nil {
			fmt.Fprintf(stderr, "phoned: %v\n", err)
			return 2
		}
	}
	cfg, warn, err := loadEffective(cfgPath)
	if err != nil {
		// One line per problem, so an admin fixes the file in one go.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "phoned: %s\n", line)
		}
		return 2
	}
	if warn != "" {
		fmt.Fprintf(stderr, "phoned: warning: %s\n", warn)
	}
	if c.cmd == "print-config" {
		fmt.Fprint(stdout, config.Print(cfg))
		return 0
	}
	useTerminal := c.keypad == "on" || c.keypad == "auto" && term.IsTerminal(int(stdin.Fd()))
	// A reloaded config that needs a restart (new listen address, account,
	// board...) ends serve once the phone is idle; it starts again here.
	var prev *restartWith
	// The recent log is kept in memory for GET /api/v1/log, across
	// in-process restarts.
	logs := logring.New(logRingSize)
	diags := newDiagnostics()
	for {
		next, err := serve(cfg, cfgPath, prev, logs, diags, useTerminal, stdin, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "phoned: %v\n", err)
			return 1
		}
		if next == nil {
			return 0
		}
		cfg, prev = next.cfg, next
	}
}

// checkFiles validates each file as the phone would load it, binding
// nothing and touching no network: every problem on its own line as
// file:line: key: what is wrong. 0 when all are good, 1 when one is not,
// 2 when no file is named.
func checkFiles(files []string, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "phoned: check needs the config files to check: phoned check FILE... (or phoned -check FILE...)")
		return 2
	}
	code := 0
	for _, f := range files {
		if _, err := config.Load(f); err != nil {
			code = 1
			if !errors.Is(err, config.ErrInvalid) {
				fmt.Fprintf(stderr, "phoned: %v\n", err)
				continue
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintln(stderr, line)
			}
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", f)
	}
	return code
}

// serve runs the phone until a signal or the quit key (nil, nil), or
// until a reloaded config needs a restart (that config, nil). prev is the
// restart that started this serve (nil at first): its config status and
// provisioning state carry on.
func serve(cfg *config.Config, cfgPath string, prev *restartWith, logs *logring.Ring, diags *diagnostics, useTerminal bool, stdin *os.File, stdout, stderr io.Writer) (*restartWith, error) {
	brd, err := loadBoard(cfg)
	if err != nil {
		return nil, err
	}
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, restart := context.WithCancel(sigCtx)
	defer restart()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

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
	logLevel := new(slog.LevelVar)
	logLevel.Set(cfg.LogLevel())
	log := newLogger(cfg, io.MultiWriter(logOut, logs), logLevel)
	log.Info("starting", "version", version, "board", brd.Name, "config", cfg)
	diags.start(cfg, log)
	warnSRTP(log, cfg)
	setMemoryLimit(cfg, log)

	clk := clock.Real{}
	front, err := openPanel(brd, clk, log.With("part", "board"))
	if err != nil {
		return nil, err
	}
	snd, err := openSound(cfg, brd, clk, log.With("part", "audio"))
	if err != nil {
		return nil, err
	}
	dev := snd.dev
	eng := engine.New(dev, clk, log.With("part", "audio"))

	codecs := sdpCodecs(cfg)
	sipEvents := make(chan sip.Event, 64)
	creds := sip.Credentials{User: cfg.AuthUser(), Password: cfg.Account.Password.Reveal(), Realm: cfg.Account.Realm}
	// Calls go through the outbound proxy, or, like desk phones do, through
	// the registrar in use when there is no proxy (the UA follows the
	// registration's fail-over and fail-back, sip/dial.go).
	proxy := cfg.OutboundProxyURI()
	var sipTLS sip.TLSConfig
	if cfg.SIPTransport() == "tls" {
		roots, cert, err := cfg.SIPTLS()
		if err != nil {
			dev.Close()
			return nil, err
		}
		sipTLS = sip.TLSConfig{RootCAs: roots, Certificate: cert}
	}
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
		Transport:     cfg.SIPTransport(),
		TLS:           sipTLS,
		SRTP:          srtpMode(cfg),
		Guard:         sipGuard(cfg),
		// DNS answers cached for their TTL (sip.dns, else resolv.conf).
		Resolver: dnscache.New(dnscache.Config{Servers: cfg.DNSServers(), Clock: clk}),
	}, func(ev sip.Event) { sipEvents <- ev })
	if err != nil {
		dev.Close()
		return nil, err
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
			return nil, err
		}
	}

	apiLn, apiOpts, err := listenAPI(cfg, log)
	if err != nil {
		ua.Close()
		dev.Close()
		return nil, fmt.Errorf("api: %w", err)
	}

	ringer := front.outputs["ringer"]
	options := func(cfg *config.Config) daemon.Options {
		return daemonOptions(cfg, clk, log.With("part", "phone"))
	}
	var provRef atomic.Pointer[provisioner] // set below; check-sync may come first
	d := daemon.New(options(cfg), daemon.Deps{
		CheckSync: func(reboot bool) {
			if p := provRef.Load(); p != nil {
				p.CheckSyncNow(reboot)
			}
		},
		Calls:     ua,
		SIPEvents: sipEvents,
		Tones:     eng,
		Media:     eng,
		Ringer:    snd.ringer(output.Ringer{Line: ringer, Log: log}),
		Lamps:     front,
		Audio:     snd.status,
		Volume:    snd.volume(),
	})

	var wg sync.WaitGroup
	engCtx, stopEngine := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); eng.Run(engCtx) }()
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); d.Run(loopCtx) }()
	if prev != nil {
		d.SetConfigStatus(prev.status)
	}
	front.start(d)

	rl := &reloader{path: cfgPath, stateDir: cfg.System.StateDir, log: log.With("part", "config"), d: d, options: options, restart: restart, cur: cfg,
		hot: func(n *config.Config) {
			logLevel.Set(n.LogLevel())
			diags.applyConfig(n)
			if snd.audio != nil {
				snd.audio.SetVolume(n.Audio.RingerVolume)
				snd.audio.SetPlan(n.TonePlan())
			}
		}}
	prov := newProvisioner(cfgPath, rl, d, clk, log.With("part", "provisioning"), brd.Name)
	rl.stored, rl.prov = prov.Stored, prov
	provRef.Store(prov)
	if prev != nil {
		prov.inherit(prev.prov)
	}
	go prov.run(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				rl.reload("SIGHUP")
			}
		}
	}()

	var srv *http.Server
	if apiLn != nil {
		apiLog := log.With("part", "api")
		apiOpts.Config, apiOpts.Provisioning, apiOpts.Logs, apiOpts.Diagnostics = rl, prov, logs, diags
		if snd.pulse != nil {
			apiOpts.Volume = snd.pulse
		}
		srv = api.Server(api.Handler(d, apiLog, apiOpts), apiLog)
		srv.RegisterOnShutdown(logs.EndFollowers) // log streams end, or Shutdown would wait for them
		go func() {
			if err := srv.Serve(apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("api stopped", "err", err)
			}
		}()
		log.Info("api listening", "addr", apiLn.Addr().String(), "https", apiOpts.HTTPS)
	}

	if panel != nil {
		panel = sim.New(stdin, stdout, restore != nil, d)
		// Logs keep going above the (new) panel's display line.
		log = newLogger(cfg, io.MultiWriter(panel.LogWriter(), logs), logLevel)
		diags.SetLogger(log.With("part", "diag"))
		if err := panel.Run(ctx); err != nil {
			log.Error("keypad", "err", err)
		}
	} else {
		<-ctx.Done()
	}

	// Orderly stop: hang up, unregister the UA, stop media, close files,
	// all within one deadline whatever the network does (stop.go).
	log.Info("stopping", "deadline", stopTimeout)
	stopCtx, cancelStop := context.WithTimeout(context.Background(), stopTimeout)
	defer cancelStop()
	if srv != nil {
		sctx, cancel := context.WithTimeout(stopCtx, apiStopTimeout)
		srv.Shutdown(sctx)
		cancel()
	}
	front.stop()
	stopLoop()
	<-loopDone
	closeUA(stopCtx, ua, sipEvents, log)
	stopEngine()
	wg.Wait()
	if err := dev.Close(); err != nil {
		return nil, fmt.Errorf("sound device: %w", err)
	}
	return rl.restartWith(), nil
}

// sdpCodecs are audio.codecs in preference order.
func sdpCodecs(cfg *config.Config) []sdp.Codec {
	codecs := make([]sdp.Codec, 0, len(cfg.Audio.Codecs))
	for _, c := range cfg.Audio.Codecs {
		codecs = append(codecs, map[string]sdp.Codec{"PCMU": sdp.PCMU, "PCMA": sdp.PCMA}[c])
	}
	return codecs
}

// daemonOptions are the phone loop's options from cfg.
func daemonOptions(cfg *config.Config, clk clock.Clock, log *slog.Logger) daemon.Options {
	return daemon.Options{
		Machine: phone.Config{
			DialPlan:        cfg.DialPlan(),
			ShortInterDigit: cfg.Phone.ShortInterdigitTimeout.Duration,
			InterDigit:      cfg.Phone.InterdigitTimeout.Duration,
			OffHook:         cfg.Phone.OffhookTimeout.Duration,
			NoAnswer:        cfg.Phone.NoAnswerTimeout.Duration,
			MaxCalls:        cfg.Phone.MaxCalls,
			CallWaiting:     cfg.Phone.CallWaiting,
			Services:        services(cfg),
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
		SRTP:         srtpMode(cfg),
		Ptime:        int(cfg.Audio.Ptime.Milliseconds()),
		JitterMin:    cfg.Audio.JitterMin.Duration,
		JitterMax:    cfg.Audio.JitterMax.Duration,
		Codecs:       sdpCodecs(cfg),
		DTMF:         101,
		Tones:        cfg.TonePlan(),
		Clock:        clk,
		Logger:       log,
	}
}

// newLogger writes cfg's log format to w at level (log.level, which a
// reloaded config changes in place).
// logRingSize is the recent log kept in memory (GET /api/v1/log): a few
// thousand lines.
const logRingSize = 256 << 10

func newLogger(cfg *config.Config, w io.Writer, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
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

// services maps the configured service codes (phone.echo_test,
// phone.tone_test) to the machine's service numbers; "" is off.
func services(cfg *config.Config) map[string]phone.Service {
	m := map[string]phone.Service{}
	if cfg.Phone.EchoTest != "" {
		m[cfg.Phone.EchoTest] = phone.ServiceEcho
	}
	if cfg.Phone.ToneTest != "" {
		m[cfg.Phone.ToneTest] = phone.ServiceTone
	}
	return m
}
