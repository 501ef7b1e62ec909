package pulse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// volumeFile is the state file in Config.StateDir.
const volumeFile = "volume.json"

// volumeState is volume.json: {"volumes": {"handset": 80, "speaker": 120}}.
type volumeState struct {
	Volumes map[string]int `json:"volumes"`
}

// loadVolumes reads the state file; a missing file is not an error, and
// entries out of range or for unknown paths are ignored.
func (d *Device) loadVolumes() error {
	if d.cfg.StateDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(d.cfg.StateDir, volumeFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st volumeState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(d.cfg.StateDir, volumeFile), err)
	}
	for p, v := range st.Volumes {
		if _, ok := d.cfg.Paths[p]; ok && v >= 0 && v <= MaxVolume {
			d.volumes[p] = v
		}
	}
	return nil
}

// saveVolumesLocked writes the state file atomically (temp file, rename).
func (d *Device) saveVolumesLocked() error {
	if d.cfg.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(d.cfg.StateDir, 0o755); err != nil {
		return fmt.Errorf("pulse: volume state: %w", err)
	}
	b, _ := json.Marshal(volumeState{Volumes: d.volumes})
	path := filepath.Join(d.cfg.StateDir, volumeFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("pulse: volume state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pulse: volume state: %w", err)
	}
	return nil
}

// VolumeStep is how far one press of a volume key turns a path's volume,
// in percent.
const VolumeStep = 10

// StepVolume turns the volume of the path in use one VolumeStep up or
// down (the volume keys), within 0 and 100 percent (a volume set above 100
// through SetVolume is not raised further, only lowered), and stores it.
func (d *Device) StepVolume(up bool) {
	path := d.Path()
	v := d.Volume(path)
	next := max(v-VolumeStep, 0)
	if up {
		next = min(v+VolumeStep, max(v, 100))
	}
	if next == v {
		return
	}
	if err := d.SetVolume(path, next); err != nil {
		d.log.Warn("volume key", "path", path, "volume", next, "err", err)
		return
	}
	d.log.Info("volume", "path", path, "volume", next)
}
