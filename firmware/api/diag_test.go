package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/diag"
	"github.com/deskphone/phoned/firmware/pcap"
)

const diagPassword = "diag-pass-1"

func diagHandler(t *testing.T) (http.Handler, *diag.Diag, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))
	d := diag.New(clk, slog.New(slog.DiscardHandler))
	h := Handler(&fakePhone{}, slog.New(slog.DiscardHandler), Options{Listen: listen, Password: diagPassword, Diagnostics: d})
	return h, d, clk
}

// call sends an authenticated request (JSON body for a POST).
func call(h http.Handler, method, path, body string, auth bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://"+listen.String()+path, strings.NewReader(body))
	if method != http.MethodGet {
		r.Header.Set("Content-Type", "application/json")
	}
	if auth {
		r.SetBasicAuth("admin", diagPassword)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// errOf is the "error" of a JSON answer.
func errOf(rec *httptest.ResponseRecorder) string {
	var m struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &m)
	return m.Error
}

func TestDiagnosticsNeedThePassword(t *testing.T) {
	h, d, _ := diagHandler(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/capture", `{"seconds": 5}`},
		{"POST", "/api/v1/capture/stop", ``},
		{"GET", "/api/v1/capture", ``},
		{"POST", "/api/v1/diagnostics/sip-trace", `{"on": true}`},
	} {
		if rec := call(h, c.method, c.path, c.body, false); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without the password: %d", c.method, c.path, rec.Code)
		}
	}
	if st := d.Capture(); st.State != "none" || d.SIPTrace() {
		t.Fatalf("an unauthenticated request changed state: %+v trace %v", st, d.SIPTrace())
	}
}

