package keypad

import (
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/gpio/gpiofake"
	"github.com/deskphone/phoned/firmware/clock"
)

// BenchmarkScan is one scan of a 4×4 matrix and four one-GPIO keys on
// fake pins.
func BenchmarkScan(b *testing.B) {
	s, _ := benchScanner(b, clock.NewFake(time.Unix(0, 0)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Scan()
	}
}

// BenchmarkScannerCPU runs the scanner at its default rate (100 Hz) on the
// real clock for one second per iteration and reports the process CPU it
// used as a share of one core. (On fake pins: on a board each line read is
// an ioctl, measured there with the same benchmark.)
func BenchmarkScannerCPU(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, _ := benchScanner(b, clock.Real{})
		before := cpu()
		start := time.Now()
		if err := s.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
		s.Stop()
		used := cpu() - before
		b.ReportMetric(100*used.Seconds()/time.Since(start).Seconds(), "%cpu")
		b.ReportMetric(float64(s.Scans()), "scans/s")
	}
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchScanner(b *testing.B, clk clock.Clock) (*Scanner, *gpiofake.Matrix) {
	chip := gpiofake.NewChip("c", 12)
	m := gpiofake.NewMatrix(chip, []int{0, 1, 2, 3}, []int{4, 5, 6, 7}, true, true)
	var rows []Row
	var cols []Col
	for off := 0; off < 12; off++ {
		s := gpio.Spec{Chip: "c", Offset: off, ActiveLow: true}
		if off < 4 {
			o, _ := gpio.OpenOut(chip, s)
			rows = append(rows, o)
			continue
		}
		in, _ := gpio.OpenPolled(chip, s)
		cols = append(cols, in)
	}
	keymap := [][]string{{"1", "2", "3", "volume_up"}, {"4", "5", "6", "volume_down"}, {"7", "8", "9", "hold"}, {"*", "0", "#", "transfer"}}
	direct := []Direct{{"speaker", cols[4]}, {"redial", cols[5]}, {"mute", cols[6]}, {"message", cols[7]}}
	s, err := NewScanner(ScanConfig{}, clk, rows, cols[:4], keymap, direct, &recorder{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	m.Press(1, 1)
	return s, m
}
