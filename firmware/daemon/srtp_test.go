package daemon

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

// srtpUA answers with the SDES outcome the real UA would give for local.
type srtpUA struct {
	*fakeUA
	local []sdp.Media // what Answer was given
	keys  sdp.SRTPKeys
}

func (u *srtpUA) Answer(id sip.CallID, local sdp.Media) (sdp.Negotiated, error) {
	n, err := u.fakeUA.Answer(id, local)
	u.local = append(u.local, local)
	if local.SRTP != sdp.SRTPOff && len(local.Crypto) > 0 {
		u.keys = sdp.SRTPKeys{Suite: sdp.AESCM128SHA1_80, Local: local.Crypto[0].Key, Remote: bytes.Repeat([]byte{7}, 30)}
		n.SRTP = u.keys
	}
	return n, err
}

// srtpEngine records the SRTP parameters of each leg started.
type srtpEngine struct {
	*fakeEngine
	legs []*rtpstream.SRTP
}

func (e *srtpEngine) StartLeg(id string, p rtpstream.Params) error {
	e.legs = append(e.legs, p.SRTP)
	e.add("StartLeg %s %s", id, p.Remote)
	if len(e.legs) == 1 { // a restart keeps the sockets
		p.Conn.Close()
		p.RTCPConn.Close()
	}
	return nil
}

func srtpGlue(t *testing.T, mode sdp.SRTPMode) (*glue, *srtpUA, *srtpEngine) {
	t.Helper()
	r := &rec{}
	ua := &srtpUA{fakeUA: &fakeUA{rec: r, fail: map[string]error{}}}
	eng := &srtpEngine{fakeEngine: &fakeEngine{rec: r, last: map[string]time.Time{}}}
	g := &glue{t: t, clk: clock.NewFake(time.Unix(1e6, 0)), log: r, ua: ua.fakeUA, eng: eng.fakeEngine}
	g.d = New(Options{
		Machine: phone.DefaultConfig(), User: "1001", Domain: "example.test",
		MediaIP: netip.MustParseAddr("127.0.0.1"), RTPMin: 20000, RTPMax: 30000, Codecs: []sdp.Codec{sdp.PCMU}, DTMF: 101,
		Tones: tone.US, SRTP: mode, Clock: g.clk, Logger: quietLogger(),
	}, Deps{Calls: ua, Tones: eng, Media: eng, Ringer: fakeBoard{r}, Lamps: fakeBoard{r}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.d.ctx = ctx
	g.d.start()
	g.log.take()
	return g, ua, eng
}

// Each call gets fresh keys (one per suite) in its SDP; the leg runs with
// the negotiated ones; the status names the suite; a re-INVITE that
// changes the keys restarts the leg with them.
func TestGlueSRTP(t *testing.T) {
	g, ua, eng := srtpGlue(t, sdp.SRTPRequired)
	g.sip(incoming("x1"))
	want(t, "answer", g.do(phone.Hook{OffHook: true}), "Answer x1", "StartLeg in-x1 127.0.0.1:40000")
	local := ua.local[0]
	if local.SRTP != sdp.SRTPRequired || len(local.Crypto) != 3 {
		t.Fatalf("answer media: srtp %v, %d keys", local.SRTP, len(local.Crypto))
	}
	leg := eng.legs[0]
	if leg == nil || leg.Suite != string(ua.keys.Suite) || !bytes.Equal(leg.Local, ua.keys.Local) || !bytes.Equal(leg.Remote, ua.keys.Remote) {
		t.Fatalf("leg srtp %v, want the negotiated keys", leg)
	}
	if st := g.d.Status(); len(st.Calls) != 1 || st.Calls[0].SRTP != "AES_CM_128_HMAC_SHA1_80" {
		t.Fatalf("status calls %+v", st.Calls)
	}

	// The far end re-INVITEs with a new key (RFC 4568 §7.1.4).
	rekeyed := ua.keys
	rekeyed.Remote = bytes.Repeat([]byte{9}, 30)
	got := g.sip(sip.Modified{ID: "x1", Media: sdp.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:40000"),
		Codec: sdp.PCMU, DTMF: 101, Ptime: 20, Direction: sdp.SendRecv, SRTP: rekeyed}})
	want(t, "rekey", got, "StartLeg in-x1 127.0.0.1:40000")
	if len(eng.legs) != 2 || !bytes.Equal(eng.legs[1].Remote, rekeyed.Remote) {
		t.Fatalf("legs after the new key: %v", eng.legs)
	}
	// The same keys again (a hold): the leg is only redirected.
	got = g.sip(sip.Modified{ID: "x1", Media: sdp.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:40000"),
		Codec: sdp.PCMU, DTMF: 101, Ptime: 20, Direction: sdp.RecvOnly, SRTP: rekeyed}})
	if len(eng.legs) != 2 {
		t.Fatalf("the leg restarted without a key change: %v", got)
	}

	// A second call has keys of its own.
	g.sip(sip.Ended{ID: "x1", Reason: "bye", Remote: true})
	g.do(phone.Hook{OffHook: false})
	g.sip(incoming("x2"))
	g.do(phone.Hook{OffHook: true})
	if len(ua.local) != 2 || bytes.Equal(ua.local[1].Crypto[0].Key, local.Crypto[0].Key) {
		t.Fatal("the second call reused the first call's key")
	}
}

// With SRTP off the SDP carries no keys and the leg is plain.
func TestGlueSRTPOff(t *testing.T) {
	g, ua, eng := srtpGlue(t, sdp.SRTPOff)
	g.sip(incoming("x1"))
	g.do(phone.Hook{OffHook: true})
	if len(ua.local[0].Crypto) != 0 || eng.legs[0] != nil {
		t.Fatalf("srtp off: %d keys offered, leg srtp %v", len(ua.local[0].Crypto), eng.legs[0])
	}
	if st := g.d.Status(); st.Calls[0].SRTP != "" {
		t.Fatalf("status srtp %q", st.Calls[0].SRTP)
	}
}
