package device

// Status is a sound device's state as the phone's status API shows it.
type Status struct {
	Device     string  `json:"device"`           // "pulse", "wav", "null"
	Connected  bool    `json:"connected"`        // false while a sound server is away
	Path       string  `json:"path,omitempty"`   // audio path in use: handset, speaker, headset
	Volume     int     `json:"volume,omitempty"` // that path's volume, percent
	LatencyMS  float64 `json:"latency_ms"`       // measured capture + playback latency
	Underruns  uint64  `json:"underruns"`        // playback or capture frames filled with silence
	Overruns   uint64  `json:"overruns"`         // times the oldest buffered audio was dropped
	Reconnects uint64  `json:"reconnects"`       // times the device came back after losing its server
	Error      string  `json:"error,omitempty"`  // why it is not connected
}

// Fixed is the status of a device with nothing to report: Null and WAV.
type Fixed string

// Status reports the device as connected, with no latency of its own.
func (f Fixed) Status() Status { return Status{Device: string(f), Connected: true} }
