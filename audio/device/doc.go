// Package device is the sound device seam the media engine consumes, with
// two implementations that need no hardware: Null (silence in, discard out)
// and WAV (microphone from a WAV file, speaker to a WAV file). Hardware
// backends (PulseAudio, ALSA) live beside them and satisfy the same
// interface.
//
// Contract: Read blocks until the next captured frame is due and so paces
// the media loop; Write plays one frame without pacing. Frames are
// audio.FrameSamples long in normal use; other lengths are paced by their
// own duration. The file devices pace with absolute deadlines on an injected
// clock (deadline += frame; SleepUntil(deadline)) and, when more than
// MaxLag behind (the engine was idle), restart from now rather than
// bursting. Neither Read nor Write allocates. A Device is used by one
// goroutine at a time (the engine's loop); Close may come from another.
// A device that can stop its hardware while unused implements Activator;
// the engine tells it when it starts and stops using it (Null and WAV
// have nothing to stop).
package device
