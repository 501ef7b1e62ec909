package interop

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/api"
	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// attackPage is served from another origin (127.0.0.2): what any web page
// the phone's user opens could do to the phone's API on 127.0.0.1. It
// reports back to its own origin (/done) once every attempt has run.
var attackPage = template.Must(template.New("attack").Parse(`<!doctype html>
<html><body>
<iframe name="sink" id="sink"></iframe>
<script>
const api = {{.API}};
const results = [];
async function attempt(name, path, body) {
  try {
    await fetch(api + path, {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: body});
    results.push(name + ":sent");
  } catch (e) {
    results.push(name + ":" + e);
  }
}
async function run() {
  await attempt("fetch-hook", "/api/hook", '{"offhook":true}');
  await attempt("fetch-hook-v1", "/api/v1/hook", '{"offhook":true}');
  await attempt("fetch-keys", "/api/keys", '{"keys":"1002#"}');
  // A form post (no script needed): text/plain encoding gives
  // {"offhook":true,"x":"="} as the body.
  const sink = document.getElementById("sink");
  await new Promise(resolve => {
    sink.onload = resolve;
    const f = document.createElement("form");
    f.method = "POST"; f.action = api + "/api/hook"; f.enctype = "text/plain"; f.target = "sink";
    const i = document.createElement("input");
    i.type = "hidden"; i.name = '{"offhook":true,"x":"'; i.value = '"}';
    f.appendChild(i);
    document.body.appendChild(f);
    f.submit();
    results.push("form:sent");
  });
  await fetch("/done?r=" + encodeURIComponent(results.join(",")));
}
run();
</script>
</body></html>`))

// The CSRF probe of issue 12, in a real browser: a page from another
// origin POSTs to the phone's API with fetch (no-cors, text/plain) and
// with a form. The phone must stay on hook; the phone's log shows each
// request arrived and was refused. A DNS-rebinding style request (a Host
// naming another site) is refused too.
func TestAPICSRFProbeChromium(t *testing.T) {
	tier.Interop(t, "chromium")
	ph := startPhoneTB(t, nil, "[log]\nlevel = \"debug\"\n")
	apiURL := "http://" + ph.APIAddr

	ln, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		attackPage.Execute(w, map[string]string{"API": apiURL})
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) {
		select {
		case done <- r.URL.Query().Get("r"):
		default:
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	browser := lab.StartChromium(t, "http://"+ln.Addr().String()+"/")
	var results string
	select {
	case results = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the attack page did not report within 60 s; chromium:\n%s", browser.Log())
	}
	t.Logf("page: %s", results)
	for _, want := range []string{"fetch-hook:sent", "fetch-hook-v1:sent", "fetch-keys:sent", "form:sent"} {
		if !strings.Contains(results, want) {
			t.Errorf("page results %q lack %q", results, want)
		}
	}
	st, err := ph.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.OffHook || st.State != "idle" || st.Digits != "" {
		t.Fatalf("the page moved the phone: offhook %v state %q digits %q", st.OffHook, st.State, st.Digits)
	}
	// Each attempt reached the phone and was refused (debug log).
	refused := strings.Count(ph.Log(), "api request refused")
	if refused < 4 {
		t.Fatalf("%d refusals in the phone's log, want the 4 attempts; log:\n%s", refused, tail(ph.Log(), 40))
	}

	// DNS rebinding: the attacker's name resolves to 127.0.0.1; the browser
	// sends Host: evil.example. Refused whatever the body.
	req, _ := http.NewRequest("POST", apiURL+"/api/v1/hook", strings.NewReader(`{"offhook":true}`))
	req.Host = "evil.example:" + strings.Split(ph.APIAddr, ":")[1]
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("rebinding Host: %s, want 421", resp.Status)
	}
	if st, _ := ph.Status(); st.OffHook {
		t.Fatal("the rebinding request lifted the handset")
	}
	// The phone's own clients still work: JSON, right Host, no Origin.
	if err := ph.Hook(true); err != nil {
		t.Fatal(err)
	}
	if _, err := ph.Until(within, "off hook", func(st phonedStatus) bool { return st.OffHook }); err != nil {
		t.Fatal(err)
	}
}

