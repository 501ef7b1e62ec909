// Package gpio opens the board's GPIO lines through periph.io and gives
// them polarity: an In reports whether its line is active, an Out is set
// on or off, whatever level that means on the wire.
//
// Contract:
//   - A line is found by chip and offset (gpiochip0 line 17) or by the line
//     name the kernel gives it (GPIO17); see Spec. Chips is the seam: Host
//     is the Linux GPIO character device (periph host v3, gpioioctl), and
//     package gpiofake gives periph gpiotest pins for tests.
//   - Opening a line that the chip does not have is ErrNoLine, wrapped with
//     the spec, so that the board loader can name the board file and field.
//   - periph's ioctl driver has no debounce and no event timestamps, and
//     WaitForEdge(-1) returns at once on it: Watch waits with finite
//     timeouts in a loop, re-reads the line after every wait (catching an
//     edge the driver folded away) and hands levels to a debounce.Input.
//   - Nothing here touches /dev except Host.
package gpio
