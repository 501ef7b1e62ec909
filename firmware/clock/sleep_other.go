//go:build !linux

package clock

import "time"

// preciseSleep is unavailable here: SleepUntil uses time.Sleep.
func preciseSleep(time.Duration) bool { return false }