// phoned with a password on a wildcard address (beyond loopback, reached
// here over 127.0.0.1): HTTPS with a self-signed certificate made on the
// first start; wrong password 401, right one 200; the status's fingerprint
// is the served certificate's; a restart serves the same certificate.
func TestAPIHTTPSPasswordBinary(t *testing.T) {
	tier.Interop(t)
	dir := t.TempDir()
	sipPort, err := phoneproc.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	apiPort, err := phoneproc.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	const password = "Api-Marker-5521"
	cfg := fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[api]
listen = "0.0.0.0:%d"
password = %q
[system]
state_dir = "state"
[log]
level = "debug"
`, sipPort, apiPort, password)
	addr := fmt.Sprintf("127.0.0.1:%d", apiPort)

	run := func() (fingerprint string, log string) {
		p, err := phoneproc.Start(phonedBin, dir, "phone", cfg, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Kill()
		var served string
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			// The test checks the certificate itself: its fingerprint
			// against the status's, as a technician would.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				served = api.Fingerprint(cs.PeerCertificates[0].Raw)
				return nil
			},
		}}}
		get := func(auth string) (*http.Response, []byte, error) {
			req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/status", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, nil, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp, b, err
		}
		var resp *http.Response
		var body []byte
		deadline := time.Now().Add(within)
		for {
			resp, body, err = get("Bearer " + password)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("HTTPS status: %v; log:\n%s", err, tail(p.Log(), 30))
		}
		if resp.StatusCode != 200 {
			t.Fatalf("right password (Bearer): %s %s", resp.Status, body)
		}
		var st struct {
			State string   `json:"state"`
			API   api.Info `json:"api"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if !st.API.HTTPS || st.API.Listen != fmt.Sprintf("0.0.0.0:%d", apiPort) || st.API.CertSHA256 == "" {
			t.Fatalf("status api part: %+v", st.API)
		}
		if st.API.CertSHA256 != served {
			t.Fatalf("status fingerprint %s, served certificate %s", st.API.CertSHA256, served)
		}
		req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/status", nil)
		req.SetBasicAuth("admin", password)
		if r, err := client.Do(req); err != nil || r.StatusCode != 200 {
			t.Fatalf("right password (Basic): %v %v", r, err)
		} else {
			r.Body.Close()
		}
		for _, auth := range []string{"", "Bearer wrong", "Basic YWRtaW46d3Jvbmc="} {
			r, b, err := get(auth)
			if err != nil || r.StatusCode != 401 {
				t.Fatalf("auth %q: %v %s %v", auth, r.Status, b, err)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Basic realm="phoned"`) {
				t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
		}
		// Plain HTTP is not served beyond loopback.
		if r, err := http.Get("http://" + addr + "/api/v1/status"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				t.Fatal("plain HTTP answered 200 beyond loopback")
			}
		}
		// An IPv4 wildcard does not listen on IPv6.
		if c, err := net.Dial("tcp6", fmt.Sprintf("[::1]:%d", apiPort)); err == nil {
			c.Close()
			t.Fatal("api.listen 0.0.0.0 took an IPv6 connection")
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		return served, p.Log()
	}

	first, log1 := run()
	for _, f := range []string{api.CertFile, api.KeyFile} {
		st, err := os.Stat(filepath.Join(dir, "state", f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if !strings.Contains(log1, "api listening beyond loopback") || !strings.Contains(log1, first) || !strings.Contains(log1, "generated=true") {
		t.Errorf("the start log does not warn with the fingerprint %s:\n%s", first, tail(log1, 30))
	}
	if !strings.Contains(log1, "failed login") {
		t.Errorf("failed logins are not logged:\n%s", tail(log1, 30))
	}
	t.Logf("served certificate %s", first)
	second, log2 := run()
	if second != first {
		t.Fatalf("restart served another certificate: %s, first %s", second, first)
	}
	if !strings.Contains(log2, "generated=false") {
		t.Errorf("the restart made a certificate:\n%s", tail(log2, 30))
	}
	for _, l := range []string{log1, log2} {
		if strings.Contains(l, password) || strings.Contains(l, url.QueryEscape(password)) {
			t.Fatal("the password is in the log")
		}
	}
}
