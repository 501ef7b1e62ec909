package gpio

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// Host is the machine's GPIO chips through the Linux GPIO character device
// (periph host v3, gpioioctl driver; kernel 5.10 or later).
type Host struct{ chips []*gpioioctl.GPIOChip }

var hostInit = sync.OnceValue(func() error {
	_, err := driverreg.Init()
	return err
})

// OpenHost loads the GPIO driver and lists the chips. It is ErrNoGPIO on a
// machine without /dev/gpiochip*.
func OpenHost() (*Host, error) {
	if err := hostInit(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoGPIO, err)
	}
	if len(gpioioctl.Chips) == 0 {
		return nil, ErrNoGPIO
	}
	return &Host{chips: gpioioctl.Chips}, nil
}

// Line finds s on the chips: by name on any chip (or on s.Chip when set),
// or by s.Chip (name, label or /dev path) and s.Offset.
func (h *Host) Line(s Spec) (pgpio.PinIO, error) {
	for _, c := range h.chips {
		if s.Chip != "" && s.Chip != c.Name() && s.Chip != c.Label() && s.Chip != c.Path() {
			continue
		}
		if s.Name != "" {
			if l := c.ByName(s.Name); l != nil {
				return l, nil
			}
			continue
		}
		if s.Offset >= 0 && s.Offset < c.LineCount() {
			return c.ByNumber(s.Offset), nil
		}
		return nil, fmt.Errorf("%w: %s (the chip has %d lines)", ErrNoLine, s, c.LineCount())
	}
	if s.Name == "" {
		return nil, fmt.Errorf("%w: %s (no chip %q)", ErrNoLine, s, s.Chip)
	}
	return nil, fmt.Errorf("%w: %s", ErrNoLine, s)
}
