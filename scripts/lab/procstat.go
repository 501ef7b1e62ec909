package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcUsage is what a process has used so far, from Linux's /proc.
type ProcUsage struct {
	// CPU is user plus system time of all its threads (utime+stime of
	// /proc/PID/stat). Its resolution is one clock tick (10 ms at the
	// usual USER_HZ of 100): take differences over seconds.
	CPU time.Duration
	// RSS is the resident set now (VmRSS), PeakRSS its high-water mark
	// over the process's life (VmHWM), in bytes.
	RSS, PeakRSS int64
}

// ReadProcUsage reads the CPU time and memory of process pid.
func ReadProcUsage(pid int) (ProcUsage, error) {
	var u ProcUsage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("lab: process %d: %w", pid, err)
	}
	if u.CPU, err = parseStatCPU(stat); err != nil {
		return u, fmt.Errorf("lab: /proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, fmt.Errorf("lab: process %d: %w", pid, err)
	}
	if u.RSS, u.PeakRSS, err = parseStatusMemory(status); err != nil {
		return u, fmt.Errorf("lab: /proc/%d/status: %w", pid, err)
	}
	return u, nil
}

// parseStatCPU returns utime+stime (fields 14 and 15, proc(5)) of a
// /proc/PID/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses itself: fields are counted after the
// last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no ')' in %q", ErrOption, stat)
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: %d fields after the command name, want at least 13", ErrOption, len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	hz := clockTicks()
	return time.Duration(ticks/hz)*time.Second + time.Duration(ticks%hz)*time.Second/time.Duration(hz), nil
}

// parseStatusMemory returns VmRSS and VmHWM of /proc/PID/status, in bytes.
func parseStatusMemory(status []byte) (rss, hwm int64, err error) {
	found := 0
	for _, line := range strings.Split(string(status), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%w: %q", ErrOption, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("%w: no VmRSS and VmHWM (a kernel thread, or a zombie?)", ErrOption)
	}
	return rss, hwm, nil
}

var (
	clkTckOnce sync.Once
	clkTck     uint64
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: AT_CLKTCK from our
// own auxiliary vector (what sysconf(_SC_CLK_TCK) returns), else 100.
func clockTicks() uint64 {
	clkTckOnce.Do(func() {
		clkTck = 100
		b, err := os.ReadFile("/proc/self/auxv")
		if err != nil {
			return
		}
		const atClkTck = 17 // <linux/auxvec.h>
		w := strconv.IntSize / 8
		for i := 0; i+2*w <= len(b); i += 2 * w {
			var key, val uint64
			if w == 8 {
				key, val = binary.NativeEndian.Uint64(b[i:]), binary.NativeEndian.Uint64(b[i+w:])
			} else {
				key, val = uint64(binary.NativeEndian.Uint32(b[i:])), uint64(binary.NativeEndian.Uint32(b[i+w:]))
			}
			if key == atClkTck && val > 0 {
				clkTck = val
				return
			}
		}
	})
	return clkTck
}

// PIDWithArg returns the process whose command line has arg as one of its
// arguments (exactly), such as a config file in t.TempDir(). It is an
// error when no process, or more than one, has it.
func PIDWithArg(arg string) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("lab: %w", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // ended meanwhile, or not ours to read
		}
		if slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("lab: %w: %d processes with argument %q (%v), want 1", ErrOption, len(pids), arg, pids)
	}
	return pids[0], nil
}

// UDPPorts returns the local ports of the UDP sockets (IPv4 and IPv6)
// that process pid holds open, sorted.
func UDPPorts(pid int) ([]int, error) {
	dir := fmt.Sprintf("/proc/%d", pid)
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return nil, fmt.Errorf("lab: process %d: %w", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"udp", "udp6"} {
		b, err := os.ReadFile(filepath.Join(dir, "net", table))
		if err != nil {
			if table == "udp6" && os.IsNotExist(err) {
				continue // no IPv6 in this kernel
			}
			return nil, fmt.Errorf("lab: process %d: %w", pid, err)
		}
		p, err := parseUDPTable(b, inodes)
		if err != nil {
			return nil, fmt.Errorf("lab: %s/net/%s: %w", dir, table, err)
		}
		ports = append(ports, p...)
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// parseUDPTable returns the local ports of the sockets of a /proc/net/udp
// table whose inode is in inodes. Columns: sl local_address rem_address st
// tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...; addresses
// are ADDR:PORT in hex.
func parseUDPTable(b []byte, inodes map[string]bool) ([]int, error) {
	var ports []int
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 || !inodes[f[9]] {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			return nil, fmt.Errorf("%w: local address %q", ErrOption, f[1])
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			return nil, fmt.Errorf("local address %q: %w", f[1], err)
		}
		ports = append(ports, int(port))
	}
	return ports, nil
}

// PID is the process id of baresip (for ReadProcUsage, UDPPorts).
func (b *Baresip) PID() int { return b.p.cmd.Process.Pid }
