package daemon

// Volume is the sound device's audio paths and volume as the phone's
// state machine drives them (the Pulse device): SetPath moves the audio
// to "handset", "speaker" or "headset" (phone.SetAudioPath: the speaker
// and headset keys and the hook), without a gap; StepVolume turns the
// volume of the path in use one step up or down (the volume keys) and
// stores it.
type Volume interface {
	SetPath(path string) error
	StepVolume(up bool)
}
