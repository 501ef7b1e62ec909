package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func crlf(s string) []byte {
	s = strings.TrimPrefix(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

var local = Media{
	Addr:   netip.MustParseAddrPort("192.0.2.10:4000"),
	Codecs: []Codec{PCMU, PCMA},
	DTMF:   101,
}

func TestOfferRoundTrip(t *testing.T) {
	body := Offer(local, 42)
	for _, want := range []string{
		"o=- 42 42 IN IP4 192.0.2.10\r\n",
		"c=IN IP4 192.0.2.10\r\n",
		"m=audio 4000 RTP/AVP 0 8 101\r\n",
		"a=rtpmap:0 PCMU/8000\r\n",
		"a=rtpmap:8 PCMA/8000\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n",
		"a=fmtp:101 0-15\r\n",
		"a=ptime:20\r\n",
		"a=sendrecv\r\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("offer lacks %q:\n%s", want, body)
		}
	}
	s, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != local.Addr || s.DTMF != 101 || len(s.Payloads) != 3 || s.Ptime != 20 || s.ID != 42 {
		t.Fatalf("parsed offer = %+v", s)
	}
}

func TestOfferIPv6NoDTMF(t *testing.T) {
	m := Media{Addr: netip.MustParseAddrPort("[2001:db8::1]:5004"), Codecs: []Codec{PCMA}}
	body := string(Offer(m, 1))
	if !strings.Contains(body, "c=IN IP6 2001:db8::1\r\n") || !strings.Contains(body, "m=audio 5004 RTP/AVP 8\r\n") || strings.Contains(body, "telephone-event") {
		t.Fatalf("offer:\n%s", body)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr error
		addr    string
		pts     []uint8
		dtmf    uint8
		dir     string
		ptime   int
	}{
		{
			name: "session level c, static PT without rtpmap",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 30000 RTP/AVP 8 0
`,
			addr: "10.0.0.1:30000", pts: []uint8{8, 0}, dir: SendRecv,
		},
		{
			name: "media level c overrides session, dynamic telephone-event, ptime",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 30000 RTP/AVP 0 96
c=IN IP4 10.0.0.2
a=rtpmap:0 PCMU/8000
a=rtpmap:96 telephone-event/8000
a=fmtp:96 0-16
a=ptime:30
a=sendonly
`,
			addr: "10.0.0.2:30000", pts: []uint8{0, 96}, dtmf: 96, dir: SendOnly, ptime: 30,
		},
		{
			name: "IPv6",
			body: `
v=0
o=- 1 2 IN IP6 ::1
s=-
t=0 0
m=audio 1234 RTP/AVP 0
c=IN IP6 2001:db8::5
`,
			addr: "[2001:db8::5]:1234", pts: []uint8{0}, dir: SendRecv,
		},
		{
			name: "session level direction",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
a=inactive
m=audio 1 RTP/AVP 0
`,
			addr: "10.0.0.1:1", pts: []uint8{0}, dir: Inactive,
		},
		{
			name: "rejected stream port 0",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 0 RTP/AVP 0
`,
			addr: "10.0.0.1:0", pts: []uint8{0}, dir: SendRecv,
		},
		{
			name: "video first, audio second",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=video 5000 RTP/AVP 96
m=audio 6000 RTP/AVP 8
`,
			addr: "10.0.0.1:6000", pts: []uint8{8}, dir: SendRecv,
		},
		{name: "empty", body: "", wantErr: ErrMalformed},
		{name: "garbage", body: "hello\nworld\n", wantErr: ErrMalformed},
		{
			name: "no audio",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=video 5000 RTP/AVP 96
`,
			wantErr: ErrNoAudio,
		},
		{
			name: "no c line",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
t=0 0
m=audio 5000 RTP/AVP 0
`,
			wantErr: ErrMalformed,
		},
		{
			name: "hostname in c line",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 phone.example.com
t=0 0
m=audio 5000 RTP/AVP 0
`,
			wantErr: ErrMalformed,
		},
		{
			name: "non numeric payload",
			body: `
v=0
o=- 1 2 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 5000 RTP/AVP 0 abc
`,
			wantErr: ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(crlf(tt.body))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Addr.String(); got != tt.addr {
				t.Errorf("addr = %s, want %s", got, tt.addr)
			}
			if len(s.Payloads) != len(tt.pts) {
				t.Fatalf("payloads = %v, want %v", s.Payloads, tt.pts)
			}
			for i := range tt.pts {
				if s.Payloads[i] != tt.pts[i] {
					t.Errorf("payloads = %v, want %v", s.Payloads, tt.pts)
				}
			}
			if s.DTMF != tt.dtmf || s.Direction != tt.dir || s.Ptime != tt.ptime {
				t.Errorf("dtmf=%d dir=%s ptime=%d, want %d %s %d", s.DTMF, s.Direction, s.Ptime, tt.dtmf, tt.dir, tt.ptime)
			}
		})
	}
}

