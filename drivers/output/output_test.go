package output

import (
	"errors"
	"testing"
)

func TestMemory(t *testing.T) {
	m := &Memory{Name: "ringer"}
	r := Ringer{Line: m}
	r.SetRinger(true, "")
	r.SetRinger(true, "")
	if !m.On() || m.Changes() != 1 {
		t.Fatalf("on=%t changes=%d, want true 1", m.On(), m.Changes())
	}
	r.SetRinger(false, "")
	if m.On() || m.Changes() != 2 {
		t.Fatalf("on=%t changes=%d, want false 2", m.On(), m.Changes())
	}
}

type broken struct{}

func (broken) Set(bool) error { return errors.New("gpio gone") }

func TestRingerSurvivesBrokenLine(t *testing.T) {
	Ringer{Line: broken{}}.SetRinger(true, "") // logs nothing without a logger, never panics
}
