package dnscache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// ErrServer is a name server that did not give a usable answer (timeout,
// SERVFAIL, REFUSED, a reply that does not match the question).
var ErrServer = errors.New("dnscache: no usable answer from the name servers")

// dialer opens the sockets queries go over; *net.Dialer has it.
type dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// exchange asks one server over UDP, then over TCP when the UDP answer is
// truncated (RFC 1035 §4.2.2, RFC 7766 §5).
func exchange(ctx context.Context, d dialer, server netip.AddrPort, id uint16, q []byte, qname string, qtype uint16) (reply, error) {
	r, err := exchangeUDP(ctx, d, server, id, q, qname, qtype)
	if err != nil || !r.truncated {
		return r, err
	}
	return exchangeTCP(ctx, d, server, id, q, qname, qtype)
}

func exchangeUDP(ctx context.Context, d dialer, server netip.AddrPort, id uint16, q []byte, qname string, qtype uint16) (reply, error) {
	c, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(q); err != nil {
		return reply{}, err
	}
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return reply{}, ctx.Err()
			}
			return reply{}, err
		}
		r, err := parseReply(buf[:n])
		// A reply to another question (a late answer, a spoof) is skipped
		// (RFC 5452 §9.1: ID, question name and type must match).
		if err != nil || !matches(r, id, qname, qtype) {
			continue
		}
		return r, nil
	}
}

func exchangeTCP(ctx context.Context, d dialer, server netip.AddrPort, id uint16, q []byte, qname string, qtype uint16) (reply, error) {
	c, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(q)))
	if _, err := c.Write(append(msg, q...)); err != nil {
		return reply{}, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return reply{}, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return reply{}, err
	}
	r, err := parseReply(buf)
	if err != nil {
		return reply{}, err
	}
	if !matches(r, id, qname, qtype) || r.truncated {
		return reply{}, fmt.Errorf("%w: TCP answer does not match the question", ErrServer)
	}
	return r, nil
}

func matches(r reply, id uint16, qname string, qtype uint16) bool {
	return r.response && r.id == id && r.qname == qname && r.qtype == qtype
}