func offerOf(t *testing.T, m string, extra ...string) Session {
	t.Helper()
	body := "v=0\no=- 1 1 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\n" + m + "\n"
	for _, e := range extra {
		body += e + "\n"
	}
	s, err := Parse(crlf(body))
	if err != nil {
		t.Fatalf("parse %q: %v", body, err)
	}
	return s
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name    string
		offer   Session
		local   Media
		codec   Codec
		dtmf    uint8
		dir     string
		ptime   int
		wantErr error
		mline   string
	}{
		{
			name:  "our preference wins over offer order",
			offer: offerOf(t, "m=audio 7000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"),
			local: local, codec: PCMU, dtmf: 101, dir: SendRecv, ptime: 20,
			mline: "m=audio 4000 RTP/AVP 0 101\r\n",
		},
		{
			name:  "keep offer telephone-event PT",
			offer: offerOf(t, "m=audio 7000 RTP/AVP 8 96", "a=rtpmap:96 telephone-event/8000", "a=ptime:40"),
			local: local, codec: PCMA, dtmf: 96, dir: SendRecv, ptime: 40,
			mline: "m=audio 4000 RTP/AVP 8 96\r\n",
		},
		{
			name:  "no DTMF wanted",
			offer: offerOf(t, "m=audio 7000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000"),
			local: Media{Addr: local.Addr, Codecs: []Codec{PCMU}}, codec: PCMU, dir: SendRecv, ptime: 20,
			mline: "m=audio 4000 RTP/AVP 0\r\n",
		},
		{
			name:  "sendonly offer gets recvonly",
			offer: offerOf(t, "m=audio 7000 RTP/AVP 0", "a=sendonly"),
			local: local, codec: PCMU, dir: RecvOnly, ptime: 20,
			mline: "m=audio 4000 RTP/AVP 0\r\n",
		},
		{
			name:    "no common codec",
			offer:   offerOf(t, "m=audio 7000 RTP/AVP 9 18 101", "a=rtpmap:101 telephone-event/8000"),
			local:   local,
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "static PT remapped to another encoding",
			offer:   offerOf(t, "m=audio 7000 RTP/AVP 0", "a=rtpmap:0 opus/48000/2"),
			local:   local,
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "rejected stream",
			offer:   offerOf(t, "m=audio 0 RTP/AVP 0"),
			local:   local,
			wantErr: ErrRejected,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, n, err := Answer(tt.offer, tt.local)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec != tt.codec || n.DTMF != tt.dtmf || n.Direction != tt.dir || n.Ptime != tt.ptime || n.Remote != tt.offer.Addr {
				t.Errorf("negotiated = %+v", n)
			}
			if !strings.Contains(string(body), tt.mline) {
				t.Errorf("answer lacks %q:\n%s", tt.mline, body)
			}
			// The answer must be accepted by an offerer holding our codecs.
			a, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Accept(a, Media{Codecs: []Codec{PCMU, PCMA}, DTMF: 101})
			if err != nil || back.Codec != tt.codec || back.Remote != tt.local.Addr {
				t.Errorf("Accept(answer) = %+v, %v", back, err)
			}
		})
	}
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name    string
		answer  Session
		codec   Codec
		dtmf    uint8
		wantErr error
	}{
		{name: "answer order", answer: offerOf(t, "m=audio 7000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"), codec: PCMA, dtmf: 101},
		{name: "no dtmf", answer: offerOf(t, "m=audio 7000 RTP/AVP 0"), codec: PCMU},
		{name: "codec we did not offer", answer: offerOf(t, "m=audio 7000 RTP/AVP 18"), wantErr: ErrNoCommonCodec},
		{name: "rejected", answer: offerOf(t, "m=audio 0 RTP/AVP 0"), wantErr: ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Accept(tt.answer, local)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec != tt.codec || n.DTMF != tt.dtmf || n.Remote.String() != "10.0.0.9:7000" || n.Ptime != 20 {
				t.Errorf("negotiated = %+v", n)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Offer(local, 1))
	f.Add(Offer(Media{Addr: netip.MustParseAddrPort("[::1]:1"), Codecs: []Codec{PCMA}}, 7))
	f.Add(crlf("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0\n"))
	f.Add(crlf("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1/127\nt=0 0\nm=audio 99999 RTP/AVP 300\na=rtpmap:300 x\n"))
	f.Add([]byte("v=0\n"))
	f.Add([]byte{})
	f.Add(crlf("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=video 5 RTP/AVP 96\nm=audio 0 RTP/AVP 0\nm=audio 7 RTP/AVP 8\nm=image 9 udptl t38\n"))
	f.Add(crlf("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5 RTP/SAVP 0\nm=x 1 a/b\nm=audio 7 RTP/AVP 0\n"))
	if keys, err := NewKeys([]Suite{AESCM128SHA1_80, AESCM128SHA1_32}); err == nil {
		f.Add(Offer(Media{Addr: local.Addr, Codecs: local.Codecs, SRTP: SRTPRequired, Crypto: keys}, 3))
	}
	f.Add(crlf("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5 RTP/SAVP 0\na=crypto:1 AEAD_AES_128_GCM inline:x|2^31|1:4\n"))
	srtpLocal := local
	srtpLocal.SRTP = SRTPOptional
	srtpLocal.Crypto, _ = NewKeys([]Suite{AESCM128SHA1_80, AEADAES128GCM})
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := Parse(body)
		if err != nil {
			return
		}
		// Whatever parses must be answerable without panicking, and an
		// answer has the offer's m= lines in order with the audio stream
		// where it was (RFC 3264 §6).
		if answer, _, err := Answer(s, local); err == nil {
			a, err := Parse(answer)
			if err != nil {
				t.Fatalf("our answer does not parse: %v\n%s", err, answer)
			}
			if len(a.Streams) != len(s.Streams) {
				t.Fatalf("answer has %d m= lines, offer %d\n%s", len(a.Streams), len(s.Streams), answer)
			}
			for i := range a.Streams {
				if a.Streams[i].Media != s.Streams[i].Media || a.Streams[i].Proto != s.Streams[i].Proto && i != a.Index {
					t.Fatalf("m= line %d: answer %+v, offer %+v\n%s", i, a.Streams[i], s.Streams[i], answer)
				}
				if i != a.Index && a.Streams[i].Port != 0 {
					t.Fatalf("m= line %d not rejected\n%s", i, answer)
				}
			}
		}
		_, _ = Accept(s, local)
		_, _, _ = Answer(s, srtpLocal)
		_, _ = Accept(s, srtpLocal)
	})
}

