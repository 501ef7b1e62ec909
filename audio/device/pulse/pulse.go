package pulse

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pa "github.com/jfreymuth/pulse"
	"github.com/jfreymuth/pulse/proto"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/ring"
	"github.com/deskphone/phoned/firmware/clock"
)

// Sentinel errors.
var (
	ErrUnknownPath = errors.New("pulse: unknown audio path")
	ErrVolume      = errors.New("pulse: volume out of range")
)

// SystemServer is the system-wide server's socket, tried after the
// per-user one when Config.Server is empty.
const SystemServer = "unix:/run/pulse/native"

const (
	// DefaultLatency is the playback target latency when Config.Latency is 0.
	DefaultLatency = 40 * time.Millisecond
	// IdleAfter is how long without Read or Write makes the device idle:
	// underruns and overruns are not counted while idle.
	IdleAfter = 200 * time.Millisecond
	// RetryInterval is the wait between attempts to reach a lost server.
	RetryInterval = 200 * time.Millisecond
	// StallTimeout is how long connected capture may deliver nothing before
	// the connection is taken for lost and rebuilt.
	StallTimeout = time.Second
	// DefaultLinger is how long voice streams outlive the media loop's
	// use: a call's last frames play out, and a quick redial reuses them.
	DefaultLinger = 3 * time.Second
	// IdlePoll is how often an idle device (no stream running) looks at
	// its watch stream for a lost server.
	IdlePoll = time.Second
	// DefaultVolume is a path's volume, in percent, until one is set.
	DefaultVolume = 100
	// MaxVolume bounds SetVolume, in percent (PulseAudio allows boost).
	MaxVolume = 150

	captureCap     = 16 * audio.FrameSamples    // 320 ms of capture
	captureBacklog = 4 * audio.FrameSamples     // more than this is dropped at Read
	playbackCap    = 4 * audio.FrameSamples     // 80 ms queued for playback at most
	primeLevel     = 3 * audio.FrameSamples / 2 // queued before playing (again): a frame and a half
	watchInterval  = 100 * time.Millisecond
)

// Path is one audio path's sink and source names; "" is the server's
// default.
type Path struct {
	Sink   string
	Source string
}

// RingSource renders the ringer's audio (audio/ringer.Ringer); the ringer
// stream pulls it from PulseAudio's callback goroutine, so Fill must be
// safe to call from there. The device's SetRinger passes SetRinger on.
type RingSource interface {
	Fill(frame []int16)
	SetRinger(on bool, alertInfo string)
}

// Config configures Open.
type Config struct {
	Server string // "" for the per-user then the system-wide server
	Cookie string // auth cookie file; "" for the library's default
	// Paths names the audio paths ("handset", "speaker", "headset").
	Paths map[string]Path
	// Path is the path at open; "" means "handset", or the only path.
	Path string
	// RingerSink is the sink the ringer plays on; "" is the current path's
	// sink at connect time. Ringer nil means no ringer stream.
	RingerSink string
	Ringer     RingSource
	// Latency is the playback stream's target latency; 0 is DefaultLatency.
	Latency time.Duration
	// Linger is how long the voice streams stay open after the media loop
	// stops using the device (SetActive(false)); 0 is DefaultLinger.
	Linger time.Duration
	// StateDir holds volume.json; "" keeps volumes in memory only.
	StateDir string
	Clock    clock.Clock  // nil: clock.Real
	Logger   *slog.Logger // nil: slog.Default
}

