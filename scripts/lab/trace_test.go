package lab

import (
	"strconv"
	"testing"
	"time"
)

// A registration through Kamailio, captured: REGISTER, 401, REGISTER, 200.
func TestTraceRegister(t *testing.T) {
	t.Parallel()
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"1002": "pw"}})
	tr := StartTrace(t, int(k.Addr().Port()))
	StartBaresip(t, BaresipOptions{User: "1002", Password: "pw", Registrar: k.Addr(), MicWAV: ToneWAV(t, 0, time.Second)})
	msgs, err := tr.Messages()
	if err != nil {
		t.Fatal(err)
	}
	var flow []string
	for _, m := range msgs {
		if m.Status != 0 {
			flow = append(flow, m.CSeq+" "+strconv.Itoa(m.Status))
		} else {
			flow = append(flow, m.Method)
		}
	}
	want := []string{"REGISTER", "REGISTER 401", "REGISTER", "REGISTER 200"}
	if len(flow) != len(want) {
		t.Fatalf("flow %v, want %v", flow, want)
	}
	for i := range want {
		if flow[i] != want[i] {
			t.Fatalf("flow %v, want %v", flow, want)
		}
	}
	rts := RegisterRoundTrips(msgs)
	if len(rts) != 1 || rts[0].Total <= 0 || rts[0].Authorized <= 0 || rts[0].Authorized > rts[0].Total {
		t.Fatalf("register times %+v", rts)
	}
}
