package sim

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
)

type fakePhone struct {
	mu      sync.Mutex
	offhook bool
	posted  []phone.Event
	changed chan struct{}
}

func (f *fakePhone) Status() daemon.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return daemon.Status{OffHook: f.offhook, Display: "[1001] idle"}
}
func (f *fakePhone) Post(ev phone.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posted = append(f.posted, ev)
	if h, ok := ev.(phone.Hook); ok {
		f.offhook = h.OffHook
	}
	return nil
}
func (f *fakePhone) Subscribe() (<-chan struct{}, func()) { return f.changed, func() {} }

func TestKeysBecomeEvents(t *testing.T) {
	p := &fakePhone{changed: make(chan struct{})}
	var out bytes.Buffer
	term := New(strings.NewReader(" 12#x h"), &out, false, p)
	if err := term.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []phone.Event{phone.Hook{OffHook: true}, phone.Key{Key: '1'}, phone.KeyRelease{Key: '1'},
		phone.Key{Key: '2'}, phone.KeyRelease{Key: '2'}, phone.Key{Key: '#'}, phone.KeyRelease{Key: '#'},
		phone.Hook{OffHook: false}, phone.Hook{OffHook: true}}
	if len(p.posted) != len(want) {
		t.Fatalf("posted %v, want %v", p.posted, want)
	}
	for i := range want {
		if p.posted[i] != want[i] {
			t.Fatalf("posted %v, want %v", p.posted, want)
		}
	}
	if !strings.Contains(out.String(), Help) || !strings.Contains(out.String(), "[1001] idle") {
		t.Fatalf("output lacks help or display: %q", out.String())
	}
	if !strings.Contains(out.String(), `[1001] idle  [unknown key 'x' (? for help)]`) {
		t.Fatalf("the display does not say the key is unknown: %q", out.String())
	}
}

func TestQuitStopsReading(t *testing.T) {
	p := &fakePhone{changed: make(chan struct{})}
	var out bytes.Buffer
	if err := New(strings.NewReader("1q2"), &out, false, p).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(p.posted) != 2 {
		t.Fatalf("posted %v, want only the key before q (press and release)", p.posted)
	}
}

func TestRawLogAboveDisplay(t *testing.T) {
	p := &fakePhone{changed: make(chan struct{})}
	var out bytes.Buffer
	term := New(strings.NewReader(""), &out, true, p)
	term.redraw(true)
	out.Reset()
	term.LogWriter().Write([]byte("level=INFO msg=hello\n"))
	if got, want := out.String(), "\r\033[Klevel=INFO msg=hello\r\n[1001] idle"; got != want {
		t.Fatalf("raw log = %q, want %q", got, want)
	}
}

func TestFunctionKeysAndFlash(t *testing.T) {
	p := &fakePhone{changed: make(chan struct{})}
	var out bytes.Buffer
	if err := New(strings.NewReader("fotcmrs?"), &out, false, p).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []phone.Event{phone.HookFlash{}, phone.FunctionKey{Name: phone.FnHold}, phone.FunctionKey{Name: phone.FnTransfer},
		phone.FunctionKey{Name: phone.FnConference}, phone.FunctionKey{Name: phone.FnMute}, phone.FunctionKey{Name: phone.FnRedial},
		phone.FunctionKey{Name: phone.FnSpeaker}}
	if len(p.posted) != len(want) {
		t.Fatalf("posted %v, want %v", p.posted, want)
	}
	for i := range want {
		if p.posted[i] != want[i] {
			t.Fatalf("posted %v, want %v", p.posted, want)
		}
	}
	if strings.Count(out.String(), Help) != 2 {
		t.Fatalf("help not shown again on '?': %q", out.String())
	}
}
