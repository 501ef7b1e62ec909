package hook

import (
	"context"
	"slices"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/gpio/gpiofake"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
)

// chanPoster hands events to the benchmark as the daemon's queue would.
type chanPoster chan phone.Event

func (c chanPoster) Post(ev phone.Event) error { c <- ev; return nil }

// BenchmarkEdgeToEvent is the time from a GPIO edge (a fake pin's edge) to
// the hook event reaching the phone's queue, through the watcher, the
// debounce and the hook logic. With the fake clock the settle time is
// advanced at once, so the figure is the code path; with the real clock it
// is the settle time (20 ms) plus scheduling. Reported: median and p99.
func BenchmarkEdgeToEvent(b *testing.B) {
	for _, real := range []bool{false, true} {
		name := "fake-clock"
		if real {
			name = "real-clock"
		}
		b.Run(name, func(b *testing.B) {
			chip := gpiofake.NewChip("c", 1)
			in, err := gpio.OpenIn(chip, gpio.Spec{Chip: "c", ActiveLow: true, Pull: gpio.PullUp})
			if err != nil {
				b.Fatal(err)
			}
			var clk clock.Clock = clock.Real{}
			fake := clock.NewFake(time.Unix(0, 0))
			if !real {
				clk = fake
			}
			out := make(chanPoster, 4)
			sw := New(Config{Contact: NormallyOpen, FlashMax: -1}, clk, out, nil)
			w := &gpio.Watcher{In: in, Sink: sw, Poll: time.Second}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); w.Run(ctx) }()
			pin := chip.Pin(0).EdgesChan
			lat := make([]time.Duration, 0, b.N)
			level := pgpio.Low
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				pin <- level
				if !real {
					for w.Edges() < uint64(i+1) {
					}
					fake.Advance(DefaultDebounce)
				}
				<-out
				lat = append(lat, time.Since(start))
				level = !level
			}
			b.StopTimer()
			cancel()
			pin <- level
			<-done
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "median-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
