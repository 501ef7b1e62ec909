package config

import (
	"slices"
	"testing"

	"github.com/deskphone/phoned/board"
)

// The boards the config accepts are the boards the firmware has, both ways.
func TestBoardsMatchBoardPackage(t *testing.T) {
	names := board.Names()
	for _, n := range Boards {
		if _, err := board.Lookup(n); err != nil {
			t.Errorf("config.Boards has %q: %v", n, err)
		}
	}
	for _, n := range names {
		if !slices.Contains(Boards, n) {
			t.Errorf("board %q is missing from config.Boards", n)
		}
	}
}
