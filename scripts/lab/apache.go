package lab

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ApacheOptions configure Apache httpd (Debian apache2) serving a
// directory behind HTTP Digest authentication (mod_auth_digest).
type ApacheOptions struct {
	// Root is the directory served at "/" (required).
	Root string
	// Realm is the Digest realm (default "prov").
	Realm string
	// Users maps user names to passwords, written to an htdigest file
	// (user:realm:MD5(user:realm:password)). Empty: no authentication.
	// Names and passwords: printable ASCII without ':'.
	Users map[string]string
	// Binary and ModuleDir override /usr/sbin/apache2's Debian locations.
	Binary, ModuleDir string
}

// Apache is a running Apache httpd owned by one test.
type Apache struct {
	addr string
	p    *proc
}

var digestFieldRe = regexp.MustCompile(`^[\x20-\x39\x3b-\x7e]{1,128}$`) // printable, no ':'

// StartApache runs Apache in the foreground as one process (`apache2 -X
// -f CONF`) with a private ServerRoot, DefaultRuntimeDir, PidFile, Mutex
// and ErrorLog inside dir, only the modules it needs, on a free port of
// 127.0.0.1, serving o.Root over plain HTTP with Digest authentication
// when o.Users is set. It returns once Apache accepts connections;
// Cleanup kills it.
//
// Run as root, the config has no User directive: with -X Apache 2.4 logs
// AH02155 ("couldn't determine user name from uid 4294967295") and keeps
// serving in its single process as the test's own user, which can read
// t.TempDir() (mode 0700). Run as another user the same holds without the
// warning. KeepAlive is off: one process serves one connection at a time,
// and a client's idle keep-alive connection would hold up the next client
// for 5 s. The Debian service config (/etc/apache2) is never read.
func StartApache(t testing.TB, dir string, o ApacheOptions) *Apache {
	t.Helper()
	bin := lookBinary(t, o.Binary, "apache2")
	if o.Root == "" {
		t.Fatalf("lab: %v: apache Root is required", ErrOption)
	}
	if o.Realm == "" {
		o.Realm = "prov"
	}
	for u, p := range o.Users {
		if !digestFieldRe.MatchString(u) || !digestFieldRe.MatchString(p) || strings.ContainsAny(o.Realm, ":\"") {
			t.Fatalf("lab: %v: apache user %q or its password or the realm: printable ASCII without ':'", ErrOption, u)
		}
	}
	if o.ModuleDir == "" {
		o.ModuleDir = "/usr/lib/apache2/modules"
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		a, err := startApache(t, bin, dir, o, attempt)
		if err == nil {
			return a
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func startApache(t testing.TB, bin, dir string, o ApacheOptions, attempt int) (*Apache, error) {
	t.Helper()
	port, err := FreePort(1)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, fmt.Sprintf("apache-%d", attempt))
	run := filepath.Join(root, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		return nil, fmt.Errorf("lab: apache: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %q\nDefaultRuntimeDir %q\nPidFile %q\nMutex file:%s default\n", root, run, filepath.Join(run, "httpd.pid"), run)
	// One process (-X) serves one connection at a time: no keep-alive, or
	// a second client waits out the first one's idle connection (5 s).
	fmt.Fprintf(&b, "KeepAlive Off\nErrorLog %q\nLogLevel info\nListen 127.0.0.1:%d\nServerName 127.0.0.1\n", filepath.Join(root, "error.log"), port)
	for _, m := range []string{"mpm_prefork", "authz_core", "authz_user", "authn_core", "authn_file", "auth_digest"} {
		fmt.Fprintf(&b, "LoadModule %s_module %s/mod_%s.so\n", m, o.ModuleDir, m)
	}
	fmt.Fprintf(&b, "DocumentRoot %q\n<Directory %q>\n", o.Root, o.Root)
	if len(o.Users) > 0 {
		users := filepath.Join(root, "htdigest")
		var h strings.Builder
		for u, p := range o.Users {
			sum := md5.Sum([]byte(u + ":" + o.Realm + ":" + p)) // htdigest's format
			fmt.Fprintf(&h, "%s:%s:%s\n", u, o.Realm, hex.EncodeToString(sum[:]))
		}
		if err := os.WriteFile(users, []byte(h.String()), 0o600); err != nil {
			return nil, fmt.Errorf("lab: apache htdigest: %w", err)
		}
		fmt.Fprintf(&b, "  AuthType Digest\n  AuthName %q\n  AuthDigestProvider file\n  AuthUserFile %q\n  Require valid-user\n", o.Realm, users)
	} else {
		b.WriteString("  Require all granted\n")
	}
	b.WriteString("</Directory>\n")
	conf := filepath.Join(root, "httpd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("lab: apache config: %w", err)
	}
	if out, err := exec.Command(bin, "-t", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("lab: %v: apache2 -t -f %s: %v\n%s", ErrConfig, conf, err, tail(string(out), 40))
	}
	p, err := startProc(t, "apache", exec.Command(bin, "-X", "-f", conf), filepath.Join(root, "stdout.log"))
	if err != nil {
		return nil, err
	}
	a := &Apache{addr: fmt.Sprintf("127.0.0.1:%d", port), p: p}
	errLog := filepath.Join(root, "error.log")
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(errLog); err == nil {
				t.Logf("lab: apache %s error log:\n%s", a.addr, tail(string(log), 40))
			}
		}
	})
	if err := waitTCP(a.addr, 5*time.Second, p.done); err != nil {
		p.stop(time.Second)
		log, _ := os.ReadFile(errLog)
		return nil, fmt.Errorf("lab: apache on %s: %w\n%s%s", a.addr, err, tail(p.log.String(), 20), tail(string(log), 20))
	}
	return a, nil
}

// URL is the server's base URL, e.g. "http://127.0.0.1:10043".
func (a *Apache) URL() string { return "http://" + a.addr }

// Stop ends Apache now.
func (a *Apache) Stop() { a.p.stop(2 * time.Second) }
