package main

import (
	"net"
	"strings"
	"testing"
)

// phoned -check FILE...: every problem as file:line: key: message, exit 0
// when all files are good, 1 when one is not, 2 without files; nothing is
// bound (a busy SIP port in a checked file is no problem).
func TestCheck(t *testing.T) {
	busy, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	good := writeConfig(t, "schema = 1\n[sip]\nlisten = \""+busy.LocalAddr().String()+"\"\n")
	bad := writeConfig(t, "schema = 1\n[sip]\nlistne = \"127.0.0.1:5060\"\n[phone]\nno_answer_timeout = 30\n[account]\npassword = 7\n")
	noSchema := writeConfig(t, "[log]\nlevel = \"info\"\n")

	code, out, errOut := runPhoned(t, "-check", good)
	if code != 0 || !strings.Contains(out, good+": ok") || errOut != "" {
		t.Fatalf("good file: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runPhoned(t, "-check", good, bad, noSchema)
	if code != 1 {
		t.Fatalf("bad files: code %d, want 1", code)
	}
	want := []string{
		bad + `:3: sip.listne: unknown key (did you mean "listen"?)`,
		bad + `:5: phone.no_answer_timeout: want a duration string with a unit, e.g. "30s" or "30ms", got the number 30`,
		bad + `:7: account.password: want a string, got integer`,
		noSchema + ":1: schema: required key missing: add the line `schema = 1` at the top of the file",
	}
	if got := strings.Split(strings.TrimSpace(errOut), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, strings.Join(want, "\n"))
	}
	if !strings.Contains(out, good+": ok") {
		t.Errorf("stdout %q: the good file is not reported ok", out)
	}
	if code, _, errOut := runPhoned(t, "-check"); code != 2 || !strings.Contains(errOut, "-check FILE") {
		t.Fatalf("no files: code %d, stderr %q", code, errOut)
	}
}

// Positional arguments are an error, not ignored (a mistyped -config).
func TestPositionalArgument(t *testing.T) {
	code, _, errOut := runPhoned(t, "configs/phoned.toml")
	if code != 2 || !strings.Contains(errOut, `unexpected argument "configs/phoned.toml"`) {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

// -print-config prints the effective config: defaults filled in, the
// password left out, and a file that phoned -check accepts.
func TestPrintConfig(t *testing.T) {
	path := writeConfig(t, "schema = 1\n[account]\nuser = \"1001\"\npassword = \"Zz-marker-pw\"\n")
	code, out, errOut := runPhoned(t, "-config", path, "-print-config")
	if code != 0 || errOut != "" {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{`user = "1001"`, `transport = "udp"`, `no_answer_timeout = "1m"`, "# password = (set, not shown)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Zz-marker-pw") {
		t.Fatalf("the password is printed:\n%s", out)
	}
	if code, _, errOut := runPhoned(t, "-check", writeConfig(t, out)); code != 0 {
		t.Fatalf("the printed config does not pass -check: %s", errOut)
	}
}
