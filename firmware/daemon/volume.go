package daemon

// Volume is the sound device's volume as the volume keys turn it: one
// step up or down on the audio path in use (the Pulse device; it stores
// the new volume).
type Volume interface {
	StepVolume(up bool)
}
