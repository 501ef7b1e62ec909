package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

func TestParseStatCPU(t *testing.T) {
	// The command name holds a space and a ')'; utime 250 and stime 50
	// ticks are fields 14 and 15.
	stat := "4242 (pho ned)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 12345 1000000 2000 18446744073709551615\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Duration(300) * time.Second / time.Duration(clockTicks()); got != want {
		t.Fatalf("CPU %v, want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("4242 phoned S 1")); err == nil {
		t.Error("a line without ')' parsed")
	}
	if _, err := parseStatCPU([]byte("4242 (phoned) S 1 2 3")); err == nil {
		t.Error("a short line parsed")
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\tphoned\nVmPeak:\t  800000 kB\nVmHWM:\t    9216 kB\nVmRSS:\t    8192 kB\nThreads:\t9\n"
	rss, hwm, err := parseStatusMemory([]byte(status))
	if err != nil || rss != 8192<<10 || hwm != 9216<<10 {
		t.Fatalf("rss %d, hwm %d, %v", rss, hwm, err)
	}
	if _, _, err := parseStatusMemory([]byte("Name:\tkthreadd\n")); !errors.Is(err, ErrOption) {
		t.Errorf("no memory lines: %v", err)
	}
}

func TestParseUDPTable(t *testing.T) {
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		"  1: 0100007F:4E20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 111 2 0000000000000000 0\n" +
		"  2: 0100007F:4E21 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 222 2 0000000000000000 0\n" +
		"  3: 00000000:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 333 2 0000000000000000 0\n"
	got, err := parseUDPTable([]byte(table), map[string]bool{"111": true, "333": true})
	if err != nil || !slices.Equal(got, []int{20000, 40000}) {
		t.Fatalf("ports %v, %v", got, err)
	}
}

// A child that spins: its CPU time grows, its memory is there, and its
// command line finds it. (A child, not this process: under qemu-user, as
// make test-arm runs us, our own /proc/PID/stat is qemu's, with no CPU
// times.)
func TestProcUsageOfChild(t *testing.T) {
	tier.Component(t, "a spinning child process, in real time")
	name := fmt.Sprintf("lab-proc-test-%d", os.Getpid())
	cmd := exec.Command("sh", "-c", "while :; do :; done", name) // name is the shell's $0
	if err := cmd.Start(); err != nil {
		t.Fatal("no sh:", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid, err := PIDWithArg(name)
	if err != nil || pid != cmd.Process.Pid {
		t.Fatalf("PIDWithArg(%q) = %d, %v; want %d", name, pid, err, cmd.Process.Pid)
	}
	u0, err := ReadProcUsage(pid)
	if err != nil {
		t.Fatal(err)
	}
	if u0.RSS <= 0 || u0.PeakRSS < u0.RSS {
		t.Fatalf("memory %+v", u0)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(50 * time.Millisecond)
		u1, err := ReadProcUsage(pid)
		if err != nil {
			t.Fatal(err)
		}
		if u1.CPU > u0.CPU {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU %v then %v after 5 s of spinning", u0.CPU, u1.CPU)
		}
	}
	if _, err := PIDWithArg("no-process-has-this-argument-" + name); !errors.Is(err, ErrOption) {
		t.Errorf("an argument nobody has: %v", err)
	}
	if _, err := ReadProcUsage(-1); err == nil {
		t.Error("usage of pid -1")
	}
}

// A UDP socket this process opens is among its UDPPorts.
func TestUDPPortsOfSelf(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ports, err := UDPPorts(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ports, c.LocalAddr().(*net.UDPAddr).Port) {
		t.Fatalf("our UDP port %v not in %v", c.LocalAddr(), ports)
	}
}
