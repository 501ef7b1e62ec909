package lab

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestNginxServesWithETags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "common.toml"), []byte("schema = 1\n"), 0o644)
	n := StartNginx(t, dir, NginxOptions{Root: root})
	resp, body := get(t, n.URL()+"/common.toml", nil)
	if resp.StatusCode != 200 || body != "schema = 1\n" || resp.Header.Get("ETag") == "" {
		t.Fatalf("%s %q ETag %q", resp.Status, body, resp.Header.Get("ETag"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/toml" {
		t.Fatalf("Content-Type %q", ct)
	}
	resp, _ = get(t, n.URL()+"/common.toml", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("with If-None-Match: %s, want 304", resp.Status)
	}
	if log, ok := n.WaitAccessLog(func(l string) bool { return strings.Count(l, "GET /common.toml") == 2 }, 5*time.Second); !ok {
		t.Fatalf("access log:\n%s", log)
	}
	n.Stop()
}

func TestApacheDigestRefusesWithoutCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "common.toml"), []byte("schema = 1\n"), 0o644)
	a := StartApache(t, dir, ApacheOptions{Root: root, Users: map[string]string{"admin": "pw"}})
	resp, _ := get(t, a.URL()+"/common.toml", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Digest realm="prov"`) {
		t.Fatalf("%s, WWW-Authenticate %q: want a Digest challenge", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	open := StartApache(t, t.TempDir(), ApacheOptions{Root: root})
	if resp, body := get(t, open.URL()+"/common.toml", nil); resp.StatusCode != 200 || body != "schema = 1\n" {
		t.Fatalf("no users: %s %q", resp.Status, body)
	}
	a.Stop()
}
