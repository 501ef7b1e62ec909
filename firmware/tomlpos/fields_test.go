package tomlpos

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	known := []string{"listen", "transport", "user_agent", "password", "dscp", "ptime"}
	for _, tt := range []struct{ key, want string }{
		{"listne", "listen"},
		{"Listen", "listen"},
		{"user-agent", "user_agent"},
		{"passwd", "password"},
		{"transprot", "transport"},
		{"dcsp", ""}, // two edits on a four-letter key: too far to guess
		{"dsc", "dscp"},
		{"volume", ""},
		{"", ""},
		{strings.Repeat("x", 10000), ""},
	} {
		if got := Suggest(tt.key, known); got != tt.want {
			t.Errorf("Suggest(%.20q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func FuzzSuggest(f *testing.F) {
	f.Add("listne")
	f.Add("")
	f.Fuzz(func(t *testing.T, k string) {
		s := Suggest(k, []string{"listen", "transport", "a"})
		if s != "" && s != "listen" && s != "transport" && s != "a" {
			t.Fatalf("suggested %q", s)
		}
	})
}
