package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

// The decisions depend only on the seed and the datagram's index.
func TestRelayDecisionsDeterministic(t *testing.T) {
	im := Impairment{Delay: 10 * time.Millisecond, Jitter: 30 * time.Millisecond, Loss: 0.1, LossBurst: 3, Duplicate: 0.05, Reorder: 0.05}
	a, b, c := newImpairer(im, 7, 1), newImpairer(im, 7, 1), newImpairer(im, 8, 1)
	same := true
	for i := range 1000 {
		da, db, dc := a.next(), b.next(), c.next()
		if da != db {
			t.Fatalf("datagram %d: %+v vs %+v with the same seed", i, da, db)
		}
		same = same && da == dc
	}
	if same {
		t.Fatal("seeds 7 and 8 made the same 1000 decisions")
	}
	// Another configuration draws the same numbers: with the same seed,
	// adding duplication does not change which datagrams are lost.
	im2 := im
	im2.Duplicate = 0.5
	a, b = newImpairer(im, 7, 1), newImpairer(im2, 7, 1)
	for i := range 1000 {
		if da, db := a.next(), b.next(); da.drop != db.drop {
			t.Fatalf("datagram %d: duplication changed the loss decision", i)
		}
	}
}

// binomialOK: n successes of p over trials within 5 standard deviations.
func binomialOK(n, trials int, p float64) bool {
	mean := float64(trials) * p
	sd := math.Sqrt(float64(trials) * p * (1 - p))
	return math.Abs(float64(n)-mean) <= 5*sd+1
}

func TestRelayLossModels(t *testing.T) {
	const trials = 20000
	for _, c := range []struct {
		name      string
		im        Impairment
		rate      float64
		meanBurst float64 // 0: not checked
	}{
		{"bernoulli", Impairment{Loss: 0.1}, 0.1, 1 / 0.9},
		{"bursty", Impairment{Loss: 0.05, LossBurst: 4}, 0.05, 4},
		{"gilbert-elliott", Impairment{GE: &GilbertElliott{PGoodToBad: 0.01, PBadToGood: 0.3, LossGood: 0.001, LossBad: 0.6}},
			GilbertElliott{PGoodToBad: 0.01, PBadToGood: 0.3, LossGood: 0.001, LossBad: 0.6}.Rate(), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newImpairer(c.im, 42, 0)
			lost, bursts, run := 0, 0, 0
			for range trials {
				if m.next().drop {
					lost++
					if run == 0 {
						bursts++
					}
					run++
				} else {
					run = 0
				}
			}
			rate := float64(lost) / trials
			// Bursts widen the spread: allow 30 % of the rate around it.
			if math.Abs(rate-c.rate) > 0.3*c.rate {
				t.Fatalf("loss rate %.4f, want %.4f", rate, c.rate)
			}
			if c.meanBurst > 0 {
				mb := float64(lost) / float64(bursts)
				if math.Abs(mb-c.meanBurst) > 0.25*c.meanBurst {
					t.Fatalf("mean burst %.2f, want %.2f", mb, c.meanBurst)
				}
			}
			t.Logf("rate %.4f, %d bursts", rate, bursts)
		})
	}
}

func TestRelayBadConfig(t *testing.T) {
	for _, im := range []Impairment{{Loss: 1.5}, {Duplicate: -0.1}, {Delay: -time.Second}, {GE: &GilbertElliott{LossBad: 2}}, {Reorder: math.NaN()}} {
		if r, err := NewRelay(RelayConfig{AtoB: im}); err == nil {
			r.Close()
			t.Errorf("%+v accepted", im)
		}
	}
}

// endpoint is a phone's socket in these tests.
type endpoint struct {
	conn *net.UDPConn
	addr netip.AddrPort
}

