package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/deskphone/phoned/firmware/diag"
)

// Diagnostics is the technician's SIP trace and packet capture (package
// diag).
type Diagnostics interface {
	SetSIPTrace(on bool)
	SIPTrace() bool
	StartCapture(d time.Duration) error
	StopCapture() error
	Capture() diag.CaptureStatus
	// CaptureFile is the file as chunks to write in order.
	CaptureFile() ([][]byte, diag.CaptureStatus, error)
}

// DiagInfo is the diagnostics' part of the status ("diagnostics").
type DiagInfo struct {
	SIPTrace bool               `json:"sip_trace"`
	Capture  diag.CaptureStatus `json:"capture"`
}

func (h *handler) diagInfo() *DiagInfo {
	if h.diag == nil {
		return nil
	}
	return &DiagInfo{SIPTrace: h.diag.SIPTrace(), Capture: h.diag.Capture()}
}

// noDiag answers 501 when the phone has no diagnostics; true if it did.
func (h *handler) noDiag(w http.ResponseWriter) bool {
	if h.diag == nil {
		writeError(w, http.StatusNotImplemented, "this phone has no diagnostics")
		return true
	}
	return false
}

// sipTrace answers POST /api/v1/diagnostics/sip-trace {"on": true}.
func (h *handler) sipTrace(w http.ResponseWriter, r *http.Request) {
	if h.noDiag(w) {
		return
	}
	var req struct {
		On *bool `json:"on"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if req.On == nil {
		writeError(w, http.StatusBadRequest, `missing field "on" (true or false)`)
		return
	}
	h.diag.SetSIPTrace(*req.On)
	writeJSON(w, http.StatusOK, h.diagInfo())
}

// captureStart answers POST /api/v1/capture {"seconds": 30}.
func (h *handler) captureStart(w http.ResponseWriter, r *http.Request) {
	if h.noDiag(w) {
		return
	}
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	maxS := int(diag.MaxCaptureTime / time.Second)
	switch {
	case req.Seconds == nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`missing field "seconds" (how long to capture, 1 to %d)`, maxS))
		return
	case *req.Seconds != float64(int(*req.Seconds)) || *req.Seconds < 1 || *req.Seconds > float64(maxS):
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"seconds" must be a whole number from 1 to %d, not %v`, maxS, *req.Seconds))
		return
	}
	err := h.diag.StartCapture(time.Duration(*req.Seconds) * time.Second)
	switch {
	case errors.Is(err, diag.ErrCaptureRunning):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, diag.ErrCaptureTime):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusAccepted, h.diagInfo().Capture)
	}
}

// captureStop answers POST /api/v1/capture/stop.
func (h *handler) captureStop(w http.ResponseWriter, r *http.Request) {
	if h.noDiag(w) {
		return
	}
	if err := h.diag.StopCapture(); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.diagInfo().Capture)
}

// captureDownload answers GET /api/v1/capture: the pcap file (while a
// capture runs, its packets so far).
func (h *handler) captureDownload(w http.ResponseWriter, r *http.Request) {
	if h.noDiag(w) {
		return
	}
	file, st, err := h.diag.CaptureFile()
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error()+": start one with POST /api/v1/capture")
		return
	}
	name := "phoned-" + st.Started.UTC().Format("20060102-150405") + ".pcap"
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(st.Bytes))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Capture-State", st.State)
	for _, c := range file { // not net.Buffers: its writev would cost the firmware 5 KB
		if _, err := w.Write(c); err != nil {
			return
		}
	}
}
