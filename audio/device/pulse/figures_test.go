package pulse

// Figures (make figures): measured here, never asserted in a test.
//
//	BenchmarkFiguresRoundTrip       play -> monitor capture through PulseAudio, ms
//	BenchmarkFiguresOffHookToTone   off-hook event -> first dial-tone frame written, µs
//	BenchmarkFiguresOffHookToAudible off-hook event -> dial tone at the sink's monitor, from no stream open, ms
//	BenchmarkFiguresIdleCPU         CPU of an idle phone with the Pulse device open, of the server and of an idle baresip, %

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/ringer"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/scripts/lab"
)

func median(d []float64) float64 {
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkFiguresRoundTrip writes a 1 kHz burst and times it until the
// device's own capture (the sink's monitor) returns it: playback buffer,
// sink, monitor source and capture buffer, resampled both ways.
func BenchmarkFiguresRoundTrip(b *testing.B) {
	srv := startServer(b)
	d := openActive(b, srv, Config{})
	in, burst, quiet := make([]int16, 160), make([]int16, 160), make([]int16, 160)
	tone.NewGenerator(tone.MustParse("1000/0")).Fill(burst)
	for k := 0; k < 25; k++ { // settle
		d.Read(in)
		d.Write(quiet)
	}
	var ms []float64
	for b.Loop() {
		d.Read(in)
		d.Write(burst)
		sent := time.Now()
		for k := 0; k < 50; k++ {
			d.Read(in)
			got := time.Now()
			d.Write(quiet)
			if on := onset(in); on >= 0 {
				// The onset sample was captured (160-on) samples before
				// this frame was complete.
				heard := got.Add(-audio.Duration(len(in) - on))
				ms = append(ms, float64(heard.Sub(sent).Microseconds())/1000)
				break
			}
		}
		for k := 0; k < 10; k++ { // let the burst's tail pass
			d.Read(in)
			d.Write(quiet)
		}
	}
	if len(ms) > 0 {
		b.ReportMetric(median(ms), "ms-roundtrip-median")
		b.ReportMetric(slices.Max(ms), "ms-roundtrip-max")
		b.ReportMetric(d.Status().LatencyMS, "ms-status-latency")
	}
}

// onset returns the index of the first loud sample, or -1.
func onset(f []int16) int {
	for i, s := range f {
		if s > 1000 || s < -1000 {
			return i
		}
	}
	return -1
}

// spy records when the first non-silent frame is written after arm.
type spy struct {
	*Device
	mu    sync.Mutex
	armed bool
	first chan time.Time
}

func (s *spy) Write(f []int16) error {
	s.mu.Lock()
	if s.armed && detect.Energy(f) > 0 {
		s.armed = false
		s.first <- time.Now()
	}
	s.mu.Unlock()
	return s.Device.Write(f)
}

// BenchmarkFiguresOffHookToTone posts an off-hook event to the phone's
// event loop (daemon, state machine, media engine, Pulse device, all
// real) and times the first dial-tone frame written to the device.
func BenchmarkFiguresOffHookToTone(b *testing.B) {
	srv := startServer(b)
	dev := openDevice(b, srv, Config{})
	sp := &spy{Device: dev, first: make(chan time.Time, 1)}
	log := testLog
	eng := engine.New(sp, clock.Real{}, log)
	dm := daemon.New(daemon.Options{
		Machine: phone.Config{InterDigit: 5 * time.Second, OffHook: time.Minute, NoAnswer: time.Minute},
		User:    "1001", Domain: "127.0.0.1", Tones: tone.US, Clock: clock.Real{}, Logger: log,
	}, daemon.Deps{Tones: eng, Media: eng})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); eng.Run(ctx) }()
	go func() { defer wg.Done(); dm.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	var us []float64
	for b.Loop() {
		time.Sleep(300 * time.Millisecond) // on-hook and idle, as between calls
		sp.mu.Lock()
		sp.armed = true
		sp.mu.Unlock()
		t0 := time.Now()
		dm.Post(phone.Hook{OffHook: true})
		t1 := <-sp.first
		us = append(us, float64(t1.Sub(t0).Microseconds()))
		dm.Post(phone.Hook{OffHook: false})
	}
	b.ReportMetric(median(us), "µs-offhook-to-tone-median")
	b.ReportMetric(slices.Max(us), "µs-offhook-to-tone-max")
}

