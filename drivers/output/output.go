// Package output drives the board's on/off outputs: the ringer, LEDs,
// amplifier and path enables. Line is the seam; GPIO lines (periph.io)
// implement it on hardware, Memory on the simulated board and in tests.
package output

import (
	"log/slog"
	"sync"
)

// Line is one on/off output.
type Line interface {
	Set(on bool) error
}

// Memory is an output held in memory: the simulated board's ringer and
// LEDs. It remembers its level and how often it changed, and logs changes.
type Memory struct {
	Name string
	Log  *slog.Logger

	mu      sync.Mutex
	on      bool
	changes int
}

// Set sets the level.
func (m *Memory) Set(on bool) error {
	m.mu.Lock()
	changed := m.on != on
	if changed {
		m.on = on
		m.changes++
	}
	m.mu.Unlock()
	if changed && m.Log != nil {
		m.Log.Debug("output", "line", m.Name, "on", on)
	}
	return nil
}

// On reports the level.
func (m *Memory) On() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.on
}

// Changes reports how many times the level changed.
func (m *Memory) Changes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changes
}

// Ringer adapts a Line to the phone's ringer, logging a failing line
// instead of stopping the phone.
type Ringer struct {
	Line Line
	Log  *slog.Logger
}

// SetRinger turns the ringer on or off. A plain on/off line has one
// cadence, so the pattern is not used.
func (r Ringer) SetRinger(on bool, _ string) {
	if err := r.Line.Set(on); err != nil && r.Log != nil {
		r.Log.Warn("ringer output failed", "on", on, "err", err)
	}
}
