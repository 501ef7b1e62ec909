package provision

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lf(name string) string { return filepath.Join("testdata", "leases", name) }

func TestLeaseURL(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{lf("networkd-160")}, "https://prov.lan/phones/{mac}/"},
		{[]string{lf("networkd-none")}, ""},                   // NEXT_SERVER is not option 66
		{[]string{lf("dhclient.leases")}, "http://10.0.0.5/"}, // the last lease block
		{[]string{lf("dhclient-hex.leases")}, "http://10.0.0.5:8080/p/"},
		{[]string{lf("udhcpc.lease")}, "http://prov.lan:8080/"},
		{[]string{lf("udhcpc-160.lease")}, "https://prov.lan/"},
		// Option 160 in a later file wins over 66 in an earlier one.
		{[]string{lf("dhclient.leases"), lf("udhcpc-160.lease")}, "https://prov.lan/"},
		{[]string{lf("missing"), lf("udhcpc.lease")}, "http://prov.lan:8080/"},
		{nil, ""},
	} {
		got, err := LeaseURL(tc.files...)
		if err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.files, got, err, tc.want)
		}
	}
}

func TestLeaseURLBadValues(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"opt160=tftp://prov.lan/\n", `scheme "tftp"`},
		{"tftp=bad host\n", "spaces or control characters"},
		{"tftp=under_score.lan\n", "neither a URL, a host name nor an IP"},
		{"lease {\n option tftp-server-name \"x;\n", "unterminated string"},
		{"lease {\n option tftp-server-name \"x\";\n", "lease block not closed"},
		{"lease {\n option unknown-160 zz:01;\n}\n", "neither a quoted string nor hex bytes"},
		{"opt160=https://u:p@prov.lan/\n", "carries credentials"},
	} {
		p := filepath.Join(dir, "l")
		os.WriteFile(p, []byte(tc.content), 0o600)
		_, err := LeaseURL(p)
		if !errors.Is(err, ErrLease) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v, want ErrLease naming the file and %q", tc.content, err, tc.want)
		}
	}
}

func TestLeaseValueURL(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5":          "http://10.0.0.5/",
		"prov.lan":          "http://prov.lan/",
		"fd00::5":           "http://[fd00::5]/",
		"[fd00::5]:8080":    "http://[fd00::5]:8080/",
		"https://p.lan/d/":  "https://p.lan/d/",
		"file:///srv/prov/": "file:///srv/prov/",
	} {
		if got, err := leaseValueURL(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
}

func FuzzParseLease(f *testing.F) {
	for _, name := range []string{"networkd-160", "networkd-none", "dhclient.leases", "dhclient-hex.leases", "udhcpc.lease", "udhcpc-160.lease"} {
		b, err := os.ReadFile(lf(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("lease {\n option unknown-160 \"\\101\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseLease(b)
		if err != nil {
			return
		}
		for _, v := range []string{o.opt66, o.opt160} {
			if v == "" {
				continue
			}
			if u, err := leaseValueURL(v); err == nil && !strings.Contains(u, "://") {
				t.Fatalf("%q became %q", v, u)
			}
		}
	})
}

func TestDefaultRouteIface(t *testing.T) {
	table := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
		"eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
		"eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
		"down0\t00000000\t0101A8C0\t0002\t0\t0\t1\t00000000\t0\t0\t0\n"
	if got, err := defaultRouteIface(strings.NewReader(table)); err != nil || got != "eth0" {
		t.Fatalf("%q %v, want eth0 (lowest metric, up)", got, err)
	}
	if _, err := defaultRouteIface(strings.NewReader(strings.Split(table, "\n")[0] + "\n")); !errors.Is(err, ErrNoMAC) {
		t.Fatalf("no default route: %v", err)
	}
	if got, err := FormatMAC([]byte{0, 0x11, 0x22, 0xaa, 0xbb, 0xcc}, "eth0"); err != nil || got != "001122aabbcc" {
		t.Fatalf("FormatMAC %q %v", got, err)
	}
	if _, err := FormatMAC(nil, "lo"); !errors.Is(err, ErrNoMAC) {
		t.Fatalf("no hardware address: %v", err)
	}
}

func FuzzDefaultRouteIface(f *testing.F) {
	f.Add("Iface\tDestination\n eth0\t00000000\t0\t0003\t0\t0\t0\t00000000\n")
	f.Fuzz(func(t *testing.T, s string) {
		name, err := defaultRouteIface(strings.NewReader(s))
		if err == nil && name == "" {
			t.Fatal("empty interface name without error")
		}
	})
}
