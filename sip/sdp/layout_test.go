package sdp

import (
	"errors"
	"strings"
	"testing"
)

// mlines returns the m= lines of a body in order.
func mlines(body []byte) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\r\n") {
		if strings.HasPrefix(l, "m=") {
			out = append(out, l)
		}
	}
	return out
}

// RFC 3264 §6: the answer has exactly the offer's m= lines in the same
// order; the one audio stream we use is accepted, every other line is
// rejected with port 0, the offer's media and profile and one of its
// formats.
func TestAnswerLayout(t *testing.T) {
	srtpOff := Media{Addr: local.Addr, Codecs: []Codec{PCMU, PCMA}}
	tests := []struct {
		name    string
		media   []string // the offer's m= lines with their attributes
		local   Media
		want    []string // the answer's m= lines
		remote  string   // where we send RTP
		wantErr error
	}{
		{
			name:   "audio only",
			media:  []string{"m=audio 7000 RTP/AVP 0"},
			local:  srtpOff,
			want:   []string{"m=audio 4000 RTP/AVP 0"},
			remote: "10.0.0.9:7000",
		},
		{
			name:   "audio then video",
			media:  []string{"m=audio 7000 RTP/AVP 0", "m=video 7002 RTP/AVP 96 97\na=rtpmap:96 H264/90000"},
			local:  srtpOff,
			want:   []string{"m=audio 4000 RTP/AVP 0", "m=video 0 RTP/AVP 96"},
			remote: "10.0.0.9:7000",
		},
		{
			name:   "video then audio",
			media:  []string{"m=video 7002 RTP/AVP 96\na=rtpmap:96 VP8/90000", "m=audio 7000 RTP/AVP 8"},
			local:  srtpOff,
			want:   []string{"m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 8"},
			remote: "10.0.0.9:7000",
		},
		{
			name: "second audio, application and unknown profile rejected",
			media: []string{
				"m=audio 7000 RTP/AVP 0", "m=audio 7010 RTP/AVP 8",
				"m=application 9 UDP/BFCP *", "m=text 7020 RTP/AVP 98", "m=image 7040 udptl t38", "m=video 7030 UDP/TLS/RTP/SAVPF 96",
			},
			local:  srtpOff,
			want:   []string{"m=audio 4000 RTP/AVP 0", "m=audio 0 RTP/AVP 8", "m=application 0 UDP/BFCP *", "m=text 0 RTP/AVP 98", "m=image 0 udptl t38", "m=video 0 UDP/TLS/RTP/SAVPF 96"},
			remote: "10.0.0.9:7000",
		},
		{
			name:   "rejected first audio: the next one is used",
			media:  []string{"m=audio 0 RTP/AVP 0", "m=audio 7010 RTP/AVP 0"},
			local:  srtpOff,
			want:   []string{"m=audio 0 RTP/AVP 0", "m=audio 4000 RTP/AVP 0"},
			remote: "10.0.0.9:7010",
		},
		{
			name:   "no common codec on the first audio: the next one is used",
			media:  []string{"m=audio 7000 RTP/AVP 9", "m=video 7002 RTP/AVP 96", "m=audio 7010 RTP/AVP 8"},
			local:  srtpOff,
			want:   []string{"m=audio 0 RTP/AVP 9", "m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 8"},
			remote: "10.0.0.9:7010",
		},
		{
			name:   "SAVP first with srtp off: the plain one is used",
			media:  []string{"m=audio 7000 RTP/SAVP 0", "m=audio 7010 RTP/AVP 0"},
			local:  srtpOff,
			want:   []string{"m=audio 0 RTP/SAVP 0", "m=audio 4000 RTP/AVP 0"},
			remote: "10.0.0.9:7010",
		},
		{
			name:    "no usable audio stream",
			media:   []string{"m=audio 7000 RTP/AVP 9", "m=video 7002 RTP/AVP 96", "m=audio 7010 RTP/AVP 18"},
			local:   srtpOff,
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "video only",
			media:   []string{"m=video 7002 RTP/AVP 96"},
			local:   srtpOff,
			wantErr: ErrNoAudio,
		},
		{
			name:    "every audio rejected",
			media:   []string{"m=audio 0 RTP/AVP 0", "m=video 7002 RTP/AVP 96"},
			local:   srtpOff,
			wantErr: ErrRejected,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "v=0\no=- 1 1 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\n" + strings.Join(tt.media, "\n") + "\n"
			offer, err := Parse(crlf(body))
			var answer []byte
			var n Negotiated
			if err == nil {
				answer, n, err = Answer(offer, tt.local)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := mlines(answer); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("answer m= lines = %q, want %q\n%s", got, tt.want, answer)
			}
			if n.Remote.String() != tt.remote {
				t.Errorf("remote = %v, want %s", n.Remote, tt.remote)
			}
			// The answer parses, with the offer's layout, and its audio
			// stream is the one we accepted.
			a, err := Parse(answer)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Streams) != len(tt.media) || a.Addr != local.Addr {
				t.Errorf("parsed answer: %d streams, audio %v", len(a.Streams), a.Addr)
			}
			// A re-INVITE with the same layout gets the same layout back
			// (RFC 3264 §8).
			again, _, err := AnswerOrigin(offer, tt.local, 5, 6)
			if err != nil || strings.Join(mlines(again), "|") != strings.Join(tt.want, "|") {
				t.Errorf("re-answer: %v, %q", err, mlines(again))
			}
		})
	}
}

