// Package dnstest is a name server on loopback for tests: it answers from
// a function, counts the queries it gets, and can hold its answers until
// the test releases them (a slow resolver, without sleeping). UDP and TCP
// on one port; TC set over UDP on request, so clients retry over TCP.
package dnstest

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Record types (RFC 1035 §3.2.2, RFC 3596, RFC 2782).
const (
	TypeA     uint16 = 1
	TypeCNAME uint16 = 5
	TypeSOA   uint16 = 6
	TypeAAAA  uint16 = 28
	TypeSRV   uint16 = 33
)

// RR is a record the server answers with.
type RR struct {
	Name string
	Type uint16
	TTL  uint32
	Addr netip.Addr // A, AAAA
	// SRV.
	Priority, Weight, Port uint16
	// Target is an SRV's or a CNAME's target.
	Target string
	// Minimum is an SOA's MINIMUM (the negative TTL, RFC 2308 §4).
	Minimum uint32
}

// Answer is the server's reply to one question.
type Answer struct {
	Rcode     int // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN
	Answers   []RR
	Authority []RR
	Truncate  bool // set TC over UDP; the whole answer over TCP
}

// Server is a name server on 127.0.0.1.
type Server struct {
	Addr    netip.AddrPort
	queries atomic.Int64
	answer  func(name string, qtype uint16) Answer
	mu      sync.Mutex
	hold    chan struct{}
	udp     *net.UDPConn
	tcp     *net.TCPListener
}

// New starts a server answering with answer (names lower case, without
// the final dot); t.Cleanup stops it.
func New(t testing.TB, answer func(name string, qtype uint16) Answer) *Server {
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
		s := &Server{Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), answer: answer, udp: udp, tcp: tcp}
		t.Cleanup(func() {
			s.release()
			udp.Close()
			tcp.Close()
		})
		go s.serveUDP()
		go s.serveTCP()
		return s
	}
	t.Fatal("dnstest: no port free on both UDP and TCP")
	return nil
}

// NewWithoutNetwork is a server that only builds answers (Respond), for
// fuzz seeds.
func NewWithoutNetwork(answer func(name string, qtype uint16) Answer) *Server {
	return &Server{answer: answer}
}

// Queries is how many queries arrived so far (held ones included).
func (s *Server) Queries() int64 { return s.queries.Load() }

// Hold makes answers wait until release is called (also at cleanup).
func (s *Server) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (s *Server) release() {
	s.mu.Lock()
	h := s.hold
	s.hold = nil
	s.mu.Unlock()
	if h != nil {
		select {
		case <-h:
		default:
			close(h)
		}
	}
}

func (s *Server) wait() {
	s.mu.Lock()
	h := s.hold
	s.mu.Unlock()
	if h != nil {
		<-h
	}
}

func (s *Server) serveUDP() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		q := append([]byte(nil), buf[:n]...)
		s.queries.Add(1)
		go func() {
			s.wait()
			if out := s.Respond(q, true); out != nil {
				s.udp.WriteToUDPAddrPort(out, from)
			}
		}()
	}
}

func (s *Server) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var l [2]byte
			if _, err := io.ReadFull(c, l[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			s.queries.Add(1)
			s.wait()
			if out := s.Respond(q, false); out != nil {
				c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
			}
		}()
	}
}

// Respond builds the answer to query q (nil for a query it cannot read).
func (s *Server) Respond(q []byte, udp bool) []byte {
	name, next, ok := readName(q)
	if !ok || next+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[next:])
	a := s.answer(name, qtype)
	flags := uint16(1<<15|1<<8|1<<7) | uint16(a.Rcode&0xF) // QR RD RA
	tc := udp && a.Truncate
	if tc {
		flags |= 1 << 9
	}
	out := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q))
	out = binary.BigEndian.AppendUint16(out, flags)
	an, ns := len(a.Answers), len(a.Authority)
	if tc {
		an, ns = 0, 0
	}
	for _, n := range []int{1, an, ns, 0} {
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	}
	out = append(out, q[12:next+4]...)
	for _, r := range a.Answers[:an] {
		out = appendRR(out, r)
	}
	for _, r := range a.Authority[:ns] {
		out = appendRR(out, r)
	}
	return out
}

// readName reads the question's name (no compression in queries).
func readName(q []byte) (string, int, bool) {
	if len(q) < 12 {
		return "", 0, false
	}
	var labels []string
	off := 12
	for off < len(q) {
		l := int(q[off])
		if l == 0 {
			return strings.ToLower(strings.Join(labels, ".")), off + 1, true
		}
		if l > 63 || off+1+l > len(q) {
			return "", 0, false
		}
		labels = append(labels, string(q[off+1:off+1+l]))
		off += 1 + l
	}
	return "", 0, false
}

func appendName(b []byte, name string) []byte {
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func appendRR(b []byte, r RR) []byte {
	b = appendName(b, r.Name)
	b = binary.BigEndian.AppendUint16(b, r.Type)
	b = binary.BigEndian.AppendUint16(b, 1) // IN
	b = binary.BigEndian.AppendUint32(b, r.TTL)
	var data []byte
	switch r.Type {
	case TypeA, TypeAAAA:
		data = r.Addr.AsSlice()
	case TypeCNAME:
		data = appendName(nil, r.Target)
	case TypeSRV:
		data = binary.BigEndian.AppendUint16(nil, r.Priority)
		data = binary.BigEndian.AppendUint16(data, r.Weight)
		data = binary.BigEndian.AppendUint16(data, r.Port)
		data = appendName(data, r.Target)
	case TypeSOA:
		data = appendName(nil, "ns.test")
		data = appendName(data, "admin.test")
		for _, v := range []uint32{1, 3600, 600, 86400, r.Minimum} {
			data = binary.BigEndian.AppendUint32(data, v)
		}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}