func newEndpoint(t *testing.T) *endpoint {
	tier.Component(t, "the relay on loopback sockets, in real time")
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(1 << 20)
	t.Cleanup(func() { c.Close() })
	return &endpoint{conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
}

// packet: 8 bytes index, 8 bytes send time (Unix ns), padding to an RTP
// packet's size.
func (e *endpoint) send(t *testing.T, to netip.AddrPort, index int) {
	t.Helper()
	b := make([]byte, 172)
	binary.BigEndian.PutUint64(b, uint64(index))
	binary.BigEndian.PutUint64(b[8:], uint64(time.Now().UnixNano()))
	if _, err := e.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// sendN sends indexes from..from+n-1 to, spaced by gap.
func (e *endpoint) sendN(t *testing.T, to netip.AddrPort, from, n int, gap time.Duration) {
	t.Helper()
	for i := from; i < from+n; i++ {
		e.send(t, to, i)
		if gap > 0 {
			time.Sleep(gap)
		}
	}
}

// pump sends indexes 0..n-1 to, as fast as possible in windows of 20,
// each one after ready(sent) holds (the relay took the last window, the
// receiver drained it), so that no socket buffer overflows however busy
// the machine is.
func (e *endpoint) pump(t *testing.T, to netip.AddrPort, n int, ready func(sent int) bool) {
	t.Helper()
	for i := 0; i < n; i += 20 {
		w := min(20, n-i)
		e.sendN(t, to, i, w, 0)
		waitUntil(t, fmt.Sprintf("window %d-%d through", i, i+w-1), func() bool { return ready(i + w) })
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

type arrival struct {
	index   int
	latency time.Duration
	from    netip.AddrPort
}

func parseArrival(b []byte, from netip.AddrPort) (arrival, bool) {
	if len(b) < 16 {
		return arrival{}, false
	}
	sent := time.Unix(0, int64(binary.BigEndian.Uint64(b[8:])))
	return arrival{int(binary.BigEndian.Uint64(b)), time.Since(sent), from}, true
}

// receive reads datagrams until want have come or none came for quiet.
func (e *endpoint) receive(t *testing.T, want int, quiet time.Duration) []arrival {
	t.Helper()
	var got []arrival
	buf := make([]byte, 2048)
	for len(got) < want {
		_ = e.conn.SetReadDeadline(time.Now().Add(quiet))
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		a, ok := parseArrival(buf[:n], from)
		if !ok {
			t.Fatalf("short datagram of %d bytes", n)
		}
		got = append(got, a)
	}
	return got
}

// collector reads an endpoint in the background while the test sends.
type collector struct {
	mu        sync.Mutex
	got       []arrival
	bad       int
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (e *endpoint) collect(t *testing.T) *collector {
	c := &collector{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		buf := make([]byte, 2048)
		for {
			select {
			case <-c.stop:
				return
			default:
			}
			_ = e.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			n, from, err := e.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			a, ok := parseArrival(buf[:n], from)
			c.mu.Lock()
			if ok {
				c.got = append(c.got, a)
			} else {
				c.bad++
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.halt)
	return c
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func (c *collector) halt() {
	c.closeOnce.Do(func() { close(c.stop) })
	<-c.done
}

// wait stops collecting once want datagrams came or none for quiet, and
// returns them.
func (c *collector) wait(t *testing.T, want int, quiet time.Duration) []arrival {
	t.Helper()
	last, n := time.Now(), c.count()
	for n < want && time.Since(last) < quiet {
		time.Sleep(time.Millisecond)
		if m := c.count(); m != n {
			last, n = time.Now(), m
		}
	}
	c.halt()
	if c.bad > 0 {
		t.Fatalf("%d short datagrams", c.bad)
	}
	return c.got
}

func indexes(as []arrival) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.index
	}
	return out
}

// inversions counts arrivals of an index lower than one already seen.
func inversions(as []arrival) int {
	n, hi := 0, -1
	for _, a := range as {
		if a.index < hi {
			n++
		}
		hi = max(hi, a.index)
	}
	return n
}

// Loss 0.1 over 2000 datagrams: about 200 lost, the same ones for the same
// seed, and exactly those the decisions predict.
func TestRelayLossOnLoopback(t *testing.T) {
	const n, seed = 2000, 12345
	run := func() ([]int, RelayStats) {
		a, b := newEndpoint(t), newEndpoint(t)
		r := StartRelay(t, RelayConfig{Seed: seed, AtoB: Impairment{Loss: 0.1}, PeerB: b.addr})
		col := b.collect(t)
		a.pump(t, r.Addr(SideA), n, func(sent int) bool {
			st := r.Stats().AtoB
			return st.In == uint64(sent) && st.Pending == 0 && uint64(col.count()) == st.Out
		})
		got := col.wait(t, n, 0)
		r.Close()
		idx := indexes(got)
		slices.Sort(idx)
		return idx, r.Stats()
	}
	got1, st := run()
	got2, _ := run()
	if st.AtoB.In != n || st.AtoB.Out != uint64(len(got1)) || st.AtoB.In-st.AtoB.Dropped != st.AtoB.Out {
		t.Fatalf("counters %v, %d received", st.AtoB, len(got1))
	}
	if !binomialOK(int(st.AtoB.Dropped), n, 0.1) {
		t.Fatalf("%d of %d dropped at loss 0.1", st.AtoB.Dropped, n)
	}
	if !slices.Equal(got1, got2) {
		t.Fatalf("same seed, different losses: %d vs %d received", len(got1), len(got2))
	}
	m := newImpairer(Impairment{Loss: 0.1}, seed, 0xA2B)
	var want []int
	for i := range n {
		if !m.next().drop {
			want = append(want, i)
		}
	}
	if !slices.Equal(got1, want) {
		t.Fatal("the datagrams lost are not those the seed decides")
	}
	if st.BtoA != (DirStats{}) {
		t.Fatalf("B→A counted %v", st.BtoA)
	}
	t.Logf("A→B %v", st.AtoB)
}

// Every datagram waits at least the fixed delay, in both directions.
func TestRelayDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	a, b := newEndpoint(t), newEndpoint(t)
	im := Impairment{Delay: delay, Jitter: 5 * time.Millisecond}
	r := StartRelay(t, RelayConfig{Seed: 1, AtoB: im, BtoA: im, PeerA: a.addr, PeerB: b.addr})
	for _, c := range []struct {
		from, to *endpoint
		side     Side
	}{{a, b, SideA}, {b, a, SideB}} {
		col := c.to.collect(t)
		c.from.sendN(t, r.Addr(c.side), 0, 20, 5*time.Millisecond)
		got := col.wait(t, 20, time.Second)
		if len(got) != 20 {
			t.Fatalf("%d of 20 arrived", len(got))
		}
		for _, g := range got {
			if g.latency < delay {
				t.Fatalf("datagram %d took %v, less than the delay %v", g.index, g.latency, delay)
			}
			if g.from != r.Addr(c.side.other()) {
				t.Fatalf("came from %v, want the relay's other side %v", g.from, r.Addr(c.side.other()))
			}
		}
	}
	st := r.Stats()
	if st.AtoB.MeanDelay() < delay || st.AtoB.DelayMax > delay+5*time.Millisecond {
		t.Fatalf("scheduled delays %v", st.AtoB)
	}
}

// Jitter larger than the spacing reorders; the relay counts what it sent
// out of order.
func TestRelayJitterReorders(t *testing.T) {
	for _, dist := range []JitterDist{JitterUniform, JitterExponential} {
		a, b := newEndpoint(t), newEndpoint(t)
		r := StartRelay(t, RelayConfig{Seed: 3, AtoB: Impairment{Jitter: 40 * time.Millisecond, JitterDist: dist}, PeerB: b.addr})
		col := b.collect(t)
		a.sendN(t, r.Addr(SideA), 0, 200, 2*time.Millisecond)
		got := col.wait(t, 200, time.Second)
		r.Close()
		st := r.Stats().AtoB
		if len(got) != 200 {
			t.Fatalf("%d of 200 arrived", len(got))
		}
		inv := inversions(got)
		if inv == 0 || st.Reordered == 0 {
			t.Fatalf("dist %d: no reordering with 40 ms jitter at 2 ms spacing: %v", dist, st)
		}
		// What the relay sent out of order is what arrived out of order
		// (loopback keeps order), give or take datagrams the scheduler
		// sent in one batch.
		if d := int(st.Reordered) - inv; d < -inv/4-2 || d > inv/4+2 {
			t.Errorf("relay counted %d reordered, receiver saw %d", st.Reordered, inv)
		}
		t.Logf("dist %d: %d inversions, %v", dist, inv, st)
	}
}

// Reorder without jitter: a held datagram comes right after the next one.
func TestRelayReorderHoldsOneBack(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := StartRelay(t, RelayConfig{Seed: 9, AtoB: Impairment{Reorder: 0.2}, PeerB: b.addr})
	col := b.collect(t)
	a.pump(t, r.Addr(SideA), 300, func(sent int) bool {
		st := r.Stats().AtoB
		return st.In == uint64(sent) && st.Pending == 0 && uint64(col.count()) == st.Out
	})
	got := col.wait(t, 300, time.Second) // the last one may be held 200 ms
	st := r.Stats().AtoB
	if len(got) != 300 {
		t.Fatalf("%d of 300 arrived", len(got))
	}
	if !binomialOK(int(st.Held), 300, 0.2) || st.Reordered == 0 {
		t.Fatalf("held %d of 300 at 0.2: %v", st.Held, st)
	}
	for i, g := range got {
		// Out of order by one place at most (nothing is lost here).
		if g.index < i-1 || g.index > i+1 {
			t.Fatalf("arrival %d is index %d: %v", i, g.index, indexes(got[max(0, i-8):min(len(got), i+8)]))
		}
	}
	if inversions(got) != int(st.Reordered) {
		t.Fatalf("receiver saw %d inversions, relay counted %v", inversions(got), st)
	}
}

func TestRelayDuplicates(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := StartRelay(t, RelayConfig{Seed: 5, AtoB: Impairment{Duplicate: 0.05, Loss: 0.02}, PeerB: b.addr})
	col := b.collect(t)
	a.pump(t, r.Addr(SideA), 1000, func(sent int) bool {
		st := r.Stats().AtoB
		return st.In == uint64(sent) && st.Pending == 0 && uint64(col.count()) == st.Out
	})
	got := col.wait(t, 2000, 100*time.Millisecond) // the last copies follow within 1 ms
	st := r.Stats().AtoB
	if !binomialOK(int(st.Duplicated), int(st.In-st.Dropped), 0.05) {
		t.Fatalf("%v", st)
	}
	if want := st.In - st.Dropped + st.Duplicated; uint64(len(got)) != want || st.Out != want {
		t.Fatalf("%d arrived, want %d: %v", len(got), want, st)
	}
}

// Without a configured peer the relay sends to the last source seen on
// the other side.
func TestRelayLatches(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := StartRelay(t, RelayConfig{})
	a.send(t, r.Addr(SideA), 0) // B unknown yet
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().AtoB.NoPeer == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not counted as NoPeer: %v", r.Stats().AtoB)
		}
		time.Sleep(time.Millisecond)
	}
	b.send(t, r.Addr(SideB), 100) // B shows itself; A was seen already
	if got := a.receive(t, 1, time.Second); len(got) != 1 || got[0].index != 100 {
		t.Fatalf("A got %v", got)
	}
	a.send(t, r.Addr(SideA), 1)
	if got := b.receive(t, 1, time.Second); len(got) != 1 || got[0].index != 1 {
		t.Fatalf("B got %v", got)
	}
	if r.Peer(SideA) != a.addr || r.Peer(SideB) != b.addr {
		t.Fatalf("peers %v %v", r.Peer(SideA), r.Peer(SideB))
	}
}

// The queue is bounded, and Close returns with datagrams still queued.
func TestRelayQueueBoundAndClose(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := StartRelay(t, RelayConfig{AtoB: Impairment{Delay: time.Hour}, PeerB: b.addr, MaxQueue: 10})
	a.sendN(t, r.Addr(SideA), 0, 50, 0)
	deadline := time.Now().Add(5 * time.Second)
	for st := r.Stats().AtoB; st.In < 50; st = r.Stats().AtoB {
		if time.Now().After(deadline) {
			t.Fatalf("%v", st)
		}
		time.Sleep(time.Millisecond)
	}
	if st := r.Stats().AtoB; st.Overflow != 40 || st.Out != 0 {
		t.Fatalf("%v", st)
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	r.Close() // idempotent
}

// A media relay's RTCP sockets are at the RTP ports + 1, and RTCP goes to
// the peer's RTP port + 1 unless told otherwise.
func TestRelayMediaPairs(t *testing.T) {
	m := StartMediaRelay(t, RelayConfig{Seed: 1}, RelayConfig{})
	for _, s := range []Side{SideA, SideB} {
		rtp, rtcp := m.Local(s)
		if rtp.Port()%2 != 0 || rtcp.Port() != rtp.Port()+1 || rtp.Addr() != rtcp.Addr() {
			t.Fatalf("side %s: RTP %v RTCP %v", s, rtp, rtcp)
		}
	}
	a, b := newEndpoint(t), newEndpoint(t)
	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	m.SetPeer(SideA, peer, netip.AddrPort{})
	if m.RTCP.Peer(SideA) != netip.MustParseAddrPort("127.0.0.1:40001") {
		t.Fatalf("RTCP peer %v", m.RTCP.Peer(SideA))
	}
	m.SetPeer(SideB, b.addr, b.addr)
	_, rtcpA := m.Local(SideA)
	a.send(t, rtcpA, 7)
	if got := b.receive(t, 1, time.Second); len(got) != 1 || got[0].index != 7 {
		t.Fatalf("RTCP A→B: %v", got)
	}
}

// A cut path drops everything both ways (counted as Cut, not as loss),
// and carries everything again once restored.
func TestRelayCut(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r := StartRelay(t, RelayConfig{Seed: 1, PeerA: a.addr, PeerB: b.addr})
	colA, colB := a.collect(t), b.collect(t)
	through := func(from int) {
		t.Helper()
		a.sendN(t, r.Addr(SideA), from, 10, 0)
		b.sendN(t, r.Addr(SideB), from, 10, 0)
		waitUntil(t, "10 more each way", func() bool { return colA.count() >= from+10 && colB.count() >= from+10 })
	}
	through(0)
	r.Cut(true)
	a.sendN(t, r.Addr(SideA), 100, 10, 0)
	b.sendN(t, r.Addr(SideB), 100, 10, 0)
	waitUntil(t, "the relay took the 10 each way", func() bool {
		st := r.Stats()
		return st.AtoB.In == 20 && st.BtoA.In == 20
	})
	r.Cut(false)
	through(10)
	// The relay counts a datagram out after sending it: the receiver can
	// have it before the counter moves.
	waitUntil(t, "20 counted out each way", func() bool {
		st := r.Stats()
		return st.AtoB.Out >= 20 && st.BtoA.Out >= 20
	})
	st := r.Stats()
	for _, d := range []DirStats{st.AtoB, st.BtoA} {
		if d.Cut != 10 || d.Dropped != 0 || d.Out != 20 {
			t.Fatalf("counters %v: want 10 cut, 20 out", d)
		}
	}
	for _, got := range [][]arrival{colA.wait(t, 20, 0), colB.wait(t, 20, 0)} {
		for _, x := range got {
			if x.index >= 100 {
				t.Fatalf("datagram %d sent while cut came through", x.index)
			}
		}
	}
}