// Device is the PulseAudio sound device. Create it with Open.
type Device struct {
	cfg     Config
	clk     clock.Clock
	log     *slog.Logger
	servers []string

	data chan struct{} // signalled when capture arrives
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the supervisor ends
	kick chan struct{} // wakes the supervisor: activity or ringing changed

	mu        sync.Mutex
	capture   *ring.Buffer
	playback  *ring.Buffer
	conn      *conn
	path      string
	volumes   map[string]int
	primed    bool      // playback holds a frame to play after an underrun
	stalled   bool      // Read paces on the clock instead of capture
	next      time.Time // next frame deadline while stalled
	lastRead  time.Time
	lastWrite time.Time
	lastData  time.Time // last capture callback
	active    bool      // the media loop uses the device (SetActive)
	idleSince time.Time // when it last stopped using it
	ringing   bool      // the ringer stream is wanted (SetRinger)
	voiceUp   bool      // the path in use has running voice streams
	latency   time.Duration
	underruns uint64
	overruns  uint64
	reconnect uint64
	opens     uint64 // voice stream sets opened, for tests and figures
	lastErr   string
	everUp    bool // connected at least once: later connections are reconnects
	closed    bool

	connectHook func() // tests: called after each connection attempt
}

// conn is one connection to the server: a corked watch stream that never
// plays (it tells the supervisor the server went away while no other
// stream is open), the voice streams while the media loop uses the
// device, and the ringer stream while the phone rings.
type conn struct {
	client *pa.Client
	watch  *pa.PlaybackStream
	paths  map[string]*streams // empty while idle
	ring   *pa.PlaybackStream  // nil unless ringing
}

// streams are one path's voice streams.
type streams struct {
	play *pa.PlaybackStream
	rec  *pa.RecordStream
}

// closed reports whether the library saw the server go (its playback
// streams' state is the one it guards with a lock).
func (c *conn) closed() bool {
	if c.watch != nil && c.watch.Closed() {
		return true
	}
	for _, st := range c.paths {
		if st.play != nil && st.play.Closed() {
			return true
		}
	}
	return c.ring != nil && c.ring.Closed()
}

// Open returns a device and starts connecting to the server. It does not
// wait for the server: a device whose server is away works silently and
// connects when the server appears. The error is for bad configuration.
func Open(cfg Config) (*Device, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Latency <= 0 {
		cfg.Latency = DefaultLatency
	}
	if cfg.Linger <= 0 {
		cfg.Linger = DefaultLinger
	}
	if len(cfg.Paths) == 0 {
		cfg.Paths = map[string]Path{"handset": {}}
	}
	if cfg.Path == "" {
		cfg.Path = "handset"
		if _, ok := cfg.Paths["handset"]; !ok {
			cfg.Path = slices.Sorted(mapKeys(cfg.Paths))[0]
		}
	}
	if _, ok := cfg.Paths[cfg.Path]; !ok {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownPath, cfg.Path, strings.Join(slices.Sorted(mapKeys(cfg.Paths)), ", "))
	}
	if cfg.Cookie != "" {
		os.Setenv("PULSE_COOKIE", cfg.Cookie)
	}
	d := &Device{
		cfg:      cfg,
		clk:      cfg.Clock,
		log:      cfg.Logger.With("device", "pulse"),
		servers:  []string{cfg.Server},
		data:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		kick:     make(chan struct{}, 1),
		capture:  ring.New(captureCap),
		playback: ring.New(playbackCap),
		path:     cfg.Path,
		volumes:  map[string]int{},
		stalled:  true,
		lastErr:  "connecting",
	}
	if cfg.Server == "" {
		d.servers = append(d.servers, SystemServer)
	}
	if err := d.loadVolumes(); err != nil {
		d.log.Warn("volume state not loaded; using defaults", "err", err)
	}
	go d.supervise()
	return d, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Read blocks until the next 20 ms of capture is available and copies it
