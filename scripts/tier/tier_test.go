package tier

import (
	"strings"
	"testing"
)

func TestPackageNames(t *testing.T) {
	for prog, want := range map[string]string{"baresip": "baresip-core", "sipp": "sip-tester", "dumpcap": "tshark", "foo": "foo"} {
		if got := Package(prog); got != want {
			t.Errorf("Package(%q) = %q, want %q", prog, got, want)
		}
	}
	if m := Missing("sipp"); !strings.Contains(m, "apt-get install sip-tester") || strings.Contains(m, "\n") {
		t.Errorf("Missing(sipp) = %q", m)
	}
}

func TestEmulated(t *testing.T) {
	t.Setenv(EmulatedEnv, "")
	if Emulated() {
		t.Fatal("emulated with the variable empty")
	}
	t.Setenv(EmulatedEnv, "1")
	if !Emulated() {
		t.Fatal("not emulated with the variable set")
	}
}