// RFC 3264 §6: an answer to our one-audio-line offer with other m= lines,
// or the audio line not first, is refused.
func TestAcceptLayout(t *testing.T) {
	hdr := "v=0\no=- 1 1 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\n"
	tests := []struct {
		name    string
		media   string
		wantErr error
	}{
		{"one audio line", "m=audio 7000 RTP/AVP 0\n", nil},
		{"extra video line", "m=audio 7000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n", ErrLayout},
		{"video first", "m=video 0 RTP/AVP 96\nm=audio 7000 RTP/AVP 0\n", ErrLayout},
		{"second audio", "m=audio 7000 RTP/AVP 0\nm=audio 7002 RTP/AVP 0\n", ErrLayout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(crlf(hdr + tt.media))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Accept(s, local)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// RFC 3264 §8: after a peer offered audio and video, our new offers in the
// session (hold) keep both lines, video rejected, and an answer to them must
// have both lines in order.
func TestOfferKeepsLayout(t *testing.T) {
	body := "v=0\no=- 1 1 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\nm=video 7002 RTP/AVP 96\nm=audio 7000 RTP/AVP 0\n"
	offer, err := Parse(crlf(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _, err := Answer(offer, local)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := Parse(answer)
	if err != nil {
		t.Fatal(err)
	}
	hold := local
	hold.Direction = SendOnly
	hold.Layout, hold.AudioIndex = mine.Streams, mine.Index
	reoffer := OfferOrigin(hold, 5, 6)
	if got, want := strings.Join(mlines(reoffer), "|"), "m=video 0 RTP/AVP 96|m=audio 4000 RTP/AVP 0 8 101"; got != want {
		t.Fatalf("re-offer m= lines %q, want %q\n%s", got, want, reoffer)
	}
	// The peer's answer to the re-offer.
	hdr := "v=0\no=- 1 2 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\n"
	for _, tt := range []struct {
		name, media string
		wantErr     error
	}{
		{"same layout", "m=video 0 RTP/AVP 96\nm=audio 7000 RTP/AVP 0\na=recvonly\n", nil},
		{"video dropped", "m=audio 7000 RTP/AVP 0\n", ErrLayout},
		{"order swapped", "m=audio 7000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n", ErrLayout},
		{"audio rejected", "m=video 0 RTP/AVP 96\nm=audio 0 RTP/AVP 0\n", ErrRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(crlf(hdr + tt.media))
			if err != nil {
				t.Fatal(err)
			}
			n, err := Accept(s, hold)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && n.Remote.Port() != 7000 {
				t.Errorf("remote = %v", n.Remote)
			}
		})
	}
}