// into frame. While the server is away (or capture stalls) it waits for
// the frame's deadline on the clock and returns silence, so the media loop
// keeps its pace.
func (d *Device) Read(frame []int16) error {
	var timer clock.Timer
	var expired chan struct{}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return device.ErrClosed
		}
		now := d.clk.Now()
		if now.Sub(d.lastRead) > IdleAfter {
			// Waking from idle: what was captured meanwhile is stale.
			d.capture.Discard(d.capture.Len() - len(frame))
		}
		d.lastRead = now
		if d.conn != nil && d.capture.Len() >= len(frame) {
			if extra := d.capture.Len() - captureBacklog; extra > 0 {
				d.capture.Discard(extra)
				d.overruns++
			}
			d.capture.Read(frame)
			d.stalled = false
			d.mu.Unlock()
			return nil
		}
		if expired == nil {
			// First pass: choose this frame's deadline.
			var deadline time.Time
			if d.stalled || d.conn == nil {
				if d.next.IsZero() || now.Sub(d.next) > device.MaxLag {
					// Restarting (first use, or after an idle spell):
					// this frame and the next are due now, so a tone
					// starts at once and a starting playback stream
					// finds its first two frames queued.
					d.next = now.Add(-2 * audio.Duration(len(frame)))
				}
				d.next = d.next.Add(audio.Duration(len(frame)))
				deadline = d.next
			} else {
				// Capture normally arrives within a frame; give it three.
				deadline = now.Add(3 * audio.Duration(len(frame)))
			}
			expired = make(chan struct{})
			ch := expired
			timer = d.clk.AfterFunc(deadline.Sub(now), func() { close(ch) })
		} else {
			select {
			case <-expired:
				if !d.stalled && d.conn != nil {
					d.stalled = true
					d.next = now
					d.underruns++
				}
				d.mu.Unlock()
				clear(frame)
				return nil
			default:
			}
		}
		d.mu.Unlock()
		select {
		case <-d.data:
		case <-expired:
		case <-d.stop:
		}
	}
}

// Write queues frame for playback; the oldest queued audio is dropped when
// more than 80 ms is waiting. It discards while the server is away.
func (d *Device) Write(frame []int16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return device.ErrClosed
	}
	d.lastWrite = d.clk.Now()
	if d.conn == nil {
		return nil
	}
	if d.playback.Write(frame) > 0 && d.voiceUp {
		d.overruns++
	}
	return nil
}

// SetActive implements device.Activator: the media loop calls it with true
// before it reads after an idle spell and with false when it goes idle.
// Going active opens the voice streams (the path in use first) unless they
// are still open; Read paces on the clock until capture flows, and Write
// queues, so the first frames play as soon as the playback stream starts.
// Going idle closes them after Config.Linger.
func (d *Device) SetActive(on bool) {
	d.mu.Lock()
	if d.active == on {
		d.mu.Unlock()
		return
	}
	d.active = on
	if !on {
		d.idleSince = d.clk.Now()
		if !d.voiceUp {
			// Used and left before any stream opened: what it wrote
			// must not play at the next use.
			d.playback.Reset()
			d.capture.Reset()
		}
	}
	d.mu.Unlock()
	d.wake()
}

// SetRinger starts the ringer's cadence (Config.Ringer's SetRinger) and
// opens the ringer stream, or stops both: the ringer plays on its own
// stream only while the phone rings. It is the daemon's Ringer. Without
// Config.Ringer it does nothing.
func (d *Device) SetRinger(on bool, alertInfo string) {
	if d.cfg.Ringer == nil {
		return
	}
	d.cfg.Ringer.SetRinger(on, alertInfo)
	d.mu.Lock()
	changed := d.ringing != on
	d.ringing = on
	d.mu.Unlock()
	if changed {
		d.wake()
	}
}

// Streams reports which streams are open: the number of voice paths with
// streams and whether the ringer's is. Idle and silent, both are zero.
func (d *Device) Streams() (voice int, ringer bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return 0, false
	}
	return len(d.conn.paths), d.conn.ring != nil
}

func (d *Device) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// fillPlayback is path's playback stream reader, on the library's
// goroutine. It always fills buf: an underrun is silence, and so is every
// path but the one in use.
func (d *Device) fillPlayback(path string, buf []int16) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if path != d.path {
		clear(buf)
		return len(buf), nil
	}
	if !d.primed && d.playback.Len() >= primeLevel {
		d.primed = true
	}
	if !d.primed {
		clear(buf)
		return len(buf), nil
	}
	n := d.playback.Read(buf)
	if n < len(buf) {
		if d.clk.Now().Sub(d.lastWrite) < IdleAfter {
			d.underruns++
		}
		if n == 0 {
			// Dry: silence, and prime again before playing.
			d.primed = false
			clear(buf)
		} else {
			// Short by a little (the server's requests follow the
			// sink's clock through the resampler): conceal by ramping
			// the last sample down. The samples not taken stay queued,
			// so the cushion recovers by itself.
			conceal(buf, n)
		}
	}
	return len(buf), nil
}

