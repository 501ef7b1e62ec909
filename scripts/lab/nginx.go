package lab

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NginxOptions configure a static file server (Debian nginx-light).
type NginxOptions struct {
	// Root is the directory served at "/" (required).
	Root string
	// CertFile and KeyFile (PEM) make it serve HTTPS; empty: plain HTTP.
	CertFile, KeyFile string
	// ClientCA (PEM), with HTTPS, turns on `ssl_verify_client on`: a
	// request without a client certificate signed by it gets nginx's 400
	// ("No required SSL certificate was sent" / "The SSL certificate error").
	ClientCA string
	// Binary overrides "nginx".
	Binary string
}

// Nginx is a running nginx owned by one test.
type Nginx struct {
	addr   string
	tls    bool
	p      *proc
	access string
}

// StartNginx runs nginx in the foreground (`daemon off; master_process
// off;`, `nginx -p DIR -c CONF -e ERRLOG`, every temp path and the pid file
// inside dir, so nothing under /var/lib/nginx or /run is touched) on a free
// port of 127.0.0.1, and returns once it accepts connections. It serves
// o.Root with nginx's own ETag and Last-Modified headers (so a second GET
// with If-None-Match gets 304). Cleanup kills it.
func StartNginx(t testing.TB, dir string, o NginxOptions) *Nginx {
	t.Helper()
	bin := lookBinary(t, o.Binary, "nginx")
	if o.Root == "" {
		t.Fatalf("lab: %v: nginx Root is required", ErrOption)
	}
	if (o.CertFile == "") != (o.KeyFile == "") || (o.ClientCA != "" && o.CertFile == "") {
		t.Fatalf("lab: %v: nginx CertFile and KeyFile go together; ClientCA needs them", ErrOption)
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		n, err := startNginx(t, bin, dir, o, attempt)
		if err == nil {
			return n
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func startNginx(t testing.TB, bin, dir string, o NginxOptions, attempt int) (*Nginx, error) {
	t.Helper()
	port, err := FreePort(1)
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(dir, fmt.Sprintf("nginx-%d", attempt))
	if err := os.MkdirAll(filepath.Join(prefix, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("lab: nginx: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\n", prefix)
	fmt.Fprintf(&b, "error_log %s/logs/error.log info;\nevents { worker_connections 64; }\nhttp {\n", prefix)
	fmt.Fprintf(&b, "  access_log %s/logs/access.log;\n", prefix)
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/%s_temp;\n", tmp, prefix, tmp)
	}
	b.WriteString("  default_type application/octet-stream;\n  types { application/toml toml; }\n")
	fmt.Fprintf(&b, "  server {\n    listen 127.0.0.1:%d", port)
	if o.CertFile != "" {
		b.WriteString(" ssl")
	}
	b.WriteString(";\n    server_name localhost;\n")
	fmt.Fprintf(&b, "    root %s;\n", o.Root)
	if o.CertFile != "" {
		fmt.Fprintf(&b, "    ssl_certificate %s;\n    ssl_certificate_key %s;\n", o.CertFile, o.KeyFile)
		if o.ClientCA != "" {
			fmt.Fprintf(&b, "    ssl_client_certificate %s;\n    ssl_verify_client on;\n", o.ClientCA)
		}
	}
	b.WriteString("  }\n}\n")
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("lab: nginx config: %w", err)
	}
	errLog := filepath.Join(prefix, "logs", "error.log")
	if out, err := exec.Command(bin, "-t", "-p", prefix, "-c", conf, "-e", errLog).CombinedOutput(); err != nil {
		t.Fatalf("lab: %v: nginx -t -c %s: %v\n%s", ErrConfig, conf, err, tail(string(out), 40))
	}
	cmd := exec.Command(bin, "-p", prefix, "-c", conf, "-e", errLog)
	p, err := startProc(t, "nginx", cmd, filepath.Join(prefix, "stdout.log"))
	if err != nil {
		return nil, err
	}
	n := &Nginx{addr: fmt.Sprintf("127.0.0.1:%d", port), tls: o.CertFile != "", p: p, access: filepath.Join(prefix, "logs", "access.log")}
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(errLog); err == nil {
				t.Logf("lab: nginx %s error log:\n%s", n.addr, tail(string(log), 40))
			}
		}
	})
	if err := waitTCP(n.addr, 5*time.Second, p.done); err != nil {
		p.stop(time.Second)
		log, _ := os.ReadFile(errLog)
		return nil, fmt.Errorf("lab: nginx on %s: %w\n%s", n.addr, err, tail(string(log), 20))
	}
	return n, nil
}

// URL is the server's base URL, e.g. "https://127.0.0.1:10042".
func (n *Nginx) URL() string {
	if n.tls {
		return "https://" + n.addr
	}
	return "http://" + n.addr
}

// AccessLog returns nginx's access log so far (combined format: the
// request line and the status of each request).
func (n *Nginx) AccessLog() string {
	b, _ := os.ReadFile(n.access)
	return string(b)
}

// WaitAccessLog returns the access log once ok accepts it, or the log and
// false after timeout. nginx writes a request's line after it has sent the
// response, so a client can see the answer before the line is there.
func (n *Nginx) WaitAccessLog(ok func(log string) bool, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		log := n.AccessLog()
		if ok(log) {
			return log, true
		}
		if time.Now().After(deadline) {
			return log, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends nginx now (a server outage).
func (n *Nginx) Stop() { n.p.stop(2 * time.Second) }

// waitTCP returns once addr accepts a TCP connection, the process ended,
// or timeout passed.
func waitTCP(addr string, timeout time.Duration, done <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%w: exited before listening", ErrNotReady)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: no TCP listener after %v: %w", ErrNotReady, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
