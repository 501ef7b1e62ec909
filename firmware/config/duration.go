package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in the file as a Go duration string
// such as "5s", "250ms" or "1m30s". A bare number is refused: it has no unit.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"5s\" or \"250ms\")", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration the way the file holds it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