// conceal fills buf[n:] with buf[n-1] ramped linearly towards zero.
func conceal(buf []int16, n int) {
	last, span := int(buf[n-1]), len(buf)-n+1
	for i := n; i < len(buf); i++ {
		buf[i] = int16(last * (len(buf) - i) / span)
	}
}

// onCapture is path's record stream writer, on the library's goroutine;
// it keeps what the path in use captures.
func (d *Device) onCapture(path string, buf []int16) (int, error) {
	d.mu.Lock()
	if path != d.path {
		d.mu.Unlock()
		return len(buf), nil
	}
	d.lastData = d.clk.Now()
	if d.capture.Write(buf) > 0 && d.lastData.Sub(d.lastRead) < IdleAfter {
		d.overruns++
	}
	d.mu.Unlock()
	select {
	case d.data <- struct{}{}:
	default:
	}
	return len(buf), nil
}

// fillRinger is the ringer stream's reader.
func (d *Device) fillRinger(buf []int16) (int, error) {
	d.cfg.Ringer.Fill(buf)
	return len(buf), nil
}

// Path returns the audio path in use.
func (d *Device) Path() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.path
}

// SetPath switches to the named path. Every path's streams run all the
// time (silent when not in use), so switching only changes where the next
// samples go and come from: no stream starts, no sink wakes up, no gap.
// The old path plays out what its server buffer holds.
func (d *Device) SetPath(name string) error {
	p, ok := d.cfg.Paths[name]
	if !ok {
		return fmt.Errorf("%w %q (have %s)", ErrUnknownPath, name, strings.Join(d.Paths(), ", "))
	}
	d.mu.Lock()
	changed := d.path != name
	d.path = name
	d.mu.Unlock()
	if changed {
		d.log.Info("audio path", "path", name, "sink", p.Sink, "source", p.Source)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Volume returns a path's volume in percent.
func (d *Device) Volume(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.volumeLocked(path)
}

func (d *Device) volumeLocked(path string) int {
	if v, ok := d.volumes[path]; ok {
		return v
	}
	return DefaultVolume
}

// SetVolume sets a path's playback volume (0 to MaxVolume percent),
// applies it at once when the path is in use, and persists it.
func (d *Device) SetVolume(path string, percent int) error {
	if _, ok := d.cfg.Paths[path]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownPath, path)
	}
	if percent < 0 || percent > MaxVolume {
		return fmt.Errorf("%w: %d%%, want 0 to %d", ErrVolume, percent, MaxVolume)
	}
	d.mu.Lock()
	d.volumes[path] = percent
	var play *pa.PlaybackStream
	if d.conn != nil && d.conn.paths[path] != nil {
		play = d.conn.paths[path].play
	}
	err := d.saveVolumesLocked()
	d.mu.Unlock()
	if play != nil {
		if verr := setVolume(play, percent); verr != nil && !play.Closed() {
			err = errors.Join(err, verr)
		}
	}
	return err
}

// setVolume sets a playback stream's volume in percent of PA_VOLUME_NORM.
func setVolume(p *pa.PlaybackStream, percent int) error {
	v := proto.Volume(uint64(percent) * 0x10000 / 100)
	return p.SetVolume(proto.ChannelVolumes{v})
}

// Status reports the device for the status API.
func (d *Device) Status() device.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := device.Status{
		Device:     "pulse",
		Connected:  d.conn != nil,
		Path:       d.path,
		Volume:     d.volumeLocked(d.path),
		Underruns:  d.underruns,
		Overruns:   d.overruns,
		Reconnects: d.reconnect,
	}
	if d.conn != nil {
		st.LatencyMS = float64(d.latency.Microseconds()) / 1000
	} else {
		st.Error = d.lastErr
	}
	return st
}