// RFC 4566 §6: a=ptime is what the peer wants to receive, a=maxptime the
// most it takes; we send 10, 20, 30 or 40 ms.
func TestSendPtime(t *testing.T) {
	for _, tt := range []struct{ ptime, maxptime, want int }{
		{0, 0, 20}, {10, 0, 10}, {20, 0, 20}, {30, 0, 30}, {40, 0, 40},
		{60, 0, 40}, {25, 0, 20}, {5, 0, 10}, {0, 30, 20}, {0, 10, 10},
		{40, 30, 30}, {30, 20, 20}, {20, 15, 10}, {1000, 1000, 40},
	} {
		if got := SendPtime(tt.ptime, tt.maxptime); got != tt.want {
			t.Errorf("SendPtime(%d, %d) = %d, want %d", tt.ptime, tt.maxptime, got, tt.want)
		}
	}
}

// Our offer asks for the configured ptime; answers and offers negotiate
// the packet time and the RTCP address (RFC 3605 a=rtcp, else port + 1).
func TestPtimeAndRTCPNegotiation(t *testing.T) {
	l := local
	l.Ptime = 30
	if body := string(Offer(l, 1)); !strings.Contains(body, "a=ptime:30\r\n") {
		t.Fatalf("offer lacks a=ptime:30:\n%s", body)
	}
	for _, tt := range []struct {
		name  string
		extra []string
		ptime int
		rtcp  string
	}{
		{"defaults", nil, 20, "10.0.0.9:7001"},
		{"ptime and maxptime", []string{"a=ptime:40", "a=maxptime:30"}, 30, "10.0.0.9:7001"},
		{"rtcp port", []string{"a=rtcp:9000"}, 20, "10.0.0.9:9000"},
		{"rtcp address", []string{"a=rtcp:9000 IN IP4 10.0.0.77"}, 20, "10.0.0.77:9000"},
		{"rtcp address IPv6", []string{"a=rtcp:9000 IN IP6 2001:db8::1"}, 20, "[2001:db8::1]:9000"},
		{"rtcp malformed", []string{"a=rtcp:none"}, 20, "10.0.0.9:7001"},
		{"rtcp bad address", []string{"a=rtcp:9000 IN IP4 nowhere"}, 20, "10.0.0.9:7001"},
		{"rtcp port 0", []string{"a=rtcp:0"}, 20, "10.0.0.9:7001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			offer := offerOf(t, "m=audio 7000 RTP/AVP 0", tt.extra...)
			_, n, err := Answer(offer, local)
			if err != nil {
				t.Fatal(err)
			}
			if n.Ptime != tt.ptime || n.RTCP.String() != tt.rtcp {
				t.Fatalf("answering: ptime %d rtcp %v, want %d %s", n.Ptime, n.RTCP, tt.ptime, tt.rtcp)
			}
			n, err = Accept(offer, local)
			if err != nil {
				t.Fatal(err)
			}
			if n.Ptime != tt.ptime || n.RTCP.String() != tt.rtcp {
				t.Fatalf("accepting: ptime %d rtcp %v, want %d %s", n.Ptime, n.RTCP, tt.ptime, tt.rtcp)
			}
		})
	}
}

