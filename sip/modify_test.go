package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

// inDialogText is a request from the raw peer within the dialog it made
// with inviteText (From tag fromraw, Call-ID callID) to our To tag.
func inDialogText(raw *rawPeer, ua *UA, method, callID, toTag string, cseq int, ctype, body string) string {
	ct := ""
	if body != "" {
		ct = "Content-Type: " + ctype + "\n"
	}
	return fmt.Sprintf(`
%[1]s sip:1002@%[2]s SIP/2.0
Via: SIP/2.0/UDP %[3]s;branch=z9hG4bK-%[1]s%[6]d
Max-Forwards: 70
From: "Raw" <sip:raw@127.0.0.1>;tag=fromraw
To: <sip:1002@%[2]s>;tag=%[4]s
Call-ID: %[5]s
CSeq: %[6]d %[1]s
Contact: <sip:raw@%[3]s>
%[7]sContent-Length: %[8]d

%[9]s`, method, ua.Addr(), raw.addr(), toTag, callID, cseq, ct, len(body), strings.ReplaceAll(body, "\r\n", "\n"))
}

func holdOffer(dir string, version int) string {
	return fmt.Sprintf("v=0\r\no=raw 42 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9000 RTP/AVP 0\r\na=%s\r\n", version, dir)
}

// RFC 3261 §14.2, RFC 3264 §8.4: hold and resume by re-INVITE; UPDATE and
// INFO within the dialog; requests outside it get 481.
func TestReinviteHoldResumeUpdateInfo(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	raw.sendText(b.Addr(), inviteText(raw, b.UA, "hold1"))
	in := next[Incoming](t, b)
	if _, err := b.Answer(in.ID, media(5000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	ok := raw.read("200", isRes(200))
	tag, _ := ok.msg.(*gosip.Response).To().Params.Get("tag")
	first := mustParse(t, ok.msg.(*gosip.Response).Body())
	raw.sendText(b.Addr(), strings.Replace(inDialogText(raw, b.UA, "ACK", "hold1", tag, 1, "", ""), "branch=z9hG4bK-ACK1", "branch=z9hG4bK-ack1", 1))

	check := func(cseq int, dir, wantDir string, version uint64) {
		t.Helper()
		raw.sendText(b.Addr(), inDialogText(raw, b.UA, "INVITE", "hold1", tag, cseq, "application/sdp", holdOffer(dir, cseq)))
		res := raw.read("200 to re-INVITE", isRes(200)).msg.(*gosip.Response)
		ans := mustParse(t, res.Body())
		if ans.Direction != wantDir || ans.ID != first.ID || ans.Version != version {
			t.Fatalf("answer to %s: direction %s id %d version %d, want %s id %d version %d", dir, ans.Direction, ans.ID, ans.Version, wantDir, first.ID, version)
		}
		m := next[Modified](t, b)
		if m.ID != in.ID || m.Media.Direction != wantDir || m.Media.Remote.Port() != 9000 {
			t.Fatalf("modified %+v", m)
		}
		raw.sendText(b.Addr(), strings.Replace(inDialogText(raw, b.UA, "ACK", "hold1", tag, cseq, "", ""), fmt.Sprintf("z9hG4bK-ACK%d", cseq), fmt.Sprintf("z9hG4bK-ack%d", cseq), 1))
	}
	check(2, "sendonly", "recvonly", first.Version+1) // held
	check(3, "sendrecv", "sendrecv", first.Version+2) // resumed

	raw.sendText(b.Addr(), inDialogText(raw, b.UA, "UPDATE", "hold1", tag, 4, "", ""))
	raw.read("200 to UPDATE", isRes(200))
	raw.sendText(b.Addr(), inDialogText(raw, b.UA, "INFO", "hold1", tag, 5, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"))
	raw.read("200 to INFO", isRes(200))
	if d := next[DTMF](t, b); d.Digit != '5' || d.Duration != 160*time.Millisecond || d.ID != in.ID {
		t.Fatalf("DTMF by INFO %+v", d)
	}
	// The same INFO again on a new branch (a retransmission the transaction
	// layer did not match): answered, its digit not reported twice.
	raw.sendText(b.Addr(), strings.Replace(inDialogText(raw, b.UA, "INFO", "hold1", tag, 5, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
		"z9hG4bK-INFO5", "z9hG4bK-INFO5again", 1))
	raw.read("200 to the repeated INFO", isRes(200))
	raw.sendText(b.Addr(), inDialogText(raw, b.UA, "INVITE", "hold1", "notours", 6, "application/sdp", holdOffer("sendonly", 6)))
	raw.read("481 to a re-INVITE outside the dialog", isRes(481))
	raw.sendText(b.Addr(), inDialogText(raw, b.UA, "INVITE", "hold1", tag, 7, "application/sdp", "v=0\r\nbroken"))
	raw.read("488 to a bad offer", isRes(488))
	noEvent(t, b)
}