// Close stops the supervisor and disconnects. Read and Write then fail
// with device.ErrClosed.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	close(d.stop)
	<-d.done
	return nil
}

// supervise connects, opens and closes streams as the device is used,
// watches the connection and rebuilds it, until Close. Idle (no stream
// but the corked watch stream) it wakes once per IdlePoll.
func (d *Device) supervise() {
	defer close(d.done)
	failures := 0
	var sinceLatency time.Duration
	for {
		d.mu.Lock()
		c := d.conn
		d.mu.Unlock()
		wait := watchInterval
		if c == nil {
			c, err := d.connect()
			if d.connectHook != nil {
				d.connectHook()
			}
			if err != nil {
				if failures == 0 {
					d.log.Warn("PulseAudio server not reachable; audio is silent until it is", "err", err)
				}
				failures++
				d.mu.Lock()
				d.lastErr = err.Error()
				d.mu.Unlock()
				wait = RetryInterval
			} else {
				d.mu.Lock()
				if d.closed {
					d.mu.Unlock()
					d.teardown(c, false)
					return
				}
				if d.everUp {
					d.reconnect++
				}
				d.everUp = true
				d.conn, d.lastErr = c, ""
				d.playback.Reset()
				d.capture.Reset()
				d.primed = false
				d.mu.Unlock()
				d.log.Info("PulseAudio connected", "path", d.Path(), "after_failures", failures)
				failures = 0
				continue // open what is wanted at once
			}
		} else if reason := d.lost(c); reason != "" {
			d.log.Error("PulseAudio connection lost; rebuilding", "reason", reason)
			d.mu.Lock()
			d.conn = nil
			d.voiceUp = false
			d.stalled = true
			d.lastErr = reason
			d.mu.Unlock()
			d.teardown(c, c.closed())
			continue // try at once
		} else {
			var err error
			if wait, err = d.reconcile(c); err != nil {
				d.log.Error("PulseAudio streams failed; rebuilding the connection", "err", err)
				d.mu.Lock()
				d.conn = nil
				d.voiceUp = false
				d.stalled = true
				d.lastErr = err.Error()
				d.mu.Unlock()
				d.teardown(c, c.closed())
				continue
			}
			if len(c.paths) > 0 {
				if sinceLatency += wait; sinceLatency >= time.Second {
					sinceLatency = 0
					if l, err := d.measure(c); err == nil {
						d.mu.Lock()
						d.latency = l
						d.mu.Unlock()
					}
				}
			} else {
				sinceLatency = time.Second // measure as soon as voice opens
			}
		}
		if !d.sleep(wait) {
			d.mu.Lock()
			c := d.conn
			d.conn = nil
			d.voiceUp = false
			d.mu.Unlock()
			if c != nil {
				d.teardown(c, c.closed())
			}
			return
		}
	}
}

// reconcile opens and closes c's voice and ringer streams as the device's
// use asks, and returns how long the supervisor may sleep: watchInterval
// while a stream runs, until the linger ends while voice lingers, and
// IdlePoll with nothing open.
func (d *Device) reconcile(c *conn) (time.Duration, error) {
	d.mu.Lock()
	now := d.clk.Now()
	lingerLeft := d.cfg.Linger - now.Sub(d.idleSince)
	wantVoice := d.active || (len(c.paths) > 0 && lingerLeft > 0)
	wantRing := d.ringing
	d.mu.Unlock()
	switch {
	case wantVoice && len(c.paths) == 0:
		if err := d.openVoice(c); err != nil {
			return 0, err
		}
	case !wantVoice && len(c.paths) > 0:
		d.closeVoice(c)
		d.log.Debug("voice streams closed: idle")
	}
	switch {
	case wantRing && c.ring == nil:
		if err := d.openRinger(c); err != nil {
			return 0, err
		}
	case !wantRing && c.ring != nil:
		r := c.ring
		d.mu.Lock()
		c.ring = nil
		d.mu.Unlock()
		closePlayback(r)
	}
	switch {
	case c.ring != nil || (len(c.paths) > 0 && d.isActive()):
		return watchInterval, nil
	case len(c.paths) > 0:
		return min(max(lingerLeft, time.Millisecond), watchInterval), nil
	default:
		return IdlePoll, nil
	}
}

