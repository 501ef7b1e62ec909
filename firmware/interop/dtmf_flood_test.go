package interop

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// Issue 18 item 9: a flood of key presses through the real API during a
// call with baresip. Every request is either accepted (202) and all its
// keys reach baresip as RFC 4733 events, in order, or refused whole with
// 429 and Retry-After; the status counts no dropped press.
func TestDTMFFloodSentOrRefused(t *testing.T) {
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto})
	p := directPhone(t, "1003", b.URI())
	must(t, p.Hook(true))
	must(t, p.Keys("1003#"))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)

	// 8 clients, each pressing "0123456789" as fast as answers come, for
	// 1.5 s: far more than the phone sends (about 8 presses a second).
	const keys = "0123456789"
	var (
		mu                sync.Mutex
		accepted, refused int
		partial           []int // keys pressed by requests cut short
		other             []string
	)
	stop := time.Now().Add(1500 * time.Millisecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := p.Do("POST", "/api/v1/keys", "application/json", `{"keys":"`+keys+`"}`)
				if err != nil {
					mu.Lock()
					other = append(other, err.Error())
					mu.Unlock()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				switch {
				case resp.StatusCode == http.StatusAccepted:
					accepted++
				case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" &&
					strings.Contains(string(body), "none of these were pressed"):
					refused++
				case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" &&
					pressedOf(string(body)) >= 0:
					// The event queue filled under this request: it says
					// how many of its keys it pressed.
					partial = append(partial, pressedOf(string(body)))
				default:
					other = append(other, resp.Status+" "+string(body))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("answers neither 202 nor a whole 429: %q", other[:min(len(other), 5)])
	}
	n := accepted * len(keys)
	for _, k := range partial {
		n += k
	}
	t.Logf("%d requests accepted, %d cut short by a full event queue (%d presses in all), %d refused with 429",
		accepted, len(partial), n, refused)
	dropped := func() {
		t.Helper()
		st, err := p.Status()
		must(t, err)
		if st.DTMFDropped != 0 {
			t.Fatalf("status dtmf_dropped %d, want 0", st.DTMFDropped)
		}
	}
	dropped()
	if refused == 0 {
		t.Fatalf("the flood (%d requests accepted) was never refused: the test did not fill the queue", accepted)
	}

	// Every accepted press reaches baresip, in order: at about 8 a second,
	// with 10 s to spare.
	got := b.WaitDTMF(t, n, time.Duration(n)*250*time.Millisecond+within)
	if want := strings.Repeat(keys, accepted); len(partial) == 0 && got != want {
		t.Fatalf("baresip heard %d digits %q,\nwant %d: %q", len(got), got, n, want)
	}
	dropped()
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
}

// pressedOf is the count of keys pressed that a 429 for a full event queue
// reports ("phone busy after N of M keys"), or -1.
func pressedOf(body string) int {
	_, rest, ok := strings.Cut(body, "phone busy after ")
	if !ok {
		return -1
	}
	num, _, ok := strings.Cut(rest, " of ")
	if !ok {
		return -1
	}
	k, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return k
}