// RFC 3264 §8: a new offer keeps the o= id, carries the version given and
// our direction; §8.4 / §6.1: answers narrow the mirrored direction by ours.
func TestOfferOriginAndHoldDirections(t *testing.T) {
	m := Media{Addr: netip.MustParseAddrPort("127.0.0.1:4000"), Codecs: []Codec{PCMU}, Direction: SendOnly}
	s, err := Parse(OfferOrigin(m, 7, 9))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != 7 || s.Version != 9 || s.Direction != SendOnly {
		t.Fatalf("offer id %d version %d direction %s", s.ID, s.Version, s.Direction)
	}
	if s, _ := Parse(Offer(Media{Addr: m.Addr, Codecs: m.Codecs}, 3)); s.Direction != SendRecv || s.Version != 3 {
		t.Fatalf("plain offer %+v", s)
	}
	for _, tt := range []struct{ offered, ours, want string }{
		{SendRecv, "", SendRecv},
		{SendOnly, "", RecvOnly},
		{Inactive, "", Inactive},
		{RecvOnly, "", SendOnly},
		{SendRecv, SendOnly, SendOnly},
		{SendOnly, SendOnly, Inactive},
		{SendOnly, Inactive, Inactive},
		{SendRecv, SendRecv, SendRecv},
		{SendRecv, RecvOnly, RecvOnly},
	} {
		offer := Session{Addr: netip.MustParseAddrPort("127.0.0.1:9000"), Payloads: []uint8{0}, Direction: tt.offered}
		body, n, err := Answer(offer, Media{Addr: m.Addr, Codecs: m.Codecs, Direction: tt.ours})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := Parse(body)
		if n.Direction != tt.want || a.Direction != tt.want {
			t.Errorf("offer %s, ours %q: answered %s (negotiated %s), want %s", tt.offered, tt.ours, a.Direction, n.Direction, tt.want)
		}
	}
	if !ValidDirection("") || !ValidDirection(Inactive) || ValidDirection("hold") {
		t.Fatal("ValidDirection")
	}
}