func (d *Device) isActive() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active
}

// Connected reports whether the device has a server.
func (d *Device) Connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn != nil
}

// lost returns why c is no longer usable, or "".
func (d *Device) lost(c *conn) string {
	if c.closed() {
		return "server closed the connection"
	}
	d.mu.Lock()
	quiet := d.clk.Now().Sub(d.lastData)
	voice := d.voiceUp
	d.mu.Unlock()
	if voice && quiet > StallTimeout {
		return fmt.Sprintf("no capture for %v", quiet.Round(time.Millisecond))
	}
	return ""
}

// sleep waits on the clock until wait passes or SetActive or SetRinger wakes
// the device; false when the device closes first.
func (d *Device) sleep(wait time.Duration) bool {
	ch := make(chan struct{})
	t := d.clk.AfterFunc(wait, func() { close(ch) })
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-d.kick:
		return true
	case <-d.stop:
		return false
	}
}

// connect opens a client and its watch stream.
func (d *Device) connect() (*conn, error) {
	var client *pa.Client
	var errs []error
	for _, s := range d.servers {
		c, err := pa.NewClient(pa.ClientServerString(s), pa.ClientApplicationName("phoned"), pa.ClientTimeout(2*time.Second))
		if err == nil {
			client = c
			break
		}
		name := s
		if name == "" {
			name = "per-user server"
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if client == nil {
		return nil, errors.Join(errs...)
	}
	c := &conn{client: client, paths: map[string]*streams{}}
	// The watch stream is created corked and never started: it costs the
	// server nothing and lets no sink wake, but the library marks it
	// closed when the connection ends, which is how an idle device learns
	// that its server went away. Its reader is never called.
	var err error
	c.watch, err = client.NewPlayback(pa.Int16Reader(func(b []int16) (int, error) { clear(b); return len(b), nil }),
		pa.PlaybackMono, pa.PlaybackSampleRate(audio.SampleRate), pa.PlaybackLatency(d.cfg.Latency.Seconds()),
		pa.PlaybackMediaName("phoned watch"), ownSyncGroup())
	if err != nil {
		d.teardown(c, false)
		return nil, fmt.Errorf("watch stream: %w", err)
	}
	return c, nil
}

// openVoice opens and starts the voice streams of every path, the path in
// use first so its audio flows as soon as possible. The device's buffers
// start empty and Read paces on the clock until capture arrives.
func (d *Device) openVoice(c *conn) error {
	d.mu.Lock()
	vols := maps.Clone(d.volumes)
	cur := d.path
	// The buffers were emptied when the streams last closed (closeVoice)
	// or the connection was made: what the media loop wrote since is the
	// start of its audio, kept for the starting playback stream.
	d.stalled = true
	d.lastData = d.clk.Now()
	d.opens++
	d.mu.Unlock()
	order := append([]string{cur}, slices.DeleteFunc(d.Paths(), func(p string) bool { return p == cur })...)
	for _, name := range order {
		st, err := d.openPath(c, name, vols)
		if err != nil {
			d.closeVoice(c)
			return err
		}
		if name == cur {
			d.mu.Lock()
			d.voiceUp = true
			d.mu.Unlock()
		}
		if err := startWithin(func() { st.rec.Start(); st.play.Start() }); err != nil {
			closePlayback(st.play)
			d.closeVoice(c)
			return fmt.Errorf("%s streams: %w", name, err)
		}
		d.mu.Lock()
		c.paths[name] = st
		d.mu.Unlock()
	}
	return nil
}

// openPath creates one path's playback and record streams (not started).
func (d *Device) openPath(c *conn, name string, vols map[string]int) (*streams, error) {
	p := d.cfg.Paths[name]
	playOpts := []pa.PlaybackOption{pa.PlaybackMono, pa.PlaybackSampleRate(audio.SampleRate), // rate before latency
		pa.PlaybackLatency(d.cfg.Latency.Seconds()), pa.PlaybackMediaName("phoned " + name), ownSyncGroup()}
	if p.Sink != "" {
		sink, err := c.client.SinkByID(p.Sink)
		if err != nil {
			return nil, fmt.Errorf("%s sink %q: %w", name, p.Sink, err)
		}
		playOpts = append(playOpts, pa.PlaybackSink(sink))
	}
	recOpts := []pa.RecordOption{pa.RecordMono, pa.RecordSampleRate(audio.SampleRate),
		pa.RecordLatency(audio.FrameDuration.Seconds()), pa.RecordMediaName("phoned " + name)}
	if p.Source != "" {
		src, err := c.client.SourceByID(p.Source)
		if err != nil {
			return nil, fmt.Errorf("%s source %q: %w", name, p.Source, err)
		}
		recOpts = append(recOpts, pa.RecordSource(src))
	}
	st := &streams{}
	var err error
	fill := startGate(func(b []int16) (int, error) { return d.fillPlayback(name, b) })
	if st.play, err = c.client.NewPlayback(pa.Int16Reader(fill), playOpts...); err != nil {
		return nil, fmt.Errorf("%s playback stream: %w", name, err)
	}
	if st.rec, err = c.client.NewRecord(pa.Int16Writer(func(b []int16) (int, error) { return d.onCapture(name, b) }), recOpts...); err != nil {
		closePlayback(st.play)
		return nil, fmt.Errorf("%s record stream: %w", name, err)
	}
	vol, ok := vols[name]
	if !ok {
		vol = DefaultVolume
	}
	if err := setVolume(st.play, vol); err != nil {
		closePlayback(st.play)
		st.rec.Close()
		return nil, fmt.Errorf("%s volume: %w", name, err)
	}
	return st, nil
}

// closeVoice closes every voice stream of c: no sink or source is kept
// awake by the phone.
func (d *Device) closeVoice(c *conn) {
	d.mu.Lock()
	paths := c.paths
	c.paths = map[string]*streams{}
	d.voiceUp = false
	d.stalled = true
	d.playback.Reset()
	d.capture.Reset()
	d.primed = false
	d.mu.Unlock()
	for _, st := range paths {
		if !st.play.Closed() { // else the server is gone and so is rec
			st.rec.Close()
		}
		closePlayback(st.play)
	}
}

// openRinger creates and starts the ringer stream on the ringer sink (or
// the path in use's).
func (d *Device) openRinger(c *conn) error {
	ringOpts := []pa.PlaybackOption{pa.PlaybackMono, pa.PlaybackSampleRate(audio.SampleRate),
		pa.PlaybackLatency(0.1), pa.PlaybackMediaName("phoned ringer"), ownSyncGroup()}
	if name := cmpOr(d.cfg.RingerSink, d.cfg.Paths[d.Path()].Sink); name != "" {
		sink, err := c.client.SinkByID(name)
		if err != nil {
			return fmt.Errorf("ringer sink %q: %w", name, err)
		}
		ringOpts = append(ringOpts, pa.PlaybackSink(sink))
	}
	r, err := c.client.NewPlayback(pa.Int16Reader(startGate(d.fillRinger)), ringOpts...)
	if err != nil {
		return fmt.Errorf("ringer stream: %w", err)
	}
	d.mu.Lock()
	c.ring = r
	d.mu.Unlock()
	if err := startWithin(r.Start); err != nil {
		return fmt.Errorf("ringer stream: %w", err)
	}
	return nil
}

// startWithin runs a stream's Start, which can block for a second, or for
// ever if the server dies meanwhile, and gives up after 5 s.
func startWithin(start func()) error {
	started := make(chan struct{})
	go func() {
		start()
		close(started)
	}()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-started:
		return nil
	case <-t.C:
		return errors.New("streams did not start within 5s")
	}
}

// closePlayback closes a playback stream the library has not closed.
func closePlayback(p *pa.PlaybackStream) {
	if p != nil && !p.Closed() {
		p.Close()
	}
}

// syncGroups numbers the playback streams' sync groups.
var syncGroups atomic.Uint32

// ownSyncGroup puts a playback stream in a sync group of its own. The
// library leaves every stream of a client in group 0, and the server
// refuses ("invalid argument") a second stream of one group on another
// sink.
func ownSyncGroup() pa.PlaybackOption {
	id := syncGroups.Add(1)
	return pa.PlaybackRawOption(func(r *proto.CreatePlaybackStream) { r.SyncID = id })
}

// startGate works around a stall in the library's PlaybackStream.Start:
// Start uncorks the stream and waits for the reply, but the server's
// STARTED message, sent as soon as the first fill reaches the prebuffer,
// blocks the library's read loop until Start is ready for it, so the
// uncork reply waits for the request timeout. Delaying the first fill by
// startDelay lets the uncork reply through first.
func startGate(fill func([]int16) (int, error)) func([]int16) (int, error) {
	var once sync.Once
	return func(b []int16) (int, error) {
		once.Do(func() { time.Sleep(startDelay) })
		return fill(b)
	}
}

// startDelay is startGate's wait: far above a local round trip (0.1 to
// 0.3 ms here), and short, since the first dial-tone frame waits for it.
const startDelay = 10 * time.Millisecond

// teardown disconnects c. serverGone says the library already saw the
// connection end (it has closed the streams itself).
func (d *Device) teardown(c *conn, serverGone bool) {
	defer func() {
		// The library closes a stream's channel both in Close and when it
		// sees the server go; should the two meet, do not take the phone
		// down with it.
		if r := recover(); r != nil {
			d.log.Warn("PulseAudio teardown", "recovered", fmt.Sprint(r))
		}
		c.client.Close()
	}()
	if serverGone {
		return
	}
	for _, st := range c.paths {
		if st.play != nil && !st.play.Closed() {
			st.play.Close()
		}
		if st.rec != nil {
			st.rec.Close()
		}
	}
	closePlayback(c.ring)
	closePlayback(c.watch)
}

// measure asks the server for both streams' latency: the sink's and the
// source's own latency plus what is buffered on the server, plus what
// waits in our ring buffers.
func (d *Device) measure(c *conn) (time.Duration, error) {
	st := c.paths[d.Path()]
	if st == nil {
		return 0, errors.New("no voice streams")
	}
	var pl proto.GetPlaybackLatencyReply
	if err := c.client.RawRequest(&proto.GetPlaybackLatency{StreamIndex: st.play.StreamIndex(), Time: now()}, &pl); err != nil {
		return 0, err
	}
	var rl proto.GetRecordLatencyReply
	if err := c.client.RawRequest(&proto.GetRecordLatency{StreamIndex: st.rec.StreamIndex(), Time: now()}, &rl); err != nil {
		return 0, err
	}
	bytesPerSec := int64(2 * audio.SampleRate)
	buffered := max(pl.WriteIndex-pl.ReadIndex, 0) + max(rl.WriteIndex-rl.ReadIndex, 0)
	l := time.Duration(pl.Latency+rl.Latency+rl.MonitorLatency)*time.Microsecond +
		time.Duration(buffered)*time.Second/time.Duration(bytesPerSec)
	d.mu.Lock()
	l += audio.Duration(d.playback.Len() + d.capture.Len())
	d.mu.Unlock()
	return l, nil
}

func now() proto.Time {
	t := time.Now()
	return proto.Time{Seconds: uint32(t.Unix()), Microseconds: uint32(t.Nanosecond() / 1000)}
}

// Paths returns the configured path names, sorted.
func (d *Device) Paths() []string {
	p := slices.Collect(mapKeys(d.cfg.Paths))
	sort.Strings(p)
	return p
}
