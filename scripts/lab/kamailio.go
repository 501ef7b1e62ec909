package lab

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	kamcfg "github.com/deskphone/phoned/scripts/kamailio"
)

// KamailioOptions configure the registrar/proxy. The zero value is a
// registrar with 401 challenges on REGISTER, no INVITE challenge and no users.
type KamailioOptions struct {
	// Users maps SIP user names (the digest user name, also the AOR user)
	// to passwords. Names are [A-Za-z0-9._-]; passwords printable ASCII
	// without '"' or '\'.
	Users map[string]string
	// ChallengeInvite answers initial INVITEs without valid
	// Proxy-Authorization with 407 (proxy_challenge); the digest user must
	// equal the From user.
	ChallengeInvite bool
	// TCP makes Kamailio listen on TCP too, at the same port (RFC 3261
	// §18), relaying between TCP and UDP clients.
	TCP bool
	// TLS makes Kamailio listen for SIP over TLS too (tls module,
	// RFC 3261 §26) on TLSAddr, with the given certificate. TLS clients
	// are reached back over the connection they opened (RFC 5626 flows:
	// fix_nated_register, add_contact_alias, handle_ruri_alias).
	TLS *KamailioTLS
	// RegisterProxyAuth challenges REGISTER with 407 instead of 401, to
	// exercise proxy auth on registration.
	RegisterProxyAuth bool
	// MinExpires and MaxExpires bound registration lifetimes in seconds
	// (defaults 1 and 3600; REGISTERs below MinExpires get 423). The
	// default lifetime is MaxExpires.
	MinExpires, MaxExpires int
	// InviteTimeout is tm's fr_inv_timer: how long the proxy waits for a
	// final answer after a provisional one (default 30 s).
	InviteTimeout time.Duration
	// Port is the UDP port to listen on; 0 picks a free one. A registrar
	// that went away comes back at its old address with its old port.
	Port int
	// Debug is Kamailio's log level (default 2: info and xlog lines).
	Debug int
	// Binary and ModulePath override the Debian locations.
	Binary, ModulePath string
	// Logger receives a line when Kamailio starts; default slog.Default().
	Logger *slog.Logger
}

// KamailioTLS is the server certificate of Kamailio's TLS socket (PEM
// files, e.g. from a TestCA).
type KamailioTLS struct {
	CertFile, KeyFile string
}

// Kamailio is a running Kamailio owned by one test.
type Kamailio struct {
	tls    bool
	addr   netip.AddrPort
	config string
	p      *proc
	// For Start: the command line and the directory for its logs.
	bin, dir string
	args     []string
	starts   int
}

// DefaultKamailioModules is the Debian module directory on amd64.
const DefaultKamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

var (
	userRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	passRe = regexp.MustCompile(`^[\x20-\x21\x23-\x5b\x5d-\x7e]{0,128}$`) // printable, no '"' or '\'
)

// KamailioConfig renders the configuration for o listening on port. It is
// exported so a test can show or check the config it runs.
func KamailioConfig(o KamailioOptions, port int) (string, error) {
	return kamailioConfig(o, port, "")
}

// kamailioConfig renders the config; tlsConfig is the tls module's file
// (needed with o.TLS). The TLS socket is on port+1.
func kamailioConfig(o KamailioOptions, port int, tlsConfig string) (string, error) {
	for u, p := range o.Users {
		if !userRe.MatchString(u) {
			return "", fmt.Errorf("lab: %w: kamailio user %q: want [A-Za-z0-9._-]{1,64}", ErrOption, u)
		}
		if !passRe.MatchString(p) {
			return "", fmt.Errorf("lab: %w: kamailio password for %q: printable ASCII without '\"' or '\\', at most 128", ErrOption, u)
		}
	}
	if o.MinExpires <= 0 {
		o.MinExpires = 1
	}
	if o.MaxExpires <= 0 {
		o.MaxExpires = 3600
	}
	if o.MaxExpires < o.MinExpires {
		return "", fmt.Errorf("lab: %w: MaxExpires %d < MinExpires %d", ErrOption, o.MaxExpires, o.MinExpires)
	}
	if o.InviteTimeout <= 0 {
		o.InviteTimeout = 30 * time.Second
	}
	if o.Debug == 0 {
		o.Debug = 2
	}
	if o.ModulePath == "" {
		o.ModulePath = kamailioModules()
	}
	tmpl, err := template.New("kamailio.cfg").Parse(kamcfg.Template)
	if err != nil {
		return "", fmt.Errorf("lab: kamailio template: %w", err)
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{
		"Port": port, "Users": o.Users, "ChallengeInvite": o.ChallengeInvite,
		"RegisterProxyAuth": o.RegisterProxyAuth, "MinExpires": o.MinExpires,
		"MaxExpires": o.MaxExpires, "InviteTimeoutMS": o.InviteTimeout.Milliseconds(),
		"Debug": o.Debug, "ModulePath": o.ModulePath, "TCP": o.TCP,
		"TLS": o.TLS != nil, "TLSPort": port + 1, "TLSConfig": tlsConfig,
	})
	if err != nil {
		return "", fmt.Errorf("lab: kamailio template: %w", err)
	}
	return b.String(), nil
}

