package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/deskphone/phoned/firmware/logring"
)

// Logs is the phone's recent log (package logring) for GET /api/v1/log
// and its live tail.
type Logs interface {
	Snapshot() []byte
	Follow() ([]byte, *logring.Follower, error)
}

// logPing is how often an idle log stream sends a comment, so proxies and
// browsers keep it open and a vanished client is noticed.
const logPing = 15 * time.Second

// logDownload answers GET /api/v1/log: the lines kept, as a text file.
func (h *handler) logDownload(w http.ResponseWriter, r *http.Request) {
	if h.logs == nil {
		writeError(w, http.StatusNotImplemented, "this phone keeps no log in memory")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="phoned.log"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(h.logs.Snapshot())
}

// logStream answers GET /api/v1/log/stream: server-sent events
// (text/event-stream, WHATWG HTML §9.2), one "data:" event per log line,
// the lines kept first, then each new one as it is logged; an event
// "lost" with a count when the client fell behind; a comment every
// logPing. At most logring.MaxFollowers streams at once (else 503).
func (h *handler) logStream(w http.ResponseWriter, r *http.Request) {
	if h.logs == nil {
		writeError(w, http.StatusNotImplemented, "this phone keeps no log in memory")
		return
	}
	backlog, f, err := h.logs.Follow()
	if errors.Is(err, logring.ErrBusy) {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many log streams open (at most %d): close one or try again later", logring.MaxFollowers))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer f.Stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Each write gets its own deadline: the server's WriteTimeout would
	// cut the stream, and no deadline would let a client that stops
	// reading hold the handler for ever.
	send := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(WriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var buf bytes.Buffer
	for line := range bytes.Lines(backlog) {
		event(&buf, bytes.TrimSuffix(line, []byte("\n")))
	}
	if !send(buf.Bytes()) {
		return
	}
	ping := time.NewTicker(logPing)
	defer ping.Stop()
	for {
		buf.Reset()
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			buf.WriteString(": ping\n\n")
		case line, ok := <-f.Lines():
			if !ok {
				return // the phone is stopping
			}
			if n := f.Lost(); n > 0 {
				fmt.Fprintf(&buf, "event: lost\ndata: %d\n\n", n)
			}
			event(&buf, line)
		}
		if !send(buf.Bytes()) {
			return
		}
	}
}

// event writes one log line as a server-sent event. A log line holds no
// newline (the handlers quote them), but a CR or LF in it would end the
// event early, so any is split into data lines.
func event(buf *bytes.Buffer, line []byte) {
	for {
		i := bytes.IndexAny(line, "\r\n")
		buf.WriteString("data: ")
		if i < 0 {
			buf.Write(line)
			buf.WriteString("\n\n")
			return
		}
		buf.Write(line[:i])
		buf.WriteByte('\n')
		line = line[i+1:]
	}
}
