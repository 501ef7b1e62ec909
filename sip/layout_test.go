package sip

import (
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

// mLines are the m= lines of an SDP body in order.
func mLines(body []byte) []string {
	var out []string
	for _, l := range strings.Split(string(body), "\r\n") {
		if strings.HasPrefix(l, "m=") {
			out = append(out, l)
		}
	}
	return out
}

// RFC 3264 §6 and §8: a peer offers video then audio; our 200 has both
// lines in that order (video at port 0), and our later hold re-INVITE
// keeps both lines; an answer to it with the video line dropped is refused.
func TestMultiStreamOfferAndHoldKeepLayout(t *testing.T) {
	componentTier(t)
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	offer := "v=0\r\no=raw 42 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=video 9002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 9000 RTP/AVP 0\r\n"
	raw.sendText(b.Addr(), inviteWithBody(raw, b.UA, "layout1", offer))
	in := next[Incoming](t, b)
	neg, err := b.Answer(in.ID, media(5000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	if neg.Remote.Port() != 9000 {
		t.Fatalf("audio to %v, want the audio stream's port 9000", neg.Remote)
	}
	ok := raw.read("200", isRes(200)).msg.(*gosip.Response)
	if got, want := strings.Join(mLines(ok.Body()), "|"), "m=video 0 RTP/AVP 96|m=audio 5000 RTP/AVP 0"; got != want {
		t.Fatalf("200 m= lines %q, want %q", got, want)
	}
	tag, _ := ok.To().Params.Get("tag")
	raw.sendText(b.Addr(), strings.Replace(inDialogText(raw, b.UA, "ACK", "layout1", tag, 1, "", ""), "branch=z9hG4bK-ACK1", "branch=z9hG4bK-ack1", 1))

	// Our hold: both lines again (§8), video rejected.
	if err := b.Reinvite(in.ID, held(media(5000, sdp.PCMU), sdp.SendOnly)); err != nil {
		t.Fatal(err)
	}
	inv := raw.read("re-INVITE", isReq(gosip.INVITE))
	body := inv.msg.(*gosip.Request).Body()
	if got, want := strings.Join(mLines(body), "|"), "m=video 0 RTP/AVP 96|m=audio 5000 RTP/AVP 0 101"; got != want {
		t.Fatalf("hold re-INVITE m= lines %q, want %q\n%s", got, want, body)
	}
	// An answer without the video line breaks §6: refused.
	raw.replyInDialog(inv, 200, "OK", []byte(holdOffer("recvonly", 2)))
	raw.read("ACK of the re-INVITE", isReq(gosip.ACK))
	r := next[Reinvited](t, b)
	if r.Code != 488 || !strings.Contains(r.Reason, "m= lines") {
		t.Fatalf("reinvited %+v, want 488 for the m= lines", r)
	}
}
