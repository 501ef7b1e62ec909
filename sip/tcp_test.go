package sip

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

func tcpPhone(t *testing.T, user, display string) *phone {
	return newPhone(t, user, display, func(c *Config) { c.Transport = "tcp" })
}

// RFC 3261 §18: a whole call over TCP between two UAs.
func TestCallOverTCP(t *testing.T) {
	a, b := tcpPhone(t, "1001", "Alice"), tcpPhone(t, "1002", "Bob")
	id, inID := establishTo(t, a, b, b.target()+";transport=tcp")
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	if e := next[Ended](t, b); !e.Remote || e.ID != inID {
		t.Fatalf("callee ended %+v", e)
	}
	next[Ended](t, a)
}

// On the wire: the INVITE arrives over TCP with a TCP Via and a Contact
// saying transport=tcp; the response goes back on the same connection.
func TestTCPWire(t *testing.T) {
	a := tcpPhone(t, "1001", "Alice")
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := a.Dial(fmt.Sprintf("sip:2000@%s", ln.Addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	ln.SetDeadline(time.Now().Add(wait))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(conn)
	var head strings.Builder
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		head.WriteString(line)
		if strings.HasPrefix(strings.ToLower(line), "content-length:") {
			fmt.Sscan(strings.TrimSpace(line[len("content-length:"):]), &length)
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := r.Read(body); err != nil && length > 0 {
		t.Fatal(err)
	}
	msg, err := gosip.ParseMessage([]byte(head.String() + string(body)))
	if err != nil {
		t.Fatal(err)
	}
	inv := msg.(*gosip.Request)
	if inv.Via().Transport != "TCP" || !strings.Contains(inv.Contact().Value(), "transport=tcp") {
		t.Fatalf("INVITE over TCP:\n%s", head.String())
	}
	res := gosip.NewResponseFromRequest(inv, 486, "Busy Here", nil)
	res.To().Params.Add("tag", "tcp")
	if _, err := conn.Write([]byte(res.String())); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, a); f.Code != 486 {
		t.Fatalf("failed %+v, want 486 over the same connection", f)
	}
}
