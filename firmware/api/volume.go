package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Volume is what POST /api/v1/volume needs of the sound device: per-path
// playback volume in percent, persisted by the device (the Pulse device's
// volume.json under audio.state_dir).
type Volume interface {
	Path() string    // the path in use: handset, speaker or headset
	Paths() []string // the board's paths, sorted
	Volume(path string) int
	SetVolume(path string, percent int) error
}

// MaxVolume bounds POST /api/v1/volume, in percent (the Pulse device's
// own bound: PulseAudio allows some boost).
const MaxVolume = 150

// volume sets a path's volume:
//
//	POST /api/v1/volume {"volume": 60}                    the path in use
//	POST /api/v1/volume {"path": "speaker", "volume": 60} a named path
//
// It answers 200 with {"path": ..., "volume": ...} once the volume is set
// and stored, 400 for a bad path or volume, 501 on a device without volume
// control (null, wav).
func (h *handler) volume(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path   *string `json:"path"`
		Volume *int    `json:"volume"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if h.vol == nil {
		writeError(w, http.StatusNotImplemented, "this sound device has no volume control (audio.device is not pulse)")
		return
	}
	path := h.vol.Path()
	if req.Path != nil {
		path = *req.Path
	}
	switch {
	case req.Volume == nil:
		writeError(w, http.StatusBadRequest, `missing field "volume" (percent, 0 to 150)`)
		return
	case *req.Volume < 0 || *req.Volume > MaxVolume:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"volume": %d is out of range (0 to %d percent)`, *req.Volume, MaxVolume))
		return
	case !slices.Contains(h.vol.Paths(), path):
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"path": %q is not an audio path of this board (want one of %s)`, path, strings.Join(h.vol.Paths(), ", ")))
		return
	}
	if err := h.vol.SetVolume(path, *req.Volume); err != nil {
		// Set in the device, but not stored (a full disk) or not applied
		// (the server went away): say so.
		h.log.Warn("volume", "path", path, "volume", *req.Volume, "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("volume of %s set to %d%%, but: %v", path, *req.Volume, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": path, "volume": h.vol.Volume(path)})
}
