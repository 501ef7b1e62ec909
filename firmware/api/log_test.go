package api

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/logring"
)

// logServer serves the API with a log ring on loopback.
func logServer(t *testing.T, password string) (*logring.Ring, string) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ring := logring.New(1 << 16)
	ap := netip.MustParseAddrPort(ln.Addr().String())
	srv := Server(Handler(&fakePhone{}, slog.New(slog.DiscardHandler), Options{Listen: ap, Password: password, Logs: ring}), slog.New(slog.DiscardHandler))
	srv.RegisterOnShutdown(ring.EndFollowers)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ring, "http://" + ap.String()
}

func get(t *testing.T, url, password string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		req.SetBasicAuth("admin", password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLogDownload(t *testing.T) {
	ring, base := logServer(t, "")
	ring.Write([]byte("level=INFO msg=one\nlevel=INFO msg=two\n"))
	res := get(t, base+"/api/v1/log", "")
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != "level=INFO msg=one\nlevel=INFO msg=two\n" {
		t.Fatalf("GET /api/v1/log: %d %q", res.StatusCode, body)
	}
	if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(cd, "phoned.log") {
		t.Fatalf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
}

// readEvent reads one server-sent event's data lines.
func readEvent(t *testing.T, r *bufio.Reader) (name, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if data != "" {
				return name, data
			}
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "data: "):
			data += line[6:]
		}
	}
}

func TestLogStream(t *testing.T) {
	ring, base := logServer(t, "")
	ring.Write([]byte("kept line\n"))
	res := get(t, base+"/api/v1/log/stream", "")
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(res.Body)
	if _, d := readEvent(t, r); d != "kept line" {
		t.Fatalf("first event %q, want the kept line", d)
	}
	ring.Write([]byte("new line\n"))
	if _, d := readEvent(t, r); d != "new line" {
		t.Fatalf("next event %q, want the new line", d)
	}
	// More streams than logring.MaxFollowers: refused with 503.
	var open []*http.Response
	for range logring.MaxFollowers - 1 {
		res := get(t, base+"/api/v1/log/stream", "")
		if res.StatusCode != 200 {
			t.Fatalf("stream %d: %d", len(open)+2, res.StatusCode)
		}
		open = append(open, res)
	}
	over := get(t, base+"/api/v1/log/stream", "")
	body, _ := io.ReadAll(over.Body)
	over.Body.Close()
	if over.StatusCode != http.StatusServiceUnavailable || over.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many log streams") {
		t.Fatalf("stream over the bound: %d %q", over.StatusCode, body)
	}
	// The phone stopping ends every stream.
	ring.EndFollowers()
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(r); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open 10 s after the followers ended")
	}
	for _, o := range open {
		o.Body.Close()
	}
}

func TestLogNeedsPassword(t *testing.T) {
	ring, base := logServer(t, "s3cret-pw")
	ring.Write([]byte("private\n"))
	for _, path := range []string{"/api/v1/log", "/api/v1/log/stream"} {
		res := get(t, base+path, "")
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "private") {
			t.Fatalf("%s without the password: %d %q", path, res.StatusCode, body)
		}
	}
	res := get(t, base+"/api/v1/log", "s3cret-pw")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "private\n" {
		t.Fatalf("with the password: %d %q", res.StatusCode, body)
	}
}
