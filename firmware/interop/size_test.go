package interop

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// sippSizes returns the sizes of the messages SIPp received (sent=false)
// or sent, by CSeq method and first line ("INVITE SIP/2.0 180 Ringing"), from its message trace ("UDP message received
// [N] bytes :" / "UDP message sent (N bytes):", then the message).
func sippSizes(s *lab.SIPp, sent bool) map[string]int {
	out := map[string]int{}
	lines := strings.Split(s.Messages(), "\n")
	for i, line := range lines {
		var num string
		switch {
		case !sent && strings.Contains(line, "message received ["):
			num, _, _ = strings.Cut(line[strings.Index(line, "[")+1:], "]")
		case sent && strings.Contains(line, "message sent ("):
			num, _, _ = strings.Cut(line[strings.Index(line, "(")+1:], " ")
		default:
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		first, method := "", ""
		for j := i + 1; j < len(lines) && method == ""; j++ {
			line := strings.TrimSpace(lines[j])
			if first == "" {
				first = line
			} else if v, ok := strings.CutPrefix(strings.ToLower(line), "cseq:"); ok {
				if f := strings.Fields(v); len(f) == 2 {
					method = strings.ToUpper(f[1])
				}
			}
		}
		if len(first) > 40 {
			first = first[:40]
		}
		if key := method + " " + first; out[key] == 0 {
			out[key] = n
		}
	}
	return out
}

func sizeOf(sizes map[string]int, prefix string) int {
	for first, n := range sizes {
		if strings.HasPrefix(first, prefix) {
			return n
		}
	}
	return 0
}

// Issue 18 item 1: a valid INVITE that passed 12 proxies (12 Record-Route,
// well over 1300 bytes) over UDP gets its 180 and 200 over UDP, each over
// 1300 bytes too (they copy the Record-Route); SIPp ACKs and hangs up.
// sipgo refused to send any UDP message over 1300 bytes: no answer at all.
func TestInviteWith12RecordRouteAnswered(t *testing.T) {
	p := startPhone(t, nil, 700, "")
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_record_route12", Target: p.sipAddr(), Service: "1001",
		Params: map[string]string{"hold_ms": "300"}})
	wait(t, p, "ringing")
	must(t, p.Hook(true))
	s.WaitOK(t)
	inv, ring, ok := sizeOf(sippSizes(s, true), "INVITE INVITE"), sizeOf(sippSizes(s, false), "INVITE SIP/2.0 180"), sizeOf(sippSizes(s, false), "INVITE SIP/2.0 200")
	t.Logf("over UDP: INVITE %d bytes, 180 %d bytes, 200 %d bytes", inv, ring, ok)
	if inv <= 1300 || ring <= 1300 || ok <= 1300 {
		t.Fatalf("sizes: INVITE %d, 180 %d, 200 %d: want each over 1300", inv, ring, ok)
	}
}

// Issue 18 item 1, RFC 3261 §18.1.1: a UA takes datagrams up to 65,535
// bytes (sipgo read 32 KB); a 60 KB OPTIONS gets its 200.
func TestSixtyKilobyteOptionsAnswered(t *testing.T) {
	p := startPhone(t, nil, 700, "")
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_options_big", Target: p.sipAddr(), Service: "1001",
		Params: map[string]string{"pad": strings.Repeat("x", 60000)}})
	s.WaitOK(t)
	t.Logf("OPTIONS of %d bytes over UDP answered", sizeOf(sippSizes(s, true), "OPTIONS OPTIONS"))
	if n := sizeOf(sippSizes(s, true), "OPTIONS OPTIONS"); n < 60000 {
		t.Fatalf("OPTIONS sent: %d bytes", n)
	}
}

// Issue 18 item 1, RFC 3261 §18.1.1: the phone (UDP) calls baresip
// through Kamailio with an INVITE over 1300 bytes (a long Request-URI from
// its directory): the INVITE goes over TCP with a TCP Via, the call works,
// and Kamailio relays it to baresip on UDP. tshark sees it on Kamailio's
// TCP port.
func TestBigInviteOverTCPThroughKamailio(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}, TCP: true})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(), AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	pad := strings.Repeat("p", 1400)
	p := startPhoneMic(t, k, lab.ToneWAV(t, 700, 2*time.Second), "",
		fmt.Sprintf("[directory]\n\"2000\" = \"sip:1002@%s;x-pad=%s\"\n", k.Domain(), pad))
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	capture := lab.StartTCPCapture(t, int(k.Addr().Port()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
	wait(t, p, "idle")

	if !strings.Contains(k.Log(), "lab: INVITE sip:1002@"+k.Domain()+";x-pad=") {
		t.Fatalf("Kamailio saw no INVITE with the long Request-URI:\n%s", tail(k.Log(), 30))
	}
	for _, line := range strings.Split(k.Log(), "\n") {
		if strings.Contains(line, "lab: INVITE sip:1002@") && strings.Contains(line, "x-pad=") && !strings.HasSuffix(strings.TrimSpace(line), "over tcp") {
			t.Fatalf("the big INVITE came over another transport: %.200s", line)
		}
	}
	payload, _, err := capture.TCPPayload()
	must(t, err)
	i := bytes.Index(payload, []byte("INVITE sip:1002@"))
	if i < 0 {
		t.Fatal("no INVITE on Kamailio's TCP port")
	}
	msg := payload[i:]
	head, rest, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok || !bytes.Contains(head, []byte("Via: SIP/2.0/TCP")) {
		t.Fatalf("INVITE over TCP without a TCP Via:\n%.600s", msg)
	}
	length := 0
	for _, h := range strings.Split(string(head), "\r\n") {
		if v, ok := strings.CutPrefix(strings.ToLower(h), "content-length:"); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	size := len(head) + 4 + min(length, len(rest))
	t.Logf("INVITE over TCP to Kamailio: %d bytes", size)
	if size <= 1300 {
		t.Fatalf("INVITE of %d bytes", size)
	}
}
