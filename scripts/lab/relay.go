package lab

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

// The kernel here has no netem qdisc, so a test impairs a media path by
// sending it through a Relay: two UDP sockets on 127.0.0.1, side A facing
// one phone and side B the other. A datagram that arrives on side A leaves
// from side B (direction AtoB) and the other way round, after the
// impairments of its direction, decided by a random source seeded from
// RelayConfig.Seed so that a failing run can be replayed.
//
// Contract:
//
//   - Each direction draws a fixed number of random values per datagram,
//     so which datagrams are lost, duplicated or held back depends only on
//     the seed and the datagram's index in its direction, not on timing.
//   - Delivery is done by one scheduler goroutine from a min-heap of due
//     times (ties in arrival order); one reader goroutine per socket. No
//     goroutine or timer per datagram. The queue is bounded (MaxQueue).
//   - Close (also run by the test's Cleanup) stops the goroutines and
//     waits for them; datagrams still queued are discarded.

// Side names one of a relay's two sockets.
type Side int

const (
	// SideA faces phone A: what arrives here goes out of side B.
	SideA Side = iota
	// SideB faces phone B: what arrives here goes out of side A.
	SideB
)

func (s Side) String() string {
	if s == SideA {
		return "A"
	}
	return "B"
}

func (s Side) other() Side { return 1 - s }

// JitterDist is the distribution of the per-datagram extra delay.
type JitterDist int

const (
	// JitterUniform: uniform in [0, Jitter].
	JitterUniform JitterDist = iota
	// JitterExponential: exponential with mean Jitter/2 (the mean of the
	// uniform one), capped at 4×Jitter: mostly small, a long tail of spikes.
	JitterExponential
)

// GilbertElliott is a two-state loss model (Gilbert-Elliott): the channel
// is Good or Bad, each with its own loss probability, and moves between
// them with the given probabilities once per datagram.
type GilbertElliott struct {
	PGoodToBad, PBadToGood float64
	LossGood, LossBad      float64
}

// Rate is the long-run loss probability of the model.
func (g GilbertElliott) Rate() float64 {
	if g.PGoodToBad+g.PBadToGood == 0 {
		return g.LossGood
	}
	bad := g.PGoodToBad / (g.PGoodToBad + g.PBadToGood)
	return (1-bad)*g.LossGood + bad*g.LossBad
}

// Impairment is what one direction of a relay does to its datagrams.
type Impairment struct {
	// Delay is added to every datagram.
	Delay time.Duration
	// Jitter is the scale of a random extra delay per datagram (see
	// JitterDist). Datagrams overtake each other when it exceeds their
	// spacing, as on a real network path with several routes.
	Jitter     time.Duration
	JitterDist JitterDist
	// Loss is the probability that a datagram is dropped. With LossBurst
	// > 1 losses come in bursts of that mean length (a simple Gilbert
	// model: the Bad state loses everything) with the same overall rate.
	Loss      float64
	LossBurst float64
	// GE, when set, is the loss model instead of Loss and LossBurst.
	GE *GilbertElliott
	// Duplicate is the probability that a datagram is delivered twice;
	// the copy follows the original within max(Jitter, 1 ms).
	Duplicate float64
	// Reorder is the probability that a datagram is held back and
	// delivered right after the next one of its direction (or after
	// ReorderHold, default 200 ms, when no next one comes).
	Reorder     float64
	ReorderHold time.Duration
}

func (im Impairment) String() string {
	return fmt.Sprintf("delay %v, jitter %v, loss %.3g (burst %.3g), dup %.3g, reorder %.3g",
		im.Delay, im.Jitter, im.lossModel().Rate(), im.LossBurst, im.Duplicate, im.Reorder)
}

// lossModel turns Loss and LossBurst into a Gilbert-Elliott model.
func (im Impairment) lossModel() GilbertElliott {
	if im.GE != nil {
		return *im.GE
	}
	if im.LossBurst <= 1 || im.Loss <= 0 || im.Loss >= 1 {
		return GilbertElliott{LossGood: im.Loss, LossBad: im.Loss}
	}
	r := 1 / im.LossBurst
	return GilbertElliott{PGoodToBad: im.Loss * r / (1 - im.Loss), PBadToGood: r, LossGood: 0, LossBad: 1}
}

