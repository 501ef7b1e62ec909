package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
)

type fakePhone struct {
	posted []phone.Event
	full   bool
}

func (f *fakePhone) Status() daemon.Status {
	return daemon.Status{State: "idle", Display: "[1001] idle"}
}
func (f *fakePhone) Post(ev phone.Event) error {
	if f.full {
		return daemon.ErrBusy
	}
	f.posted = append(f.posted, ev)
	return nil
}

// listen is the address the unit tests' API is bound to.
var listen = netip.MustParseAddrPort("127.0.0.1:8080")

// newHandler is the API on loopback without a password.
func newHandler(p Phone) http.Handler {
	return Handler(p, slog.New(slog.DiscardHandler), Options{Listen: listen})
}

// do sends a request the way phoneproc and curl with -H do: Host is the
// listen address, bodies are application/json.
func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "http://"+listen.String()+path, strings.NewReader(body))
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, h, req)
}

// send serves req and decodes the JSON object it answers.
func send(t *testing.T, h http.Handler, req *http.Request) (int, map[string]any) {
	t.Helper()
	method, path := req.Method, req.URL.Path
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	raw, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: response is not a JSON object: %q", method, path, raw)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return rec.Code, m
}

func TestAPI(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		code                     int
		posted                   []phone.Event
		errHas                   string
	}{
		{"status", "GET", "/api/status", "", 200, nil, ""},
		{"lift", "POST", "/api/hook", `{"offhook": true}`, 202, []phone.Event{phone.Hook{OffHook: true}}, ""},
		{"hang up", "POST", "/api/hook", `{"offhook":false}`, 202, []phone.Event{phone.Hook{OffHook: false}}, ""},
		{"keys", "POST", "/api/keys", `{"keys":"12#"}`, 202, []phone.Event{phone.Key{Key: '1'}, phone.KeyRelease{Key: '1'},
			phone.Key{Key: '2'}, phone.KeyRelease{Key: '2'}, phone.Key{Key: '#'}, phone.KeyRelease{Key: '#'}}, ""},
		{"flash", "POST", "/api/hook", `{"flash": true}`, 202, []phone.Event{phone.HookFlash{}}, ""},
		{"flash false", "POST", "/api/hook", `{"flash": false}`, 400, nil, `"flash" must be true`},
		{"flash and hook", "POST", "/api/hook", `{"flash": true, "offhook": true}`, 400, nil, "not both"},
		{"hold", "POST", "/api/keys", `{"function": "hold"}`, 202, []phone.Event{phone.FunctionKey{Name: phone.FnHold}}, ""},
		{"conference", "POST", "/api/keys", `{"function": "conference"}`, 202, []phone.Event{phone.FunctionKey{Name: phone.FnConference}}, ""},
		{"transfer", "POST", "/api/keys", `{"function": "transfer"}`, 202, []phone.Event{phone.FunctionKey{Name: phone.FnTransfer}}, ""},
		{"mute", "POST", "/api/keys", `{"function": "mute"}`, 202, []phone.Event{phone.FunctionKey{Name: phone.FnMute}}, ""},
		{"bad function", "POST", "/api/keys", `{"function": "coffee"}`, 400, nil, `"coffee" is not a function key (want one of speaker, redial, hold`},
		{"keys and function", "POST", "/api/keys", `{"keys": "1", "function": "hold"}`, 400, nil, "not both"},
		{"function type", "POST", "/api/keys", `{"function": 3}`, 400, nil, `"function" must be a string, not a number`},
		{"unknown field", "POST", "/api/hook", `{"offhook":true,"volume":3}`, 400, nil, `unknown field "volume"`},
		{"wrong type", "POST", "/api/hook", `{"offhook":"yes"}`, 400, nil, `"offhook" must be true or false, not a string`},
		{"keys type", "POST", "/api/keys", `{"keys":[1]}`, 400, nil, `"keys" must be a string, not an array`},
		{"not an object", "POST", "/api/hook", `[true]`, 400, nil, `want a JSON object, got an array`},
		{"cut short", "POST", "/api/hook", `{"offhook":`, 400, nil, `the body ends before the JSON object does`},
		{"v1 status", "GET", "/api/v1/status", "", 200, nil, ""},
		{"v1 lift", "POST", "/api/v1/hook", `{"offhook": true}`, 202, []phone.Event{phone.Hook{OffHook: true}}, ""},
		{"v1 keys", "POST", "/api/v1/keys", `{"keys":"5"}`, 202, []phone.Event{phone.Key{Key: '5'}, phone.KeyRelease{Key: '5'}}, ""},
		{"v1 function", "POST", "/api/v1/keys", `{"function":"mute"}`, 202, []phone.Event{phone.FunctionKey{Name: phone.FnMute}}, ""},
		{"v1 wrong method", "GET", "/api/v1/hook", "", 405, nil, "method not allowed"},
		{"v2 is not there", "GET", "/api/v2/status", "", 404, nil, "no such endpoint"},
		{"missing field", "POST", "/api/hook", `{}`, 400, nil, `missing field "offhook"`},
		{"empty body", "POST", "/api/hook", ``, 400, nil, "empty body"},
		{"not JSON", "POST", "/api/keys", `keys=1`, 400, nil, "bad JSON: not valid JSON at byte 1"},
		{"trailing", "POST", "/api/keys", `{"keys":"1"} {"keys":"2"}`, 400, nil, "trailing data"},
		{"bad key", "POST", "/api/keys", `{"keys":"12a3"}`, 400, nil, `'a' at position 3`},
		{"empty keys", "POST", "/api/keys", `{"keys":""}`, 400, nil, "empty"},
		{"too many keys", "POST", "/api/keys", `{"keys":"` + strings.Repeat("1", MaxKeys+1) + `"}`, 400, nil, "at most"},
		{"too big", "POST", "/api/keys", `{"keys":"` + strings.Repeat(" ", MaxBody) + `"}`, 400, nil, "larger than"},
		{"wrong method", "GET", "/api/hook", "", 405, nil, "method not allowed"},
		{"post status", "POST", "/api/status", "{}", 405, nil, "method not allowed"},
		{"unknown path", "GET", "/api/volume", "", 404, nil, "no such endpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakePhone{}
			code, body := do(t, newHandler(p), c.method, c.path, c.body)
			if code != c.code {
				t.Fatalf("code = %d, want %d (%v)", code, c.code, body)
			}
			if len(p.posted) != len(c.posted) {
				t.Fatalf("posted %v, want %v", p.posted, c.posted)
			}
			for i := range c.posted {
				if p.posted[i] != c.posted[i] {
					t.Fatalf("posted %v, want %v", p.posted, c.posted)
				}
			}
			if c.errHas != "" {
				if e, _ := body["error"].(string); !strings.Contains(e, c.errHas) {
					t.Fatalf("error = %q, want it to contain %q", e, c.errHas)
				}
			}
			if e, _ := body["error"].(string); goWords.MatchString(e) {
				t.Fatalf("error %q speaks Go, not plain words", e)
			}
		})
	}
}

