// Package cfgstore keeps the provisioned config layers on the phone's
// state directory so that a power cut at any moment leaves a config that
// starts: the files in use and the last set known to register, each
// replaced atomically (RFC-less, POSIX: write a temporary file, fsync it,
// rename it over the old one, fsync the directory).
//
//	STATE_DIR/provisioned.json   the layers in use (fetched or pushed files)
//	STATE_DIR/last-good.json     the last layers that registered
//
// A file that does not read back (a torn write cannot happen, but a disk
// can fail) is reported and ignored: the phone starts on its own file.
package cfgstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrNone    = errors.New("cfgstore: nothing stored")
	ErrCorrupt = errors.New("cfgstore: stored layers unreadable")
)

// File is one stored layer.
type File struct {
	Name string `json:"name"` // where it came from: a URL, "api"
	Data []byte `json:"data"`
}

// Set is the layers applied together, over the phone's own file.
type Set struct {
	Files     []File    `json:"files"`
	Source    string    `json:"source"` // "provisioning", "push", "rollback"
	AppliedAt time.Time `json:"applied_at"`
}

// Hash is a short content hash of the set's files (names and bytes).
func (s Set) Hash() string {
	h := sha256.New()
	for _, f := range s.Files {
		fmt.Fprintf(h, "%d:%s:%d:", len(f.Name), f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Store is a state directory's stored layers.
type Store struct {
	dir string
	// crash, when set, is called at each step of a write with its name:
	// tests end the process there (the kill -9 test). Steps: "temp",
	// "synced", "renamed", "dir-synced".
	crash func(step string)
}

// staleTemp is the age after which a temporary file is one a crash left
// behind: a write takes milliseconds, and another Store on the same
// directory may be writing one right now.
const staleTemp = time.Minute

// New returns the store in dir, creating it (0700) when missing, and
// removes temporary files a power cut left behind (older than staleTemp).
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cfgstore: %w", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	for _, t := range tmps {
		if fi, err := os.Stat(t); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(t)
		}
	}
	return &Store{dir: dir, crash: crashHook()}, nil
}

const (
	current  = "provisioned.json"
	lastGood = "last-good.json"
)

// Current returns the layers in use; ErrNone when there are none.
func (s *Store) Current() (Set, error) { return s.read(current) }

// LastGood returns the last layers that registered; ErrNone when none.
func (s *Store) LastGood() (Set, error) { return s.read(lastGood) }

// Save makes set the layers in use.
func (s *Store) Save(set Set) error { return s.write(current, set) }

// MarkGood records the layers in use as known to work (they registered).
func (s *Store) MarkGood() error {
	set, err := s.Current()
	if errors.Is(err, ErrNone) {
		return os.Remove(filepath.Join(s.dir, lastGood)) // the phone's own file is the good one
	}
	if err != nil {
		return err
	}
	return s.write(lastGood, set)
}

// Clear removes the layers in use (back to the phone's own file).
func (s *Store) Clear() error {
	err := os.Remove(filepath.Join(s.dir, current))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	return err
}

func (s *Store) read(name string) (Set, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return Set{}, ErrNone
	}
	if err != nil {
		return Set{}, fmt.Errorf("cfgstore: %w", err)
	}
	var set Set
	if err := json.Unmarshal(b, &set); err != nil {
		return Set{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return set, nil
}

// write replaces name atomically with set.
func (s *Store) write(name string, set Set) error {
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return s.writeBytes(name, b)
}

// writeBytes replaces name atomically with b.
func (s *Store) writeBytes(name string, b []byte) error {
	f, err := os.CreateTemp(s.dir, "."+strings.TrimSuffix(name, ".json")+"-*.tmp")
	if err != nil {
		return fmt.Errorf("cfgstore: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("cfgstore: %w", err)
	}
	s.step("temp")
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cfgstore: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cfgstore: %w", err)
	}
	s.step("synced")
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("cfgstore: %w", err)
	}
	ok = true
	s.step("renamed")
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("cfgstore: %w", err)
	}
	s.step("dir-synced")
	return nil
}

func (s *Store) step(name string) {
	if s.crash != nil {
		s.crash(name)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

const rejected = "rejected.json"

// Rejection is a set that was rolled back: it is not applied again until
// its content changes.
type Rejection struct {
	Hash string    `json:"hash"`
	Why  string    `json:"why"`
	At   time.Time `json:"at"`
}

// Reject records a rolled-back set.
func (s *Store) Reject(r Rejection) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.writeBytes(rejected, b)
}

// Rejected returns the last rolled-back set, if any.
func (s *Store) Rejected() (Rejection, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, rejected))
	var r Rejection
	if err != nil || json.Unmarshal(b, &r) != nil {
		return Rejection{}, false
	}
	return r, true
}