func (im Impairment) validate() error {
	for name, p := range map[string]float64{"Loss": im.Loss, "Duplicate": im.Duplicate, "Reorder": im.Reorder} {
		if p < 0 || p > 1 || math.IsNaN(p) {
			return fmt.Errorf("lab: %w: relay %s %v, want a probability", ErrOption, name, p)
		}
	}
	if g := im.GE; g != nil {
		for _, p := range []float64{g.PGoodToBad, g.PBadToGood, g.LossGood, g.LossBad} {
			if p < 0 || p > 1 || math.IsNaN(p) {
				return fmt.Errorf("lab: %w: relay Gilbert-Elliott %+v, want probabilities", ErrOption, *g)
			}
		}
	}
	if im.Delay < 0 || im.Jitter < 0 || im.ReorderHold < 0 {
		return fmt.Errorf("lab: %w: relay negative delay, jitter or hold", ErrOption)
	}
	return nil
}

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Seed of the random sources (one per direction, derived from it).
	Seed uint64
	// AtoB applies to datagrams from phone A to phone B, BtoA to the
	// others.
	AtoB, BtoA Impairment
	// PeerA is where datagrams leaving side A go (phone A's socket), PeerB
	// the same for side B. Zero: the last source seen on that side
	// (latching); until one is seen, datagrams are dropped (NoPeer).
	// SetPeer changes them later.
	PeerA, PeerB netip.AddrPort
	// AddrA and AddrB are where the sides listen; zero: 127.0.0.1 on a
	// port of the kernel's choosing.
	AddrA, AddrB netip.AddrPort
	// MaxQueue bounds the datagrams waiting for delivery (default 4096);
	// beyond it they are dropped and counted as Overflow.
	MaxQueue int
	// Name is used in messages (default "relay").
	Name string
}

// DirStats are one direction's counters.
type DirStats struct {
	In         uint64 // datagrams received
	Out        uint64 // datagrams sent, copies included
	Dropped    uint64 // lost on purpose (the loss model)
	Duplicated uint64 // extra copies scheduled
	Held       uint64 // held back on purpose (Reorder)
	Reordered  uint64 // sent after a datagram that arrived later (held or overtaken by jitter)
	Overflow   uint64 // dropped because the queue was full
	NoPeer     uint64 // dropped because no destination was known yet
	Cut        uint64 // dropped because the path was cut (Relay.Cut)
	SendErrors uint64 // the socket refused to send
	// Pending is how many are scheduled and not yet sent or dropped now
	// (a datagram held back for reordering is not included).
	Pending uint64
	// DelaySum and DelayMax are over the delays scheduled for delivered
	// originals (fixed delay plus jitter; holding not included).
	DelaySum, DelayMax time.Duration
}

// MeanDelay is the mean scheduled delay of the direction's originals.
func (s DirStats) MeanDelay() time.Duration {
	n := s.In - s.Dropped - s.Overflow
	if n == 0 {
		return 0
	}
	return s.DelaySum / time.Duration(n)
}

func (s DirStats) String() string {
	return fmt.Sprintf("in %d out %d dropped %d duplicated %d held %d reordered %d overflow %d nopeer %d cut %d, mean delay %v",
		s.In, s.Out, s.Dropped, s.Duplicated, s.Held, s.Reordered, s.Overflow, s.NoPeer, s.Cut, s.MeanDelay().Round(10*time.Microsecond))
}

// RelayStats are the counters of both directions.
type RelayStats struct {
	AtoB, BtoA DirStats
}

