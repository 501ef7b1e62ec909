package dnscache

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

// testRR is a record the test server answers with.
type testRR struct {
	name string
	typ  uint16
	ttl  uint32
	addr netip.Addr // A, AAAA
	srv  srv        // SRV
	// cname is a CNAME's target; for SOA, minimum is used.
	cname   string
	minimum uint32
}

// testAnswer is what the server says to one question.
type testAnswer struct {
	rcode     int
	answers   []testRR
	authority []testRR
	truncate  bool // set TC over UDP (full answer over TCP)
}

// testServer is a name server on loopback (UDP and TCP on one port)
// written for the tests: it answers from a function, counts queries, and
// can hold answers until the test releases them.
type testServer struct {
	addr    netip.AddrPort
	queries atomic.Int64
	answer  func(name string, qtype uint16) testAnswer
	hold    chan struct{} // when non-nil, every answer waits for it to close
	mu      sync.Mutex
	udp     *net.UDPConn
	tcp     *net.TCPListener
}

func newTestServer(t *testing.T, answer func(name string, qtype uint16) testAnswer) *testServer {
	t.Helper()
	for range 20 {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			udp.Close()
			continue
		}
		s := &testServer{addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), answer: answer, udp: udp, tcp: tcp}
		t.Cleanup(func() { udp.Close(); tcp.Close() })
		go s.serveUDP()
		go s.serveTCP()
		return s
	}
	t.Fatal("no port free on UDP and TCP")
	return nil
}

// Hold makes answers wait until the returned function is called.
func (s *testServer) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (s *testServer) wait() {
	s.mu.Lock()
	h := s.hold
	s.mu.Unlock()
	if h != nil {
		<-h
	}
}

func (s *testServer) serveUDP() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			s.queries.Add(1)
			s.wait()
			if out := s.respond(q, true); out != nil {
				s.udp.WriteToUDPAddrPort(out, from)
			}
		}()
	}
}

func (s *testServer) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var l [2]byte
			if _, err := c.Read(l[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := c.Read(q); err != nil {
				return
			}
			s.queries.Add(1)
			s.wait()
			out := s.respond(q, false)
			c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
		}()
	}
}

// respond builds the answer to query q.
func (s *testServer) respond(q []byte, udp bool) []byte {
	if len(q) < 12 {
		return nil
	}
	name, next, err := readName(q, 12)
	if err != nil || next+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[next:])
	a := s.answer(name, qtype)
	flags := uint16(flagQR|flagRD|0x80) | uint16(a.rcode)
	tc := udp && a.truncate
	if tc {
		flags |= flagTC
	}
	out := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q))
	out = binary.BigEndian.AppendUint16(out, flags)
	an, ns := len(a.answers), len(a.authority)
	if tc {
		an, ns = 0, 0
	}
	for _, n := range []int{1, an, ns, 0} {
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	}
	out = append(out, q[12:next+4]...)
	for _, r := range append(a.answers[:an:an], a.authority[:ns]...) {
		out = appendRR(out, r)
	}
	return out
}

func appendRR(b []byte, r testRR) []byte {
	b, _ = appendName(b, r.name)
	b = binary.BigEndian.AppendUint16(b, r.typ)
	b = binary.BigEndian.AppendUint16(b, classIN)
	b = binary.BigEndian.AppendUint32(b, r.ttl)
	var data []byte
	switch r.typ {
	case typeA, typeAAAA:
		data = r.addr.AsSlice()
	case typeCNAME:
		data, _ = appendName(nil, r.cname)
	case typeSRV:
		data = binary.BigEndian.AppendUint16(nil, r.srv.Priority)
		data = binary.BigEndian.AppendUint16(data, r.srv.Weight)
		data = binary.BigEndian.AppendUint16(data, r.srv.Port)
		data, _ = appendName(data, r.srv.Target)
	case typeSOA:
		data, _ = appendName(nil, "ns.test")
		data, _ = appendName(data, "admin.test")
		for _, v := range []uint32{1, 3600, 600, 86400, r.minimum} {
			data = binary.BigEndian.AppendUint32(data, v)
		}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}
