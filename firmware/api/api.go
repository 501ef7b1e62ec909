// Package api is the phone's local control and status API (its "action
// URI"), bound to loopback by default. Paths are versioned; the unversioned
// /api/... paths are aliases kept for existing scripts:
//
//	GET  /api/v1/status                        the phone's state as JSON (calls: every call; api: listen, https, cert_sha256)
//	POST /api/v1/hook  {"offhook": true}       lift or replace the handset
//	POST /api/v1/hook  {"flash": true}         a hook flash
//	POST /api/v1/keys  {"keys": "1002#"}       press keys, in order
//	POST /api/v1/keys  {"function": "hold"}    press a function key (phone.Functions)
//	POST /api/v1/volume {"path": "speaker", "volume": 60}  a path's volume in percent, stored (volume.go)
//	GET  /api/v1/log                           the recent log as a text file (log.go)
//	GET  /api/v1/log/stream                    the log live, as server-sent events
//	POST /api/v1/diagnostics/sip-trace {"on": true}  the SIP message trace on or off (diag.go)
//	POST /api/v1/capture {"seconds": 30}       start a packet capture of SIP, RTP and RTCP
//	POST /api/v1/capture/stop                  end it early
//	GET  /api/v1/capture                       download it (application/vnd.tcpdump.pcap)
//
// The status's "diagnostics" part says whether the trace is on and the
// capture's state (none, running, done), size and packets.
//
// A bad request gets 400 with {"error": "..."} in plain words and does not
// touch the phone. Accepted actions get 202: they are queued to the
// phone's event loop and their effect shows in the next status. Keys the
// phone has no room to send are refused whole with 429 and Retry-After
// (dtmf.go): a key accepted is sent, never dropped later.
//
// Every request passes a guard first (guard.go):
//   - with a password (Options.Password), every request, status included,
//     needs it: HTTP Basic with user "admin", or "Authorization: Bearer
//     <password>", compared in constant time; else 401. Failed logins are
//     rate limited per source (Lockout): 429 with Retry-After while locked;
//   - the Host header must name the listen address (IP:port as bound, or
//     localhost:port on loopback), else 421: no DNS rebinding. A request
//     with valid credentials may name any host when the API is bound beyond
//     loopback (a technician types the phone's IP or name);
//   - an Origin header, when present, must be this API's own origin
//     (http(s)://host:port), else 403: no cross-site requests (CSRF);
//   - a request that changes state (anything but GET and HEAD) must carry
//     Content-Type: application/json, else 415: a web page cannot send that
//     cross-site without a CORS preflight, which this API never grants.
//
// Server and Listen (server.go) give the http.Server's timeouts and a
// bound on connections; Certificate (cert.go) the HTTPS certificate used
// beyond loopback.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
)

// MaxBody is the largest request body accepted.
const MaxBody = 4096

// MaxKeys is the most keys one request may press.
const MaxKeys = 64

// Phone is what the API needs of the phone.
type Phone interface {
	Status() daemon.Status
	Post(ev phone.Event) error
}

// Info is the API's own part of the status ("api").
type Info struct {
	Listen     string `json:"listen"`                // the address as bound
	HTTPS      bool   `json:"https"`                 // served over TLS
	CertSHA256 string `json:"cert_sha256,omitempty"` // SHA-256 of the served certificate, "AB:CD:..."
}

// Handler returns the API's HTTP handler, guarded as the package doc says.
func Handler(p Phone, log *slog.Logger, o Options) http.Handler {
	h := &handler{p: p, log: log, info: o.info(), push: o.Config, prov: o.Provisioning, logs: o.Logs, diag: o.Diagnostics, vol: o.Volume}
	return newGuard(h.routes(), log, o)
}

// routes is the unguarded API: /api/v1/... and the /api/... aliases.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	for _, prefix := range []string{"/api/v1/", "/api/"} {
		mux.HandleFunc(prefix+"status", h.only(http.MethodGet, h.status))
		mux.HandleFunc(prefix+"hook", h.only(http.MethodPost, h.hook))
		mux.HandleFunc(prefix+"keys", h.only(http.MethodPost, h.keys))
	}
	mux.HandleFunc("/api/v1/config", h.only(http.MethodPut, h.pushConfig))
	mux.HandleFunc("/api/v1/provisioning/check", h.only(http.MethodPost, h.checkProvisioning))
	mux.HandleFunc("/api/v1/volume", h.only(http.MethodPost, h.volume))
	mux.HandleFunc("/api/v1/log", h.only(http.MethodGet, h.logDownload))
	mux.HandleFunc("/api/v1/log/stream", h.only(http.MethodGet, h.logStream))
	mux.HandleFunc("/api/v1/diagnostics/sip-trace", h.only(http.MethodPost, h.sipTrace))
	mux.HandleFunc("/api/v1/capture", h.onlyTwo(http.MethodGet, h.captureDownload, http.MethodPost, h.captureStart))
	mux.HandleFunc("/api/v1/capture/stop", h.only(http.MethodPost, h.captureStop))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

