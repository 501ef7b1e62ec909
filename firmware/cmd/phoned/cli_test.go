package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// phoned help, -h and -help list every command and every flag on a line
// of its own, on stdout, exit 0.
func TestHelp(t *testing.T) {
	var first string
	for _, args := range [][]string{{"help"}, {"-h"}, {"-help"}} {
		code, out, errOut := runPhoned(t, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: code %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"  run ", "  check FILE... ", "  print-config ", "  version ", "  help ",
			"  -config FILE ", "  -keypad MODE ", "  -check ", "  -print-config ", "  -version ", "  -h, -help "} {
			if !lineWith(out, want) {
				t.Errorf("%v: no line starting %q in:\n%s", args, want, out)
			}
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("%v prints another help than help", args)
		}
	}
	// Every flag the parser knows is in the help.
	for _, f := range []string{"config", "keypad", "check", "print-config", "version"} {
		if !strings.Contains(first, "-"+f+" ") {
			t.Errorf("flag -%s missing from the help", f)
		}
	}
}

func lineWith(out, prefix string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// The command words do what their old flags do, and the flags still work.
func TestCommandWordsAndAliases(t *testing.T) {
	cfg := writeConfig(t, "schema = 1\n[account]\nuser = \"1077\"\n")
	pairs := [][2][]string{
		{{"version"}, {"-version"}},
		{{"check", cfg}, {"-check", cfg}},
		{{"print-config", "-config", cfg}, {"-config", cfg, "-print-config"}},
		{{"-config", cfg, "print-config"}, {"-print-config", "-config", cfg}},
	}
	for _, p := range pairs {
		c1, o1, e1 := runPhoned(t, p[0]...)
		c2, o2, e2 := runPhoned(t, p[1]...)
		if c1 != 0 || c1 != c2 || o1 != o2 || e1 != e2 || o1 == "" {
			t.Fatalf("%v: %d %q %q; %v: %d %q %q", p[0], c1, o1, e1, p[1], c2, o2, e2)
		}
	}
	if _, out, _ := runPhoned(t, "print-config", "-config", cfg); !strings.Contains(out, `user = "1077"`) {
		t.Fatalf("print-config did not read -config:\n%s", out)
	}
	if code, _, errOut := runPhoned(t, "check"); code != 2 || !strings.Contains(errOut, "phoned check FILE...") {
		t.Fatalf("check without files: %d %q", code, errOut)
	}
}

// An unknown word or flag is an error with a hint, exit 2.
func TestUnknownCommand(t *testing.T) {
	code, out, errOut := runPhoned(t, "frobnicate")
	if code != 2 || out != "" || !strings.Contains(errOut, `unexpected argument "frobnicate": not a command (run, check, print-config, version, help)`) ||
		!strings.Contains(errOut, `"phoned help"`) {
		t.Fatalf("unknown word: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runPhoned(t, "-frobnicate")
	if code != 2 || !strings.Contains(errOut, "flag provided but not defined: -frobnicate") || !strings.Contains(errOut, `"phoned help" lists the commands and flags`) {
		t.Fatalf("unknown flag: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = runPhoned(t, "version", "extra")
	if code != 2 || !strings.Contains(errOut, `unexpected argument "extra" after "version"`) {
		t.Fatalf("extra argument: code %d, stderr %q", code, errOut)
	}
}

// Without -config the file next to the binary's install is used
// (<bin>/../configs/phoned.toml), then /etc/phoned/phoned.toml, never the
// working directory; with neither, the paths tried are named.
func TestDefaultConfigPath(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc", "phoned.toml")
	oldExe, oldEtc := executable, etcConfig
	t.Cleanup(func() { executable, etcConfig = oldExe, oldEtc })
	executable = func() (string, error) { return filepath.Join(root, "bin", "phoned"), nil }
	etcConfig = etc
	// The working directory has a configs/phoned.toml that must not be read.
	wd := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(wd, "configs"), 0o755))
	must(t, os.WriteFile(filepath.Join(wd, "configs", "phoned.toml"), []byte("schema = 1\n[account]\nuser = \"cwd\"\n"), 0o644))
	t.Chdir(wd)

	code, _, errOut := runPhoned(t, "print-config")
	tree := filepath.Join(root, "configs", "phoned.toml")
	if code != 2 || !strings.Contains(errOut, "no config file: tried "+tree+", "+etc+"; give one with -config FILE") {
		t.Fatalf("no default file: code %d, stderr %q", code, errOut)
	}
	must(t, os.MkdirAll(filepath.Dir(etc), 0o755))
	must(t, os.WriteFile(etc, []byte("schema = 1\n[account]\nuser = \"etc\"\n"), 0o644))
	if code, out, errOut := runPhoned(t, "print-config"); code != 0 || !strings.Contains(out, `user = "etc"`) {
		t.Fatalf("installed file: code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	must(t, os.MkdirAll(filepath.Dir(tree), 0o755))
	must(t, os.WriteFile(tree, []byte("schema = 1\n[account]\nuser = \"tree\"\n"), 0o644))
	if code, out, errOut := runPhoned(t, "print-config"); code != 0 || !strings.Contains(out, `user = "tree"`) {
		t.Fatalf("source tree file: code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzParseCLI: any command line is parsed or refused, never a panic; a
// parsed one names a known command, and only check takes arguments.
func FuzzParseCLI(f *testing.F) {
	for _, s := range []string{"", "help", "-h", "check\x00a.toml\x00b.toml", "-check\x00a.toml", "print-config\x00-config\x00x",
		"-config\x00x\x00version", "bogus", "-keypad\x00maybe", "--", "run\x00--\x00x", "-config="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		if s == "" {
			args = nil
		}
		var errb strings.Builder
		c, err := parseCLI(args, &errb)
		if err != nil {
			if errb.Len() == 0 && err == errUsage {
				t.Fatalf("%q refused without a word", args)
			}
			return
		}
		if !isCommand(c.cmd) || c.cmd != "check" && len(c.args) > 0 {
			t.Fatalf("%q parsed as %+v", args, c)
		}
	})
}