// Relay is an impairing UDP relay between two sockets; see RelayConfig.
type Relay struct {
	name  string
	conns [2]*net.UDPConn
	addrs [2]netip.AddrPort
	max   int

	mu    sync.Mutex
	peers [2]netip.AddrPort // configured destination per side
	last  [2]netip.AddrPort // last source seen per side
	dirs  [2]*direction     // index: the side the datagrams arrive on
	queue itemHeap
	seq   uint64
	cut   bool // every datagram dropped (a network outage), see Cut

	wake      chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type direction struct {
	im       impairer
	stats    DirStats
	next     uint64 // index of the next datagram to arrive
	sentMax  uint64 // 1 + highest index sent; 0: none yet
	held     *item
	heldTill time.Time
}

// impairer makes the per-datagram decisions of one direction. It draws
// exactly six values per datagram, whatever the configuration.
type impairer struct {
	cfg  Impairment
	loss GilbertElliott
	rng  *rand.Rand
	bad  bool
}

type decision struct {
	drop     bool
	delay    time.Duration
	dup      bool
	dupDelay time.Duration
	hold     bool
}

func newImpairer(cfg Impairment, seed, stream uint64) impairer {
	return impairer{cfg: cfg, loss: cfg.lossModel(), rng: rand.New(rand.NewPCG(seed, stream))}
}

func (m *impairer) next() decision {
	uLoss, uState := m.rng.Float64(), m.rng.Float64()
	uJitter, uDup, uDupDelay, uHold := m.rng.Float64(), m.rng.Float64(), m.rng.Float64(), m.rng.Float64()
	var d decision
	p := m.loss.LossGood
	if m.bad {
		p = m.loss.LossBad
	}
	d.drop = uLoss < p
	if m.bad {
		m.bad = uState >= m.loss.PBadToGood
	} else {
		m.bad = uState < m.loss.PGoodToBad
	}
	if d.drop {
		return d
	}
	d.delay = m.cfg.Delay
	if j := float64(m.cfg.Jitter); j > 0 {
		switch m.cfg.JitterDist {
		case JitterExponential:
			d.delay += time.Duration(math.Min(-math.Log1p(-uJitter)*j/2, 4*j))
		default:
			d.delay += time.Duration(uJitter * j)
		}
	}
	if uDup < m.cfg.Duplicate {
		d.dup = true
		d.dupDelay = d.delay + time.Duration(uDupDelay*float64(max(m.cfg.Jitter, time.Millisecond)))
	}
	d.hold = uHold < m.cfg.Reorder
	return d
}

type item struct {
	due   time.Time
	seq   uint64 // tie-break: scheduling order
	from  Side   // the side it arrived on
	index uint64 // its index in its direction
	data  []byte
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

// StartRelay starts a relay for the test and closes it in t.Cleanup; when
// the test failed, Cleanup logs its counters.
func StartRelay(t testing.TB, cfg RelayConfig) *Relay {
	t.Helper()
	tier.Component(t, "a UDP relay on loopback, in real time")
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cleanupRelay(t, r)
	return r
}

func cleanupRelay(t testing.TB, r *Relay) {
	t.Cleanup(func() {
		r.Close()
		if t.Failed() {
			st := r.Stats()
			t.Logf("lab: %s A=%s B=%s\n  A→B: %v\n  B→A: %v", r.name, r.addrs[SideA], r.addrs[SideB], st.AtoB, st.BtoA)
		}
	})
}

// NewRelay binds both sides and starts relaying; Close stops it.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	var conns [2]*net.UDPConn
	for i, a := range []netip.AddrPort{cfg.AddrA, cfg.AddrB} {
		if !a.IsValid() {
			a = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
		}
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
		if err != nil {
			if i == 1 {
				conns[0].Close()
			}
			return nil, fmt.Errorf("lab: relay side %s: %w: %w", Side(i), ErrStart, err)
		}
		conns[i] = c
	}
	r, err := newRelay(cfg, conns)
	if err != nil {
		conns[0].Close()
		conns[1].Close()
	}
	return r, err
}

// newRelay starts a relay on two bound sockets, which it then owns.
func newRelay(cfg RelayConfig, conns [2]*net.UDPConn) (*Relay, error) {
	if err := cfg.AtoB.validate(); err != nil {
		return nil, err
	}
	if err := cfg.BtoA.validate(); err != nil {
		return nil, err
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 4096
	}
	if cfg.Name == "" {
		cfg.Name = "relay"
	}
	r := &Relay{
		name:  cfg.Name,
		conns: conns,
		max:   cfg.MaxQueue,
		peers: [2]netip.AddrPort{cfg.PeerA, cfg.PeerB},
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	for i, c := range conns {
		r.addrs[i] = c.LocalAddr().(*net.UDPAddr).AddrPort()
		_ = c.SetReadBuffer(1 << 20) // bursts of a test's sender; best effort
	}
	// Independent streams per direction: the decisions of one do not
	// depend on how many datagrams the other carried.
	r.dirs[SideA] = &direction{im: newImpairer(cfg.AtoB, cfg.Seed, 0xA2B)}
	r.dirs[SideB] = &direction{im: newImpairer(cfg.BtoA, cfg.Seed, 0xB2A)}
	r.wg.Add(3)
	go r.read(SideA)
	go r.read(SideB)
	go r.schedule()
	return r, nil
}

// Addr is where side s listens: the address to give the phone facing it.
func (r *Relay) Addr(s Side) netip.AddrPort { return r.addrs[s] }

// SetPeer sets where datagrams leaving side s go (the phone facing s);
// the zero AddrPort returns to latching.
func (r *Relay) SetPeer(s Side, addr netip.AddrPort) {
	r.mu.Lock()
	r.peers[s] = addr
	r.mu.Unlock()
}

// Peer returns where datagrams leaving side s go now (configured, else
// latched), or the zero AddrPort.
func (r *Relay) Peer(s Side) netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peer(s)
}

func (r *Relay) peer(s Side) netip.AddrPort {
	if r.peers[s].IsValid() {
		return r.peers[s]
	}
	return r.last[s]
}

// Cut cuts the path (on) or restores it (off): while cut, every datagram
// that arrives on either side is dropped (counted as Cut, the loss model
// not consulted: they take no index and draw no random values, so the
// decisions after the outage are those the seed gives the next indexes)
// and those already queued are still delivered. A network outage between
// the two phones.
func (r *Relay) Cut(on bool) {
	r.mu.Lock()
	r.cut = on
	r.mu.Unlock()
}

// Stats returns the counters so far.
func (r *Relay) Stats() RelayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RelayStats{AtoB: r.dirs[SideA].stats, BtoA: r.dirs[SideB].stats}
}

