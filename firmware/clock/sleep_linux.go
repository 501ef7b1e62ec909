package clock

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// timers is a free list of timerfds: each sleeper takes its own, so
// concurrent sleepers never share one, and none is created per sleep.
var timers struct {
	mu   sync.Mutex
	free []*os.File
	off  bool // timerfd failed once (no kernel support, seccomp): use time.Sleep
}

// preciseSleep sleeps d on a CLOCK_MONOTONIC timerfd read through the
// runtime's poller: the goroutine parks, no thread blocks, and the wake-up
// comes when the kernel timer fires rather than at the next millisecond of
// the poller's epoll timeout. false when timerfds are unavailable.
func preciseSleep(d time.Duration) bool {
	f := takeTimer()
	if f == nil {
		return false
	}
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		dropTimer(f)
		return false
	}
	at := unix.NsecToTimespec(now.Nano() + d.Nanoseconds())
	spec := unix.ItimerSpec{Value: at}
	if err := unix.TimerfdSettime(int(f.Fd()), unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		dropTimer(f)
		return false
	}
	var buf [8]byte // the expiry count
	if _, err := f.Read(buf[:]); err != nil {
		dropTimer(f)
		return false
	}
	timers.mu.Lock()
	timers.free = append(timers.free, f)
	timers.mu.Unlock()
	return true
}

func takeTimer() *os.File {
	timers.mu.Lock()
	defer timers.mu.Unlock()
	if n := len(timers.free); n > 0 {
		f := timers.free[n-1]
		timers.free = timers.free[:n-1]
		return f
	}
	if timers.off {
		return nil
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		timers.off = true
		return nil
	}
	// Non-blocking, so os.NewFile registers it with the runtime's poller.
	return os.NewFile(uintptr(fd), "timerfd")
}

// dropTimer closes a timerfd that failed; later sleeps use time.Sleep.
func dropTimer(f *os.File) {
	f.Close()
	timers.mu.Lock()
	timers.off = true
	timers.mu.Unlock()
}