// kamailioModules finds the module directory of this machine's multiarch.
func kamailioModules() string {
	if m, _ := filepath.Glob("/usr/lib/*/kamailio/modules/tm.so"); len(m) > 0 {
		return filepath.Dir(m[0]) + "/"
	}
	return DefaultKamailioModules
}

// StartKamailio writes the config for o into t.TempDir(), checks it with
// `kamailio -c`, runs Kamailio in the foreground on a free UDP port of
// 127.0.0.1 and returns once it answers an OPTIONS ping. The process group
// is killed in t.Cleanup; when the test failed, the log's tail is printed.
// Any failure to start is fatal to the test.
func StartKamailio(t testing.TB, o KamailioOptions) *Kamailio {
	t.Helper()
	path := lookBinary(t, o.Binary, "kamailio")
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	dir := t.TempDir()
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ { // a port can be taken between probe and bind
		k, err := startKamailio(t, path, dir, o, attempt)
		if err == nil {
			log.Debug("lab: kamailio ready", "addr", k.addr, "config", k.config,
				"users", slices.Sorted(maps.Keys(o.Users)), "challenge_invite", o.ChallengeInvite,
				"register_proxy_auth", o.RegisterProxyAuth)
			return k
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func startKamailio(t testing.TB, bin, dir string, o KamailioOptions, attempt int) (*Kamailio, error) {
	t.Helper()
	port := o.Port
	if port == 0 {
		var err error
		if port, err = FreePort(2); err != nil { // UDP/TCP on port, TLS on port+1
			return nil, err
		}
	}
	tlsPath := ""
	if o.TLS != nil {
		tlsPath = filepath.Join(dir, fmt.Sprintf("tls-%d.cfg", attempt))
		if err := os.WriteFile(tlsPath, []byte(kamailioTLSConfig(*o.TLS)), 0o600); err != nil {
			return nil, fmt.Errorf("lab: kamailio tls config: %w", err)
		}
	}
	cfg, err := kamailioConfig(o, port, tlsPath)
	if err != nil {
		t.Fatal(err) // not worth retrying
	}
	cfgPath := filepath.Join(dir, fmt.Sprintf("kamailio-%d.cfg", attempt))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("lab: kamailio config: %w", err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("lab: %v: kamailio -c -f %s: %v\n%s", ErrConfig, cfgPath, err, tail(string(out), 40))
	}
	// -D is Kamailio's no-fork mode, which serves UDP only; TCP needs its
	// worker children: -DD (foreground, forking; cleanup kills the group).
	fork := "-D"
	if o.TCP || o.TLS != nil {
		fork = "-DD"
	}
	cmd := exec.Command(bin, "-f", cfgPath, "-P", filepath.Join(dir, fmt.Sprintf("kamailio-%d.pid", attempt)),
		"-E", fork, "-m", "32", "-M", "4", "-Y", dir)
	p, err := startProc(t, "kamailio", cmd, filepath.Join(dir, fmt.Sprintf("kamailio-%d.log", attempt)))
	if err != nil {
		return nil, err
	}
	k := &Kamailio{tls: o.TLS != nil, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)), config: cfgPath, p: p,
		bin: bin, dir: dir, args: cmd.Args[1:]}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lab: kamailio %s log (%s):\n%s", k.addr, cfgPath, tail(k.p.log.String(), 80))
		}
	})
	if err := pingOptions(k.addr, 5*time.Second, p.done); err != nil {
		p.stop(time.Second)
		return nil, fmt.Errorf("lab: kamailio on %s: %w\n%s", k.addr, err, tail(p.log.String(), 40))
	}
	return k, nil
}

