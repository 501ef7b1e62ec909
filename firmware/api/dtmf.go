package api

import (
	"net/http"
	"strconv"
)

// dtmfRoomer is the phone's admission of key presses (daemon.DTMFRoom):
// false when n more presses could not all be sent in a call now.
type dtmfRoomer interface {
	DTMFRoom(n int) bool
}

// keysRetryAfter is the Retry-After, in seconds, of a refused key press:
// about what the phone takes to send ten presses (RFC 4733 events of at
// least 100 ms).
const keysRetryAfter = 1

// dtmfRoom answers 429 and reports false when the phone cannot take n
// more key presses now (issue 18 item 9): a press accepted with 202 is
// sent, never dropped later for lack of room.
func (h *handler) dtmfRoom(w http.ResponseWriter, n int) bool {
	if r, ok := h.p.(dtmfRoomer); ok && !r.DTMFRoom(n) {
		tooManyKeys(w, "too many key presses still to send: none of these were pressed")
		return false
	}
	return true
}

// tooManyKeys is the 429 (RFC 6585 §4) of key presses refused for room,
// with Retry-After (RFC 9110 §10.2.3).
func tooManyKeys(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(keysRetryAfter))
	writeError(w, http.StatusTooManyRequests, msg)
}
