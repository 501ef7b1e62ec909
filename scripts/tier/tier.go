// Package tier marks which test tier a test belongs to, so that each tier
// runs where it can and says why it does not run elsewhere.
//
// The tiers (README, "Tests"):
//
//   - unit: no sockets to other processes, no real time, no sleeps; runs with
//     `go test -short` on any machine. Unit tests call nothing here.
//   - component: real sockets between stacks of ours, real time (never an
//     asserted wall-clock duration). [Component] skips them under -short.
//   - interop: real peers nobody here wrote (Kamailio, baresip, SIPp,
//     PulseAudio, tshark). [Interop] skips them under -short and fails, naming
//     the Debian package, when a peer is missing: inside `make test`
//     everything is installed, so nothing is skipped there.
//   - native only: tests that depend on the real-time behaviour of the CPU
//     (cadence through a real-time server, packets per interval, latency)
//     cannot hold under qemu-user's emulation. [NativeOnly] skips them when
//     the suite runs emulated (`make test-arm` sets PHONED_TEST_EMULATED=1)
//     with the test's own reason.
package tier

import (
	"os"
	"os/exec"
	"testing"
)

// EmulatedEnv is the environment variable `make test-arm` sets for the
// test binaries it runs under qemu-user.
const EmulatedEnv = "PHONED_TEST_EMULATED"

// packages maps a peer's program to the Debian package that ships it.
var packages = map[string]string{
	"kamailio":            "kamailio",
	"baresip":             "baresip-core",
	"sipp":                "sip-tester",
	"tshark":              "tshark",
	"dumpcap":             "tshark",
	"pulseaudio":          "pulseaudio",
	"pactl":               "pulseaudio-utils",
	"parec":               "pulseaudio-utils",
	"chromium":            "chromium",
	"nginx":               "nginx-light",
	"apache2":             "apache2",
	"qemu-arm-static":     "qemu-user-static",
	"qemu-aarch64-static": "qemu-user-static",
}

// Package names the Debian package that installs program (the program's
// own name when it is not one the lab knows).
func Package(program string) string {
	if p, ok := packages[program]; ok {
		return p
	}
	return program
}

// Component marks a component test: skipped under -short, with why.
func Component(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("component tier (runs without -short): " + why)
	}
}

// Interop marks a test that runs the named peer programs: skipped under
// -short; failed at once, in one line naming the package to install, when
// one is not on the PATH.
func Interop(t testing.TB, programs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop tier (runs without -short): needs real peers")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatal(Missing(p))
		}
	}
}

// Missing is the one-line message for a peer program that is not installed.
func Missing(program string) string {
	return program + " is not installed: apt-get install " + Package(program) + " (scripts/deps.sh installs every peer)"
}

// Emulated reports whether the tests run under CPU emulation (qemu-user).
func Emulated() bool { return os.Getenv(EmulatedEnv) != "" }

// NativeOnly skips a test that depends on the CPU keeping real time when
// it runs emulated; why says what it measures that emulation distorts.
func NativeOnly(t testing.TB, why string) {
	t.Helper()
	if Emulated() {
		t.Skip("native only (" + EmulatedEnv + " is set): " + why)
	}
}