// Close stops the relay and waits for its goroutines. Idempotent.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		close(r.done)
		r.conns[0].Close()
		r.conns[1].Close()
	})
	r.wg.Wait()
	return nil
}

// read receives on side s and schedules what the impairments let through.
func (r *Relay) read(s Side) {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conns[s].ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.done:
				return
			default:
				continue // e.g. a transient error on an unconnected socket
			}
		}
		now := time.Now()
		data := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.last[s] = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		r.admit(s, now, data)
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// admit decides the fate of one datagram that arrived on side s; r.mu held.
func (r *Relay) admit(s Side, now time.Time, data []byte) {
	d := r.dirs[s]
	d.stats.In++
	if r.cut {
		d.stats.Cut++
		return
	}
	index := d.next
	d.next++
	dec := d.im.next()
	if dec.drop {
		d.stats.Dropped++
		return
	}
	if len(r.queue) >= r.max {
		d.stats.Overflow++
		return
	}
	it := &item{due: now.Add(dec.delay), from: s, index: index, data: data}
	d.stats.DelaySum += dec.delay
	d.stats.DelayMax = max(d.stats.DelayMax, dec.delay)
	switch {
	case d.held != nil:
		// The held datagram goes right after this one.
		r.push(it)
		h := d.held
		d.held = nil
		if h.due.Before(it.due) {
			h.due = it.due
		}
		r.push(h)
	case dec.hold:
		d.stats.Held++
		d.held = it
		hold := d.im.cfg.ReorderHold
		if hold == 0 {
			hold = 200 * time.Millisecond
		}
		d.heldTill = it.due.Add(hold)
	default:
		r.push(it)
	}
	if dec.dup && len(r.queue) < r.max {
		d.stats.Duplicated++
		r.push(&item{due: now.Add(dec.dupDelay), from: s, index: index, data: data})
	}
}

func (r *Relay) push(it *item) {
	r.dirs[it.from].stats.Pending++
	r.seq++
	it.seq = r.seq
	heap.Push(&r.queue, it)
}

// schedule delivers datagrams when they are due.
func (r *Relay) schedule() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	type send struct {
		conn *net.UDPConn
		to   netip.AddrPort
		data []byte
		dir  *direction
		ok   bool
	}
	var out []send
	var due []*item
	for {
		out, due = out[:0], due[:0]
		r.mu.Lock()
		now := time.Now()
		for len(r.queue) > 0 && !r.queue[0].due.After(now) {
			due = append(due, heap.Pop(&r.queue).(*item))
		}
		var next time.Time
		if len(r.queue) > 0 {
			next = r.queue[0].due
		}
		for _, d := range r.dirs {
			if d.held == nil {
				continue
			}
			if !d.heldTill.After(now) {
				due = append(due, d.held) // no next datagram came: let it go
				d.stats.Pending++
				d.held = nil
				continue
			}
			if next.IsZero() || d.heldTill.Before(next) {
				next = d.heldTill
			}
		}
		for _, it := range due {
			d := r.dirs[it.from]
			to := r.peer(it.from.other())
			if !to.IsValid() {
				d.stats.NoPeer++
				d.stats.Pending--
				continue
			}
			if it.index+1 < d.sentMax {
				d.stats.Reordered++
			}
			d.sentMax = max(d.sentMax, it.index+1)
			out = append(out, send{conn: r.conns[it.from.other()], to: to, data: it.data, dir: d})
		}
		r.mu.Unlock()

		for i := range out {
			_, err := out[i].conn.WriteToUDPAddrPort(out[i].data, out[i].to)
			out[i].ok = err == nil
		}
		if len(out) > 0 {
			r.mu.Lock()
			for _, s := range out {
				s.dir.stats.Pending--
				if s.ok {
					s.dir.stats.Out++
				} else {
					s.dir.stats.SendErrors++
				}
			}
			r.mu.Unlock()
		}

		if next.IsZero() {
			select {
			case <-r.wake:
			case <-r.done:
				return
			}
			continue
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-r.wake:
		case <-r.done:
			return
		}
	}
}

