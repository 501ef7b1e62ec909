package sip

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

func requestText(raw *rawPeer, ua *UA, method, version, ruri, extra, ctype, body string, n int) string {
	ct := ""
	if ctype != "" {
		ct = "Content-Type: " + ctype + "\n"
	}
	cseqMethod := method
	if strings.HasPrefix(extra, "CSEQ:") {
		cseqMethod, extra = strings.TrimPrefix(extra, "CSEQ:"), ""
	}
	return fmt.Sprintf(`
%[1]s %[2]s %[3]s
Via: SIP/2.0/UDP %[4]s;branch=z9hG4bK-val%[5]d
Max-Forwards: 70
From: <sip:raw@127.0.0.1>;tag=val%[5]d
To: <sip:1002@%[6]s>
Call-ID: validate-%[5]d
CSeq: 1 %[7]s
Contact: <sip:raw@%[4]s>
%[8]s%[9]sContent-Length: %[10]d

%[11]s`, method, ruri, version, raw.addr(), n, ua.Addr(), cseqMethod, extra, ct, len(body), body)
}

// RFC 3261 §8.2 and RFC 4475-style invalid requests get the response the
// RFC names; nothing reaches the firmware; the UA keeps working.
func TestRequestValidation(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	us := fmt.Sprintf("sip:1002@%s", b.Addr())
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9000 RTP/AVP 0\r\n"
	cases := []struct {
		name                                   string
		method, version, ruri, extra, ct, body string
		code                                   int
		header, value                          string
	}{
		{"SIP/3.0", "INVITE", "SIP/3.0", us, "", "application/sdp", offer, 505, "", ""},
		{"CSeq method mismatch", "INVITE", "SIP/2.0", us, "CSEQ:BYE", "application/sdp", offer, 400, "", ""},
		{"unknown Require", "INVITE", "SIP/2.0", us, "Require: 100rel, foo\n", "application/sdp", offer, 420, "Unsupported", "100rel, foo"},
		{"body not SDP", "INVITE", "SIP/2.0", us, "", "text/plain", "hello", 415, "Accept", "application/sdp"},
		{"compressed SDP", "INVITE", "SIP/2.0", us, "Content-Encoding: gzip\n", "application/sdp", offer, 415, "Accept-Encoding", "identity"},
		{"tel URI", "INVITE", "SIP/2.0", "tel:+15551234", "", "application/sdp", offer, 416, "", ""},
		{"unknown method", "FOO", "SIP/2.0", us, "", "", "", 501, "Allow", allowed},
		{"known, unsupported", "SUBSCRIBE", "SIP/2.0", us, "Event: presence\n", "", "", 405, "Allow", allowed},
		{"BYE outside a dialog", "BYE", "SIP/2.0", us, "", "", "", 481, "", ""},
		{"INFO outside a dialog", "INFO", "SIP/2.0", us, "", "", "", 481, "", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw.sendText(b.Addr(), requestText(raw, b.UA, c.method, c.version, c.ruri, c.extra, c.ct, c.body, i))
			// Match by Call-ID: a final response to an INVITE is
			// retransmitted until ACKed, so earlier cases' may still come.
			callID := fmt.Sprintf("validate-%d", i)
			m := raw.read(fmt.Sprintf("%d", c.code), func(m gosip.Message) bool {
				r, ok := m.(*gosip.Response)
				return ok && r.StatusCode >= 200 && r.CallID() != nil && r.CallID().Value() == callID
			})
			res := m.msg.(*gosip.Response)
			if res.StatusCode != c.code {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, c.code)
			}
			if c.header != "" {
				if h := res.GetHeader(c.header); h == nil || h.Value() != c.value {
					t.Fatalf("%s = %v, want %q\n%s", c.header, h, c.value, m.raw)
				}
			}
		})
	}
	noEvent(t, b)
	// An ACK that fails validation is dropped, never answered.
	raw.sendText(b.Addr(), requestText(raw, b.UA, "ACK", "SIP/3.0", us, "", "", "", 99))
	raw.sendText(b.Addr(), requestText(raw, b.UA, "OPTIONS", "SIP/2.0", us, "", "", "", 100))
	m := raw.read("the OPTIONS answer", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.CallID() != nil && r.CallID().Value() == "validate-100"
	})
	if m.msg.(*gosip.Response).StatusCode != 200 {
		t.Fatalf("after the ACK: %s", m.raw)
	}
}

// Garbage on the SIP port is dropped without a crash; the UA still answers.
func TestGarbageDatagrams(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	raw.lenient = true
	rng := rand.New(rand.NewPCG(1, 2))
	valid := requestText(raw, b.UA, "OPTIONS", "SIP/2.0", fmt.Sprintf("sip:1002@%s", b.Addr()), "", "", "", 7)
	for i := 0; i < 300; i++ {
		msg := []byte(strings.ReplaceAll(strings.TrimPrefix(valid, "\n"), "\n", "\r\n"))
		switch i % 3 {
		case 0: // random bytes
			msg = make([]byte, rng.IntN(1500))
			for j := range msg {
				msg[j] = byte(rng.UintN(256))
			}
		case 1: // a valid message with bytes flipped
			for k := 0; k < 1+rng.IntN(8); k++ {
				msg[rng.IntN(len(msg))] = byte(rng.UintN(256))
			}
		case 2: // truncated
			msg = msg[:rng.IntN(len(msg))]
		}
		raw.conn.WriteToUDPAddrPort(msg, b.Addr())
	}
	time.Sleep(100 * time.Millisecond) // let the UA chew; nothing is asserted on time
	raw.sendText(b.Addr(), requestText(raw, b.UA, "OPTIONS", "SIP/2.0", fmt.Sprintf("sip:1002@%s", b.Addr()), "", "", "", 12345))
	raw.read("200 to OPTIONS after the garbage", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.StatusCode == 200 && r.CallID().Value() == "validate-12345"
	})
}
