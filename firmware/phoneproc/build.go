package phoneproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Build compiles phoned into dir for this process's GOOS/GOARCH and
// returns its path. When this machine cannot run that binary (the tests
// run for ARM under qemu-user, `make test-arm`), the path is a script that
// execs it under the matching qemu, so the ARM phoned is what gets tested
// and signals still reach it.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "phoned")
	// PHONED_GOFLAGS (the Makefile's build tags and inlining flags) makes
	// it the phoned that ships.
	args := append([]string{"build", "-o", bin}, strings.Fields(os.Getenv("PHONED_GOFLAGS"))...)
	out, err := exec.Command("go", append(args, "github.com/deskphone/phoned/firmware/cmd/phoned")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("phoneproc: building phoned: %w\n%s", err, out)
	}
	if exec.Command(bin, "-version").Run() == nil {
		return bin, nil
	}
	emu := map[string]string{"arm": "qemu-arm-static", "arm64": "qemu-aarch64-static"}[runtime.GOARCH]
	if emu == "" {
		return "", fmt.Errorf("phoneproc: cannot run phoned built for %s", runtime.GOARCH)
	}
	path, err := exec.LookPath(emu)
	if err != nil {
		return "", fmt.Errorf("phoneproc: phoned for %s needs %s: %w", runtime.GOARCH, emu, err)
	}
	if err := os.Rename(bin, bin+".bin"); err != nil {
		return "", err
	}
	script := fmt.Sprintf("#!/bin/sh\nexec %s %s.bin \"$@\"\n", path, bin)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		return "", err
	}
	return bin, nil
}
