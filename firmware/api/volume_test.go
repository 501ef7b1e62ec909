package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeVolume is a device with three paths and volumes in memory.
type fakeVolume struct {
	path string
	vols map[string]int
	err  error
}

func (f *fakeVolume) Path() string    { return f.path }
func (f *fakeVolume) Paths() []string { return []string{"handset", "headset", "speaker"} }
func (f *fakeVolume) Volume(p string) int {
	if v, ok := f.vols[p]; ok {
		return v
	}
	return 100
}
func (f *fakeVolume) SetVolume(p string, v int) error {
	f.vols[p] = v
	return f.err
}

func TestVolume(t *testing.T) {
	fv := &fakeVolume{path: "handset", vols: map[string]int{}}
	h := Handler(&fakePhone{}, slog.New(slog.DiscardHandler), Options{Listen: listen, Volume: fv})
	code, m := do(t, h, http.MethodPost, "/api/v1/volume", `{"volume": 60}`)
	if code != http.StatusOK || m["path"] != "handset" || m["volume"] != 60.0 || fv.vols["handset"] != 60 {
		t.Fatalf("path in use: %d %v %v", code, m, fv.vols)
	}
	code, m = do(t, h, http.MethodPost, "/api/v1/volume", `{"path": "speaker", "volume": 0}`)
	if code != http.StatusOK || m["path"] != "speaker" || m["volume"] != 0.0 || fv.vols["speaker"] != 0 {
		t.Fatalf("named path: %d %v %v", code, m, fv.vols)
	}
	for _, c := range []struct{ body, errHas string }{
		{`{"volume": 151}`, "out of range"},
		{`{"volume": -1}`, "out of range"},
		{`{"path": "car", "volume": 10}`, `"car" is not an audio path`},
		{`{"path": "speaker"}`, `missing field "volume"`},
		{`{"volume": "loud"}`, "volume"},
		{`{"volume": 10, "gain": 3}`, "gain"},
	} {
		code, m := do(t, h, http.MethodPost, "/api/v1/volume", c.body)
		if code != http.StatusBadRequest || !strings.Contains(m["error"].(string), c.errHas) {
			t.Errorf("%s: %d %v, want 400 with %q", c.body, code, m, c.errHas)
		}
	}
	if len(fv.vols) != 2 {
		t.Fatalf("a refused request set a volume: %v", fv.vols)
	}
	if code, _ := do(t, h, http.MethodGet, "/api/v1/volume", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", code)
	}
	req := httptest.NewRequest(http.MethodPost, "http://"+listen.String()+"/api/v1/volume", strings.NewReader(`{"volume": 5}`))
	req.Header.Set("Content-Type", "text/plain")
	if code, _ := send(t, h, req); code != http.StatusUnsupportedMediaType || fv.vols["handset"] != 60 {
		t.Fatalf("text/plain: %d %v", code, fv.vols)
	}
	fv.err = errors.New("disk full")
	if code, m := do(t, h, http.MethodPost, "/api/v1/volume", `{"volume": 70}`); code != http.StatusInternalServerError || !strings.Contains(m["error"].(string), "disk full") {
		t.Fatalf("store failure: %d %v", code, m)
	}
	// Without volume control (null, wav devices): 501.
	if code, _ := do(t, newHandler(&fakePhone{}), http.MethodPost, "/api/v1/volume", `{"volume": 60}`); code != http.StatusNotImplemented {
		t.Fatalf("no device volume: %d", code)
	}
}