type handler struct {
	p    Phone
	log  *slog.Logger
	info Info
	push ConfigPusher // nil: PUT /api/v1/config answers 501
	prov Checker      // nil: POST /api/v1/provisioning/check answers 501
	logs Logs         // nil: GET /api/v1/log answers 501
	diag Diagnostics  // nil: the diagnostics answer 501
	vol  Volume       // nil: POST /api/v1/volume answers 501
	// keysMu keeps the presses of one keys request together.
	keysMu sync.Mutex
}

// status is the phone's status with the API's own part added.
type status struct {
	daemon.Status
	API         Info      `json:"api"`
	Diagnostics *DiagInfo `json:"diagnostics,omitempty"`
}

func (h *handler) only(method string, f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, method))
			return
		}
		f(w, r)
	}
}

// onlyTwo routes two methods of one path.
func (h *handler) onlyTwo(m1 string, f1 http.HandlerFunc, m2 string, f2 http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case m1:
			f1(w, r)
		case m2:
			f2(w, r)
		default:
			w.Header().Set("Allow", m1+", "+m2)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (use %s or %s)", r.Method, r.URL.Path, m1, m2))
		}
	}
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, status{Status: h.p.Status(), API: h.info, Diagnostics: h.diagInfo()})
}

func (h *handler) hook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OffHook *bool `json:"offhook"`
		Flash   *bool `json:"flash"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	switch {
	case req.OffHook != nil && req.Flash != nil:
		writeError(w, http.StatusBadRequest, `give "offhook" or "flash", not both`)
	case req.Flash != nil && !*req.Flash:
		writeError(w, http.StatusBadRequest, `"flash" must be true (a hook flash)`)
	case req.Flash != nil:
		h.post(w, phone.HookFlash{})
	case req.OffHook == nil:
		writeError(w, http.StatusBadRequest, `missing field "offhook" (true or false) or "flash" (true)`)
	default:
		h.post(w, phone.Hook{OffHook: *req.OffHook})
	}
}

// function presses a function key by name.
func (h *handler) function(w http.ResponseWriter, name string) {
	for _, f := range phone.Functions {
		if string(f) == name {
			h.post(w, phone.FunctionKey{Name: f})
			return
		}
	}
	names := make([]string, len(phone.Functions))
	for i, f := range phone.Functions {
		names[i] = string(f)
	}
	writeError(w, http.StatusBadRequest, fmt.Sprintf(`"function": %q is not a function key (want one of %s)`, name, strings.Join(names, ", ")))
}

func (h *handler) keys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Keys     *string `json:"keys"`
		Function *string `json:"function"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	switch {
	case req.Keys != nil && req.Function != nil:
		writeError(w, http.StatusBadRequest, `give "keys" or "function", not both`)
		return
	case req.Function != nil:
		h.function(w, *req.Function)
		return
	case req.Keys == nil:
		writeError(w, http.StatusBadRequest, `missing field "keys" (digits, * and #) or "function" (e.g. "hold")`)
		return
	case *req.Keys == "":
		writeError(w, http.StatusBadRequest, `"keys" is empty`)
		return
	case len(*req.Keys) > MaxKeys:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"keys" has %d keys, at most %d`, len(*req.Keys), MaxKeys))
		return
	}
	for i := 0; i < len(*req.Keys); i++ {
		if !phone.IsDialKey((*req.Keys)[i]) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`"keys": %q at position %d is not a key (want 0-9, * or #)`, (*req.Keys)[i], i+1))
			return
		}
	}
	// Validated as a whole before any key is pressed, so a bad request
	// presses none; refused whole (429) while the phone still has too
	// many presses to send (dtmf.go). One request's keys go in together,
	// never interleaved with another request's.
	h.keysMu.Lock()
	defer h.keysMu.Unlock()
	if !h.dtmfRoom(w, len(*req.Keys)) {
		return
	}
	// Each key is pressed and released: in a call that makes a DTMF
	// event of the sender's minimum length.
	for i := 0; i < len(*req.Keys); i++ {
		if !h.post(nil, phone.Key{Key: (*req.Keys)[i]}) || !h.post(nil, phone.KeyRelease{Key: (*req.Keys)[i]}) {
			tooManyKeys(w, fmt.Sprintf("phone busy after %d of %d keys: the rest were not pressed", i, len(*req.Keys)))
			return
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]bool{"accepted": true})
}

// post queues ev; with a writer it also answers the request.
func (h *handler) post(w http.ResponseWriter, ev phone.Event) bool {
	if err := h.p.Post(ev); err != nil {
		if w != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
		}
		return false
	}
	if w != nil {
		writeJSON(w, http.StatusAccepted, map[string]bool{"accepted": true})
	}
	return true
}

// decode reads a strict JSON object: unknown fields, trailing data, wrong
// types and oversized bodies are 400s.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, plainJSONError(err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
