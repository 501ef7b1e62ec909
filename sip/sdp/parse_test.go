package sdp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDesc(t *testing.T) {
	d, err := parseDesc([]byte("v=0\no=- 42 7 IN IP4 192.0.2.1\ns=-\nc=IN IP4 224.2.1.1/127/3\nt=0 0\n\na=sendonly\r\n" +
		"m=audio 49170/2 RTP/AVP 0 101\r\nc=IN IP6 2001:db8::1\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly\n" +
		"m=image 0 udptl t38\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != 42 || d.Version != 7 || d.Conn != "224.2.1.1" || len(d.Attrs) != 1 || d.Attrs[0] != (attr{"sendonly", ""}) {
		t.Fatalf("session part %+v", d)
	}
	if len(d.Media) != 2 {
		t.Fatalf("%d m= lines", len(d.Media))
	}
	a := d.Media[0]
	if a.Media != "audio" || a.Port != 49170 || a.Proto != "RTP/AVP" || strings.Join(a.Formats, " ") != "0 101" ||
		a.Conn != "2001:db8::1" || len(a.Attrs) != 2 || a.Attrs[0] != (attr{"rtpmap", "101 telephone-event/8000"}) {
		t.Fatalf("audio %+v", a)
	}
	if m := d.Media[1]; m.Media != "image" || m.Port != 0 || m.Proto != "udptl" || m.Formats[0] != "t38" {
		t.Fatalf("image %+v", m)
	}
}

func TestParseDescRefuses(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"", "empty body"},
		{"v=1\no=- 1 1 IN IP4 192.0.2.1\n", "first line is not v=0"},
		{"v=0\ns=-\n", "second line is not o="},
		{"v=0\n", "no o= line"},
		{"v=0\no=- x 1 IN IP4 192.0.2.1\n", "not a number"},
		{"v=0\no=- 1 1 IN IP4\n", "o= wants 6 fields"},
		{"v=0\no=- 1 1 IN IP4 192.0.2.1\nx=1\n", "unknown line type"},
		{"v=0\no=- 1 1 IN IP4 192.0.2.1\nm=audio\n", "m= "},
		{"v=0\no=- 1 1 IN IP4 192.0.2.1\nm=audio 70000 RTP/AVP 0\n", "m= port"},
		{"v=0\no=- 1 1 IN IP4 192.0.2.1\nc=IP4 192.0.2.1\n", "c= "},
		{"v=0\no=- 1 1 IN IP4 192.0.2.1\nnot a line\n", "not <type>=<value>"},
		{"v=0\no=- 1 1 IN IP4 192.0.2.1\n" + strings.Repeat("a=x\n", maxLines), "more than 1024 lines"},
	} {
		_, err := parseDesc([]byte(tc.body))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.50q: %v, want ErrMalformed with %q", tc.body, err, tc.want)
		}
	}
}
