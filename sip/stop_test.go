package sip

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

// lockedBuf is a log sink safe for the UA's goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggedPhone is a phone registering at reg whose log goes to the
// returned buffer.
func loggedPhone(t *testing.T, reg registrarPeer) (*phone, *lockedBuf) {
	t.Helper()
	logs := &lockedBuf{}
	p := newPhone(t, "1001", "Alice", func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	err := p.StartRegistration(RegConfig{
		Registrars:  []string{reg.uri()},
		Credentials: Credentials{User: "1001", Password: "s3cret"},
		Expires:     120 * time.Second,
		Clock:       clock.NewFake(time.Unix(1e9, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, logs
}

// shutdownAsync runs Shutdown(ctx); the channel closes when it returned.
func shutdownAsync(p *phone, ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() { p.Shutdown(ctx); close(done) }()
	return done
}

func returned(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("Shutdown still running %v after its deadline", wait)
	}
}

// Issue 18 item 8: a registrar that stopped answering costs the stop
// deadline, not Timer F (64*T1), and the log says the unregister was given
// up for the deadline.
func TestShutdownGivesUpUnregisterAtDeadline(t *testing.T) {
	reg := newRegistrar(t)
	p, logs := loggedPhone(t, reg)
	m, _ := reg.next()
	reg.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)

	// The registrar goes silent: the unregister gets no answer; the
	// deadline comes (here: ctx cancelled) long before Timer F.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := shutdownAsync(p, ctx)
	if _, r := reg.next(); header(r, "Expires") != "0" {
		t.Fatalf("no unregister (Expires: 0) tried: %v", r)
	}
	cancel()
	returned(t, done)
	if l := logs.String(); !strings.Contains(l, "gave up unregistering") || !strings.Contains(l, context.Canceled.Error()) {
		t.Fatalf("the log does not say the unregister was given up for the deadline:\n%s", l)
	}
	nextReg(t, p, RegUnregistered)
}

// Issue 18 item 8: a REGISTER in flight when the phone stops (the
// registrar went down before answering) ends, and nothing unregisters
// from a registrar never registered at. (That it ends at once, not at
// Timer F, the interop test of the real binary shows: test timers make
// Timer F short here.)
func TestShutdownEndsRegisterInFlight(t *testing.T) {
	reg := newRegistrar(t)
	p, logs := loggedPhone(t, reg)
	reg.next() // never answered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	returned(t, shutdownAsync(p, ctx))
	if strings.Contains(logs.String(), "unregister") {
		t.Fatalf("unregistered from a registrar it never registered at:\n%s", logs)
	}
}
