package interop

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// answerMLines returns the m= lines of each 200 to an INVITE that SIPp
// received, in order, from its message trace.
func answerMLines(msgs string) [][]string {
	var out [][]string
	for _, block := range strings.Split(msgs, "message received") {
		lines := strings.Split(strings.ReplaceAll(block, "\r", ""), "\n")
		is200, invite := false, false
		var m []string
		for _, l := range lines {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "SIP/2.0 200"):
				is200 = true
			case strings.HasPrefix(strings.ToLower(l), "cseq:") && strings.HasSuffix(l, "INVITE"):
				invite = true
			case strings.HasPrefix(l, "m="):
				m = append(m, l)
			}
			if strings.HasPrefix(l, "-----") {
				break // the next message's separator: this block ends
			}
		}
		if is200 && invite {
			out = append(out, m)
		}
	}
	return out
}

// RFC 3264 §6: SIPp offers audio and video (and video then audio); the
// phone's 200 has exactly the offer's two m= lines in the offer's order,
// video rejected with port 0 (SIPp's ereg checks fail the scenario
// otherwise), and the phone sends its audio to the audio stream's port.
// A re-INVITE with the same streams gets the same layout back (§8).
func TestSIPpMultiStreamOffer(t *testing.T) {
	tier.Interop(t, "sipp")
	for _, c := range []struct {
		scenario string
		want     []string // m= line prefixes of each 200 to an INVITE
		answers  int
	}{
		{"uac_audio_video", []string{"m=audio ", "m=video 0 RTP/AVP 96"}, 2},
		{"uac_video_audio", []string{"m=video 0 RTP/AVP 96", "m=audio "}, 1},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			p := startPhone(t, nil, 700, "")
			s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: c.scenario, Target: p.sipAddr(), Service: "1001",
				Params: map[string]string{"talk_ms": "1500"}})
			wait(t, p, "ringing")
			must(t, p.Hook(true))
			st, err := p.Until(within, "talking with media", func(st phonedStatus) bool {
				return st.State == "talking" && st.Call != nil && st.Call.Media != nil
			})
			must(t, err)
			if want := fmt.Sprintf(":%d", s.MediaPort()); !strings.HasSuffix(st.Call.Media.Remote, want) {
				t.Errorf("RTP goes to %s, want the audio stream's port %s", st.Call.Media.Remote, want)
			}
			wait(t, p, "busy") // SIPp's BYE
			s.WaitOK(t)
			answers := answerMLines(s.Messages())
			if len(answers) != c.answers {
				t.Fatalf("%d answers in SIPp's trace, want %d:\n%s", len(answers), c.answers, tail(s.Messages(), 60))
			}
			for i, m := range answers {
				if len(m) != len(c.want) {
					t.Fatalf("answer %d m= lines %q, want %q", i, m, c.want)
				}
				for j := range m {
					if !strings.HasPrefix(m[j], c.want[j]) || strings.HasPrefix(c.want[j], "m=audio") && strings.HasPrefix(m[j], "m=audio 0 ") {
						t.Errorf("answer %d m= line %d = %q, want %q...", i, j, m[j], c.want[j])
					}
				}
			}
		})
	}
}

// RFC 3264 §6: a SIPp UAS answers our one-audio-line offer with audio and
// video; the phone refuses the answer: it ACKs, hangs up (SIPp waits for
// the BYE) and shows why.
func TestSIPpUASAnswerExtraMLine(t *testing.T) {
	tier.Interop(t, "sipp")
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas_extra_mline"})
	p := directPhone(t, "2000", fmt.Sprintf("sip:2000@%s", s.Addr()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	st, err := p.Until(within, "call refused", func(st phonedStatus) bool {
		return strings.Contains(st.Reason, "m= lines")
	})
	must(t, err)
	if !strings.HasPrefix(st.Reason, "488") {
		t.Errorf("reason %q, want 488 Not Acceptable Here: ...m= lines...", st.Reason)
	}
	s.WaitOK(t)
}