func TestCaptureBadInput(t *testing.T) {
	h, d, _ := diagHandler(t)
	for body, want := range map[string]string{
		``:                   "empty body",
		`{}`:                 `missing field "seconds"`,
		`{"seconds": 0}`:     "whole number from 1 to 600",
		`{"seconds": 601}`:   "whole number from 1 to 600",
		`{"seconds": 1.5}`:   "whole number from 1 to 600",
		`{"seconds": -3}`:    "whole number from 1 to 600",
		`{"seconds": "30"}`:  `"seconds" must be a number`,
		`{"secs": 30}`:       `unknown field "secs"`,
		`{"seconds": 30} {}`: "trailing data",
		`{"seconds": 1e400}`: "", // any 400
		`[30]`:               "want a JSON object",
	} {
		rec := call(h, "POST", "/api/v1/capture", body, true)
		if rec.Code != http.StatusBadRequest || !strings.Contains(errOf(rec), want) {
			t.Errorf("%s: %d %s, want 400 saying %q", body, rec.Code, rec.Body, want)
		}
	}
	if rec := call(h, "POST", "/api/v1/diagnostics/sip-trace", `{"on": "yes"}`, true); rec.Code != 400 || !strings.Contains(errOf(rec), `"on" must be true or false`) {
		t.Errorf("sip-trace on=yes: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "POST", "/api/v1/diagnostics/sip-trace", `{}`, true); rec.Code != 400 || !strings.Contains(errOf(rec), `missing field "on"`) {
		t.Errorf("sip-trace {}: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "DELETE", "/api/v1/capture", ``, true); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, POST" {
		t.Errorf("DELETE: %d %q", rec.Code, rec.Header().Get("Allow"))
	}
	// A state change without Content-Type: application/json is refused
	// by the guard (415), as for every endpoint.
	r := httptest.NewRequest("POST", "http://"+listen.String()+"/api/v1/capture", strings.NewReader(`{"seconds": 5}`))
	r.Header.Set("Content-Type", "text/plain")
	r.SetBasicAuth("admin", diagPassword)
	r.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain POST: %d", rec.Code)
	}
	if st := d.Capture(); st.State != "none" {
		t.Fatalf("a bad request started a capture: %+v", st)
	}
}

func TestCaptureLifecycleOverAPI(t *testing.T) {
	h, d, clk := diagHandler(t)
	if rec := call(h, "GET", "/api/v1/capture", ``, true); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "no capture") {
		t.Fatalf("download before any capture: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "POST", "/api/v1/capture/stop", ``, true); rec.Code != http.StatusConflict {
		t.Fatalf("stop with none running: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "POST", "/api/v1/capture", `{"seconds": 30}`, true); rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"state": "running"`) {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "POST", "/api/v1/capture", `{"seconds": 30}`, true); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already running") {
		t.Fatalf("second start: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "GET", "/api/v1/status", ``, true); !strings.Contains(rec.Body.String(), `"state": "running"`) || !strings.Contains(rec.Body.String(), `"sip_trace": false`) {
		t.Fatalf("status: %s", rec.Body)
	}
	d.SIPTraceWrite("UDP", "127.0.0.1:5060", "127.0.0.1:5070", []byte("OPTIONS sip:a SIP/2.0\r\n\r\n"))
	clk.Advance(time.Second)
	if rec := call(h, "POST", "/api/v1/capture/stop", ``, true); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ended": "stopped"`) {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body)
	}
	rec := call(h, "GET", "/api/v1/capture", ``, true)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
		rec.Header().Get("Content-Disposition") != `attachment; filename="phoned-20261203-170000.pcap"` {
		t.Fatalf("download: %d %v", rec.Code, rec.Header())
	}
	body, _ := io.ReadAll(rec.Body)
	ps, err := pcap.Read(body)
	if err != nil || len(ps) != 1 || !strings.HasPrefix(string(ps[0].Payload), "OPTIONS") {
		t.Fatalf("file: %d packets, %v", len(ps), err)
	}
	// A new capture after the last one ended: allowed, and the old file goes.
	if rec := call(h, "POST", "/api/v1/capture", `{"seconds": 600}`, true); rec.Code != http.StatusAccepted {
		t.Fatalf("restart: %d %s", rec.Code, rec.Body)
	}
}

func TestSIPTraceSwitch(t *testing.T) {
	h, d, _ := diagHandler(t)
	rec := call(h, "POST", "/api/v1/diagnostics/sip-trace", `{"on": true}`, true)
	if rec.Code != 200 || !d.SIPTrace() || !strings.Contains(rec.Body.String(), `"sip_trace": true`) {
		t.Fatalf("on: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "GET", "/api/v1/status", ``, true); !strings.Contains(rec.Body.String(), `"sip_trace": true`) {
		t.Fatalf("status: %s", rec.Body)
	}
	if rec := call(h, "POST", "/api/v1/diagnostics/sip-trace", `{"on": false}`, true); rec.Code != 200 || d.SIPTrace() {
		t.Fatalf("off: %d %s", rec.Code, rec.Body)
	}
}

func TestDiagnosticsAbsent(t *testing.T) {
	h := newHandler(&fakePhone{})
	code, m := do(t, h, "POST", "/api/v1/capture", `{"seconds": 5}`)
	if code != http.StatusNotImplemented || m["error"] == nil {
		t.Fatalf("%d %v", code, m)
	}
	if code, m := do(t, h, "GET", "/api/v1/status", ""); code != 200 || m["diagnostics"] != nil {
		t.Fatalf("status without diagnostics: %v", m)
	}
}

// FuzzCaptureAPI: any body to the diagnostics' POST endpoints is answered
// in JSON and plain words; only a 202 starts a capture, only a 200 moves
// the trace.
func FuzzCaptureAPI(f *testing.F) {
	f.Add("/api/v1/capture", `{"seconds": 30}`)
	f.Add("/api/v1/capture", `{"seconds": 1e999}`)
	f.Add("/api/v1/capture", `{"seconds": null}`)
	f.Add("/api/v1/capture/stop", `{}`)
	f.Add("/api/v1/diagnostics/sip-trace", `{"on": true}`)
	f.Add("/api/v1/diagnostics/sip-trace", `{"on": [true]}`)
	f.Fuzz(func(t *testing.T, path, body string) {
		switch path {
		case "/api/v1/capture", "/api/v1/capture/stop", "/api/v1/diagnostics/sip-trace":
		default:
			return
		}
		h, d, _ := diagHandler(t)
		rec := call(h, "POST", path, body, true)
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %q: answer is not a JSON object: %q", path, body, rec.Body.Bytes())
		}
		if e, _ := m["error"].(string); goWords.MatchString(e) && !strings.Contains(body, goWords.FindString(e)) {
			t.Fatalf("%s %q: error %q speaks Go", path, body, e)
		}
		if running := d.Capture().State == "running"; running != (rec.Code == http.StatusAccepted) {
			t.Fatalf("%s %q: %d, capture running %v", path, body, rec.Code, running)
		}
		if d.SIPTrace() && rec.Code != http.StatusOK {
			t.Fatalf("%s %q: %d but the trace is on", path, body, rec.Code)
		}
	})
}