// BenchmarkFiguresOffHookToAudible times an off-hook event posted to the
// phone's event loop (daemon, state machine, engine, Pulse device, all
// real) until the dial tone is audible at the handset sink's monitor,
// starting each time from an idle device with no stream open: it includes
// opening and starting the voice streams, the playback buffer, the sink
// and the monitor's capture fragment.
func BenchmarkFiguresOffHookToAudible(b *testing.B) {
	srv := startServer(b)
	dev := openDevice(b, srv, Config{Linger: 50 * time.Millisecond})
	eng := engine.New(dev, clock.Real{}, testLog)
	dm := daemon.New(daemon.Options{
		Machine: phone.Config{InterDigit: 5 * time.Second, OffHook: time.Minute, NoAnswer: time.Minute},
		User:    "1001", Domain: "127.0.0.1", Tones: tone.US, Clock: clock.Real{}, Logger: testLog,
	}, daemon.Deps{Tones: eng, Media: eng})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); eng.Run(ctx) }()
	go func() { defer wg.Done(); dm.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	rec := srv.Record(b, "handset.monitor")
	var ms []float64
	for b.Loop() {
		for v, _ := dev.Streams(); v != 0; v, _ = dev.Streams() {
			time.Sleep(10 * time.Millisecond) // until the streams are closed: a cold start
		}
		time.Sleep(200 * time.Millisecond) // on-hook and idle, as between calls
		n0 := rec.Len()
		t0 := time.Now()
		dm.Post(phone.Hook{OffHook: true})
		for {
			time.Sleep(time.Millisecond)
			now, s := time.Now(), rec.Samples()
			if on := onset(s[n0:]); on >= 0 {
				heard := now.Add(-audio.Duration(len(s) - n0 - on))
				ms = append(ms, float64(heard.Sub(t0).Microseconds())/1000)
				break
			}
			if now.Sub(t0) > 5*time.Second {
				b.Fatal("no dial tone within 5 s")
			}
		}
		dm.Post(phone.Hook{OffHook: false})
	}
	if len(ms) > 0 {
		b.ReportMetric(median(ms), "ms-offhook-to-audible-median")
		b.ReportMetric(slices.Max(ms), "ms-offhook-to-audible-max")
	}
}

// BenchmarkFiguresIdleCPU keeps an idle phone (device connected, three
// paths and a ringer configured, media engine idle, so no stream open)
// for a second per op (make figures: 60 s) and
// reports its CPU and the PulseAudio server's, in percent of one core.
func BenchmarkFiguresIdleCPU(b *testing.B) {
	srv := startServer(b)
	dev := openDevice(b, srv, Config{Ringer: ringer.New(tone.US, 100, testLog), RingerSink: "ringer"})
	eng := engine.New(dev, clock.Real{}, testLog)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// baresip idle beside it, for comparison (its own audio is files).
	peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1003"})
	time.Sleep(500 * time.Millisecond)
	var self, server []float64
	var bs0 time.Duration
	if u, err := lab.ReadProcUsage(peer.PID()); err == nil {
		bs0 = u.CPU
	}
	start := time.Now()
	for b.Loop() {
		s0, p0, t0 := selfCPU(), procCPU(srv.Pid()), time.Now()
		time.Sleep(time.Second)
		wall := time.Since(t0)
		self = append(self, 100*float64(selfCPU()-s0)/float64(wall))
		server = append(server, 100*float64(procCPU(srv.Pid())-p0)/float64(wall))
	}
	b.ReportMetric(median(self), "%cpu-phoned")
	b.ReportMetric(median(server), "%cpu-pulseaudio")
	if u, err := lab.ReadProcUsage(peer.PID()); err == nil {
		// Over the whole run: one clock tick is 10 ms of CPU.
		b.ReportMetric(100*float64(u.CPU-bs0)/float64(time.Since(start)), "%cpu-baresip")
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads a process's user+system time from /proc (USER_HZ = 100).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}
