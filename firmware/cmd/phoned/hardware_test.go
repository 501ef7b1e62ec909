package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/deskphone/phoned/board"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
)

// The machine's lamps reach the board's outputs: patterns on LEDs, on/off
// on the amplifier; a lamp the board lacks is ignored.
func TestPanelLamps(t *testing.T) {
	brd, err := board.Lookup("sim")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(0, 0))
	p, err := openPanel(brd, clk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	amp := &output.Memory{Name: "amp"}
	p.outputs["amp"] = amp
	p.SetLamp(string(phone.LampLine), string(phone.LampOn))
	p.SetLamp(string(phone.LampMute), string(phone.LampOn))
	p.SetLamp(string(phone.LampAmp), string(phone.LampOn))
	p.SetLamp("led_nonesuch", "on")
	for _, role := range []string{"led_line", "led_mute", "amp"} {
		if !p.outputs[role].(*output.Memory).On() {
			t.Errorf("%s off after SetLamp on", role)
		}
	}
	p.SetLamp(string(phone.LampLine), string(phone.LampBlink))
	clk.Advance(500 * time.Millisecond)
	if p.outputs["led_line"].(*output.Memory).On() {
		t.Error("blinking line lamp still on after half a period")
	}
	p.stop()
	if p.outputs["led_line"].(*output.Memory).On() || p.outputs["led_mute"].(*output.Memory).On() {
		t.Error("lamps left on after stop")
	}
}