// Stop ends Kamailio now (a registrar that goes away); Cleanup would do
// it at the end of the test anyway.
func (k *Kamailio) Stop() { k.p.stop(2 * time.Second) }

// Start runs Kamailio again, stopping it first if it runs, on the same
// port with the same config: a registrar restart. With no database
// (usrloc db_mode 0) every binding is lost. It returns once Kamailio
// answers an OPTIONS; a failure is fatal to the test.
func (k *Kamailio) Start(t testing.TB) {
	t.Helper()
	k.p.stop(2 * time.Second)
	k.starts++
	cmd := exec.Command(k.bin, k.args...)
	p, err := startProc(t, "kamailio", cmd, filepath.Join(k.dir, fmt.Sprintf("kamailio-restart-%d.log", k.starts)))
	if err != nil {
		t.Fatal(err)
	}
	k.p = p
	if err := pingOptions(k.addr, 5*time.Second, p.done); err != nil {
		t.Fatalf("lab: kamailio restarted on %s: %v\n%s", k.addr, err, tail(p.log.String(), 40))
	}
}

// Restart is a quick registrar restart: Stop, then Start at once.
func (k *Kamailio) Restart(t testing.TB) {
	t.Helper()
	k.Stop()
	k.Start(t)
}

// TLSAddr is Kamailio's TLS listen address (with KamailioOptions.TLS).
func (k *Kamailio) TLSAddr() netip.AddrPort {
	return netip.AddrPortFrom(k.addr.Addr(), k.addr.Port()+1)
}

// kamailioTLSConfig is the tls module's file: the server certificate; no
// client certificate asked for, and none checked when Kamailio is the
// client (the lab's phones serve self-signed ones).
func kamailioTLSConfig(c KamailioTLS) string {
	return fmt.Sprintf("[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"+
		"private_key = %s\ncertificate = %s\n\n"+
		"[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n", c.KeyFile, c.CertFile)
}

// Addr is Kamailio's UDP listen address.
func (k *Kamailio) Addr() netip.AddrPort { return k.addr }

// URI is the proxy's SIP URI with loose routing, e.g. "sip:127.0.0.1:5071;lr".
func (k *Kamailio) URI() string { return fmt.Sprintf("sip:%s;lr", k.addr) }

// Domain is the SIP domain served: "127.0.0.1".
func (k *Kamailio) Domain() string { return k.addr.Addr().String() }

// Log returns the kept tail of Kamailio's log (stderr).
func (k *Kamailio) Log() string { return k.p.log.String() }

// ConfigPath is the rendered config file in t.TempDir().
func (k *Kamailio) ConfigPath() string { return k.config }

// WaitLog waits until Kamailio's log contains substr; false on timeout.
func (k *Kamailio) WaitLog(substr string, timeout time.Duration) bool {
	return k.p.log.waitFor(substr, timeout, k.p.done)
}

// pingOptions sends OPTIONS over UDP until any SIP response arrives.
func pingOptions(to netip.AddrPort, timeout time.Duration, died <-chan struct{}) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr)
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for i := 0; time.Now().Before(deadline); i++ {
		select {
		case <-died:
			return fmt.Errorf("%w: exited before answering", ErrNotReady)
		default:
		}
		msg := optionsRequest(to, local, i)
		if _, err := conn.WriteToUDP([]byte(msg), net.UDPAddrFromAddrPort(to)); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _, err := conn.ReadFromUDP(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			return nil
		}
	}
	return fmt.Errorf("%w: no answer to OPTIONS within %v", ErrNotReady, timeout)
}

func optionsRequest(to netip.AddrPort, from *net.UDPAddr, seq int) string {
	return fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-lab-ping-%d-%d;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:lab@%s>;tag=lab%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: lab-ping-%d-%d@127.0.0.1\r\n"+
		"CSeq: %d OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n",
		to, from, from.Port, seq, from.IP, from.Port, to, from.Port, seq, seq+1)
}