// MediaRelay relays one RTP stream and its RTCP: two relays whose sockets
// are at adjacent ports on each side (RTP at an even port P, RTCP at P+1,
// RFC 3550 §11), so a peer that sends RTCP to the RTP port + 1 reaches the
// RTCP relay.
type MediaRelay struct {
	RTP, RTCP *Relay
}

// mediaPortLow/High: where media relays listen. Above the media ports the
// lab gives baresip and SIPp, below the kernel's usual ephemeral ports'
// busy end; the sockets are bound directly (no probe), so a taken port
// only costs a retry.
const (
	mediaPortLow  = 45000
	mediaPortHigh = 49998
)

// StartMediaRelay starts an RTP relay with rtp's impairments and an RTCP
// relay with rtcp's, side A's RTCP socket at side A's RTP port + 1, and
// the same on side B; the Addr fields of the configs are ignored. Both are
// closed in t.Cleanup.
func StartMediaRelay(t testing.TB, rtp, rtcp RelayConfig) *MediaRelay {
	t.Helper()
	tier.Component(t, "a UDP relay on loopback, in real time")
	var pairs [2][2]*net.UDPConn // [side][rtp, rtcp]
	for s := range pairs {
		p, err := listenPair()
		if err != nil {
			for _, q := range pairs[:s] {
				q[0].Close()
				q[1].Close()
			}
			t.Fatal(err)
		}
		pairs[s] = p
	}
	if rtp.Name == "" {
		rtp.Name = "RTP relay"
	}
	if rtcp.Name == "" {
		rtcp.Name = "RTCP relay"
	}
	r1, err := newRelay(rtp, [2]*net.UDPConn{pairs[0][0], pairs[1][0]})
	if err != nil {
		for _, p := range pairs {
			p[0].Close()
			p[1].Close()
		}
		t.Fatal(err)
	}
	r2, err := newRelay(rtcp, [2]*net.UDPConn{pairs[0][1], pairs[1][1]})
	if err != nil {
		r1.Close()
		pairs[0][1].Close()
		pairs[1][1].Close()
		t.Fatal(err)
	}
	cleanupRelay(t, r1)
	cleanupRelay(t, r2)
	return &MediaRelay{RTP: r1, RTCP: r2}
}

// listenPair binds 127.0.0.1 at an even port and the odd port above it.
func listenPair() ([2]*net.UDPConn, error) {
	ip := net.IPv4(127, 0, 0, 1)
	for try := 0; try < 100; try++ {
		p := mediaPortLow + 2*rand.IntN((mediaPortHigh-mediaPortLow)/2)
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: p})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: p + 1})
		if err != nil {
			a.Close()
			continue
		}
		return [2]*net.UDPConn{a, b}, nil
	}
	return [2]*net.UDPConn{}, fmt.Errorf("lab: %w: no free even/odd UDP port pair in %d-%d", ErrStart, mediaPortLow, mediaPortHigh+1)
}

// Local returns where the phone facing side s must send RTP and RTCP.
func (m *MediaRelay) Local(s Side) (rtp, rtcp netip.AddrPort) {
	return m.RTP.Addr(s), m.RTCP.Addr(s)
}

// SetPeer sets where the phone facing side s receives RTP and RTCP; a
// zero rtcp means the RTP port + 1.
func (m *MediaRelay) SetPeer(s Side, rtp, rtcp netip.AddrPort) {
	if !rtcp.IsValid() && rtp.IsValid() {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	m.RTP.SetPeer(s, rtp)
	m.RTCP.SetPeer(s, rtcp)
}

// Cut cuts (on) or restores (off) both the RTP and the RTCP path.
func (m *MediaRelay) Cut(on bool) {
	m.RTP.Cut(on)
	m.RTCP.Cut(on)
}

// Close closes both relays.
func (m *MediaRelay) Close() error {
	m.RTP.Close()
	m.RTCP.Close()
	return nil
}