// goWords finds Go type names and encoding/json's wording in a message.
var goWords = regexp.MustCompile(`Go (struct|value)|unmarshal|of type|json:|\bbool\b|\bint\b`)

func TestStatusFields(t *testing.T) {
	_, body := do(t, newHandler(&fakePhone{}), "GET", "/api/status", "")
	for _, k := range []string{"state", "registration", "call", "display", "api"} {
		if _, ok := body[k]; !ok {
			t.Errorf("status lacks %q: %v", k, body)
		}
	}
}

func TestQueueFull(t *testing.T) {
	code, _ := do(t, newHandler(&fakePhone{full: true}), "POST", "/api/hook", `{"offhook":true}`)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("code = %d, want 503", code)
	}
}

func FuzzAPI(f *testing.F) {
	f.Add("POST", "/api/keys", `{"keys":"1#"}`)
	f.Add("POST", "/api/hook", `{"offhook":true}`)
	f.Add("GET", "/api/status", ``)
	f.Add("POST", "/api/v1/hook", `{"offhook":"yes"}`)
	f.Add("POST", "/api/v1/keys", `{"keys":[1,2]}`)
	f.Add("POST", "/api/v1/keys", `{"function":{"a":1}}`)
	f.Add("POST", "/api/v1/hook", `{"offhook":1e999}`)
	f.Add("POST", "/api/v1/hook", `"x"`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?%") || method == "" || strings.ContainsAny(method, " \r\n\t()<>@,;:\\\"/[]?={}") {
			return
		}
		p := &fakePhone{}
		rec := httptest.NewRecorder()
		h := newHandler(p)
		req, err := http.NewRequest(method, "http://"+listen.String()+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code >= 400 && len(p.posted) != 0 {
			t.Fatalf("%s %s %q: rejected with %d but posted %v", method, path, body, rec.Code, p.posted)
		}
		var m map[string]any
		// ServeMux answers unclean paths ("/.") with a redirect of its own.
		if err := json.Unmarshal(rec.Body.Bytes(), &m); method != http.MethodHead && rec.Code/100 != 3 && err != nil {
			t.Fatalf("%s %s %q: answer is not a JSON object: %q", method, path, body, rec.Body.Bytes())
		}
		// Words the request itself holds may be echoed.
		if e, _ := m["error"].(string); goWords.MatchString(e) && !strings.Contains(body+path, goWords.FindString(e)) {
			t.Fatalf("%s %s %q: error %q speaks Go, not plain words", method, path, body, e)
		}
	})
}
