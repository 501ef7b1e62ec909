package board

import (
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	b, err := Lookup("sim")
	if err != nil || b.Keypad != "terminal" {
		t.Fatalf("sim: %+v %v", b, err)
	}
	_, err = Lookup("yealink-t46")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), `"yealink-t46"`) || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("unknown board error = %v", err)
	}
}
