package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxConfig is the largest config body accepted (config.MaxSize).
const MaxConfig = 1 << 20

// ConfigPusher takes a config file pushed to PUT /api/v1/config (issue
// 13, local push): it validates the file over the phone's own, stores it
// and applies it the way a reload does.
type ConfigPusher interface {
	PushConfig(data []byte) (PushResult, error)
}

// PushResult is the answer to a push.
type PushResult struct {
	// Problems, one per line as file:line: key: message, when the file was
	// refused; nothing changed then.
	Problems []string `json:"problems,omitempty"`
	// Changed lists the keys the file changes; Apply says what that takes
	// ("hot", "re-register", "restart when idle"); WaitsForIdle says it
	// waits for the phone to be idle.
	Changed      []string `json:"changed"`
	Apply        string   `json:"apply,omitempty"`
	WaitsForIdle bool     `json:"waits_for_idle,omitempty"`
}

// Checker starts a provisioning check at once (POST
// /api/v1/provisioning/check); its result shows in the status.
type Checker interface{ CheckNow() }

func (h *handler) checkProvisioning(w http.ResponseWriter, r *http.Request) {
	if h.prov == nil {
		writeError(w, http.StatusNotImplemented, "this phone has no provisioning")
		return
	}
	h.prov.CheckNow()
	writeJSON(w, http.StatusAccepted, map[string]bool{"accepted": true})
}

// ErrPushRefused is wrapped by a PushConfig error for a refused file.
var ErrPushRefused = errors.New("config refused")

// pushConfig is PUT /api/v1/config: a TOML body, applied or refused whole.
func (h *handler) pushConfig(w http.ResponseWriter, r *http.Request) {
	if h.push == nil {
		writeError(w, http.StatusNotImplemented, "this phone takes no pushed config")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxConfig))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("config larger than %d bytes", MaxConfig))
		return
	}
	res, err := h.push.PushConfig(data)
	switch {
	case errors.Is(err, ErrPushRefused):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": "config refused, the running config stays: " + strings.Join(res.Problems, "; "), "problems": res.Problems})
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
