package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deskphone/phoned/firmware/phone"
)

// roomPhone is a fakePhone with a DTMF admission of room presses.
type roomPhone struct {
	fakePhone
	room int
}

func (r *roomPhone) DTMFRoom(n int) bool { return n <= r.room }

func keysRequest(keys string) *http.Request {
	req := httptest.NewRequest("POST", "http://"+listen.String()+"/api/v1/keys", strings.NewReader(`{"keys":"`+keys+`"}`))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// Issue 18 item 9: presses beyond the phone's room are refused whole with
// 429 and Retry-After, none pressed; within it they are all pressed.
func TestKeysRefusedWithoutRoom(t *testing.T) {
	p := &roomPhone{room: 3}
	h := newHandler(p)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, keysRequest("1234"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("4 keys with room for 3: %d Retry-After %q, want 429 with Retry-After 1 (%s)", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if len(p.posted) != 0 {
		t.Fatalf("a refused request pressed %v", p.posted)
	}
	if code, _ := send(t, h, keysRequest("123")); code != http.StatusAccepted || len(p.posted) != 6 {
		t.Fatalf("3 keys with room for 3: %d, posted %v", code, p.posted)
	}
	if _, ok := p.posted[0].(phone.Key); !ok {
		t.Fatalf("first event %#v, want a key press", p.posted[0])
	}
}

// A full event queue refuses key presses with 429 and Retry-After too.
func TestKeysQueueFull429(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(&fakePhone{full: true}).ServeHTTP(rec, keysRequest("1"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("keys with the queue full: %d Retry-After %q, want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}
