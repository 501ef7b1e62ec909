package cfgstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func set(name, data string) Set {
	return Set{Files: []File{{Name: name, Data: []byte(data)}}, Source: "provisioning", AppliedAt: time.Unix(1e9, 0).UTC()}
}

func TestSaveAndMarkGood(t *testing.T) {
	s, err := New(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(); !errors.Is(err, ErrNone) {
		t.Fatalf("empty store: %v", err)
	}
	a, b := set("common.toml", "schema = 1\n"), set("common.toml", "schema = 1\n[log]\nlevel = \"debug\"\n")
	if a.Hash() == b.Hash() || a.Hash() != set("common.toml", "schema = 1\n").Hash() {
		t.Fatal("hash does not follow the content")
	}
	must(t, s.Save(a))
	must(t, s.MarkGood())
	must(t, s.Save(b))
	cur, err := s.Current()
	must(t, err)
	good, err := s.LastGood()
	must(t, err)
	if cur.Hash() != b.Hash() || good.Hash() != a.Hash() {
		t.Fatalf("current %s (want %s), last good %s (want %s)", cur.Hash(), b.Hash(), good.Hash(), a.Hash())
	}
	must(t, s.Clear())
	if _, err := s.Current(); !errors.Is(err, ErrNone) {
		t.Fatalf("after Clear: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(s.dir, current), []byte("{torn"), 0o600))
	if _, err := s.Current(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unreadable file: %v, want ErrCorrupt", err)
	}
}

// A crash at any step of a write leaves the old set or the new one, never
// neither, and no temporary file survives the next start. (The real
// binary is killed with SIGKILL at each step in the interop tier.)
// Mutation: writing provisioned.json in place (no temp file and rename)
// leaves a truncated file at step "temp".
func TestCrashAtEveryStep(t *testing.T) {
	old, next := set("common.toml", "schema = 1\n# old\n"), set("common.toml", "schema = 1\n# new\n")
	for _, step := range []string{"temp", "synced", "renamed", "dir-synced"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			s, err := New(dir)
			must(t, err)
			must(t, s.Save(old))
			s.crash = func(at string) {
				if at == step {
					panic("crash")
				}
			}
			func() {
				defer func() { recover() }()
				s.Save(next)
			}()
			// What a crash left is old by the next start.
			tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
			for _, tmp := range tmps {
				old := time.Now().Add(-2 * staleTemp)
				must(t, os.Chtimes(tmp, old, old))
			}
			s2, err := New(dir)
			must(t, err)
			got, err := s2.Current()
			if err != nil || (got.Hash() != old.Hash() && got.Hash() != next.Hash()) {
				t.Fatalf("after a crash at %s: %v, hash %s", step, err, got.Hash())
			}
			if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(tmps) != 0 {
				t.Fatalf("temporary files left: %v", tmps)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A young temporary file is another writer's: New leaves it alone.
// Mutation: sweeping every temporary file fails the concurrent write.
func TestNewSparesAWriteInProgress(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	must(t, err)
	s.crash = func(step string) {
		if step == "synced" {
			if _, err := New(dir); err != nil { // another Store opening meanwhile
				t.Error(err)
			}
		}
	}
	must(t, s.Save(set("common.toml", "schema = 1\n")))
}
