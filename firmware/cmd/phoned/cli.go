package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The command line: a command word (run, check, print-config, version,
// help) and flags. The flags -check, -print-config and -version stay as
// aliases of their commands. Without -config the config file is found
// next to the binary's install (configFiles), not in the working
// directory.

// commands lists the command words with their one-line help, in the order
// `phoned help` shows them.
var commands = []struct{ name, args, help string }{
	{"run", "", "run the phone (the default when no command is given)"},
	{"check", "FILE...", "check config files and exit: each problem as file:line: key: message; 0 all good, 1 not, 2 no file named"},
	{"print-config", "", "print the effective config (defaults filled in, secrets left out) and exit"},
	{"version", "", "print the version and exit"},
	{"help", "", "print this help and exit (also -h, -help)"},
}

// flagHelp is the one-line help of each flag, with its argument's name.
var flagHelp = []struct{ name, arg, help string }{
	{"config", "FILE", "config file; default: the first of " + strings.Join(configFilesHelp(), ", ") + " that exists"},
	{"keypad", "MODE", "sim board keypad on the terminal: auto (when stdin is a terminal), on, off"},
	{"check", "", "the check command: phoned -check FILE..."},
	{"print-config", "", "the print-config command"},
	{"version", "", "the version command"},
	{"h, -help", "", "the help command"},
}

// cli is a parsed command line.
type cli struct {
	cmd     string   // one of commands
	args    []string // after the command (check: the files)
	cfgPath string   // -config, "" when not given
	keypad  string
}

// errUsage is a command line that is wrong; its message is already out.
var errUsage = errors.New("usage")

// parseCLI reads args. -h, -help and the help command set cmd "help".
func parseCLI(args []string, stderr io.Writer) (cli, error) {
	var c cli
	fs := flag.NewFlagSet("phoned", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // the hint below, not the flag package's dump
	fs.StringVar(&c.cfgPath, "config", "", "config file")
	fs.StringVar(&c.keypad, "keypad", "auto", "sim board keypad")
	check := fs.Bool("check", false, "the check command")
	printConfig := fs.Bool("print-config", false, "the print-config command")
	version := fs.Bool("version", false, "the version command")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.cmd, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.cmd = "help"
			return c, nil
		}
		fmt.Fprintln(stderr, `phoned: "phoned help" lists the commands and flags`)
		return c, errUsage
	}
	c.args = fs.Args()
	if c.cmd == "" && len(c.args) > 0 && !*check {
		c.cmd, c.args = c.args[0], c.args[1:]
	}
	switch {
	case *check:
		c.cmd = "check"
	case *printConfig:
		c.cmd = "print-config"
	case *version:
		c.cmd = "version"
	case c.cmd == "":
		c.cmd = "run"
	}
	if !isCommand(c.cmd) {
		fmt.Fprintf(stderr, "phoned: unexpected argument %q: not a command (%s); \"phoned help\" lists them, and a config file is given with -config FILE\n",
			c.cmd, commandNames())
		return c, errUsage
	}
	if c.cmd != "check" && len(c.args) > 0 {
		fmt.Fprintf(stderr, "phoned: unexpected argument %q after %q: give the config file with -config FILE (or check files with phoned check FILE...)\n", c.args[0], c.cmd)
		return c, errUsage
	}
	if c.keypad != "auto" && c.keypad != "on" && c.keypad != "off" {
		fmt.Fprintf(stderr, "phoned: -keypad %q: want auto, on or off\n", c.keypad)
		return c, errUsage
	}
	return c, nil
}

func isCommand(s string) bool {
	for _, c := range commands {
		if c.name == s {
			return true
		}
	}
	return false
}

func commandNames() string {
	var n []string
	for _, c := range commands {
		n = append(n, c.name)
	}
	return strings.Join(n, ", ")
}

// printHelp writes `phoned help`: every command and flag on a line.
func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: phoned [COMMAND] [-config FILE] [-keypad MODE]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-22s %s\n", strings.TrimSpace(c.name+" "+c.args), c.help)
	}
	fmt.Fprintln(w, "\nflags:")
	for _, f := range flagHelp {
		fmt.Fprintf(w, "  %-22s %s\n", strings.TrimSpace("-"+f.name+" "+f.arg), f.help)
	}
}

// executable and etcConfig are where the default config is looked for;
// tests replace them.
var (
	executable = os.Executable
	etcConfig  = "/etc/phoned/phoned.toml"
)

// configFiles lists the default config files in the order they are
// tried: <dir of the binary>/../configs/phoned.toml (a source tree's
// bin/phoned), then /etc/phoned/phoned.toml (an install).
func configFiles() []string {
	var files []string
	// On Linux os.Executable reads /proc/self/exe: the binary's real
	// path, symlinks (a /usr/bin/phoned link to an install) resolved.
	if exe, err := executable(); err == nil {
		files = append(files, filepath.Join(filepath.Dir(filepath.Dir(exe)), "configs", "phoned.toml"))
	}
	return append(files, etcConfig)
}

func configFilesHelp() []string {
	return []string{"<dir of the binary>/../configs/phoned.toml", etcConfig}
}

// findConfig returns the first default config file that exists, or an
// error naming every path tried.
func findConfig() (string, error) {
	files := configFiles()
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			return f, nil
		}
	}
	return "", fmt.Errorf("no config file: tried %s; give one with -config FILE", strings.Join(files, ", "))
}
