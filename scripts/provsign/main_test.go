package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/deskphone/phoned/firmware/provision"
)

func TestGenkeySignVerify(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "prov.key")
	var out, errb bytes.Buffer
	if rc := run([]string{"-genkey", key}, &out, &errb); rc != 0 {
		t.Fatalf("genkey: %d %s", rc, errb.String())
	}
	if rc := run([]string{"-genkey", key}, &out, &errb); rc != 1 {
		t.Fatal("genkey overwrote an existing key")
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v", st.Mode().Perm())
	}
	pubText, _ := os.ReadFile(key + ".pub")
	pub, err := provision.ParsePublicKey(string(pubText))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "common.toml")
	os.WriteFile(file, []byte("schema = 1\n"), 0o644)
	if rc := run([]string{"-key", key, file}, &out, &errb); rc != 0 {
		t.Fatalf("sign: %d %s", rc, errb.String())
	}
	sig, _ := os.ReadFile(file + ".sig")
	if err := provision.VerifySignature(pub, []byte("schema = 1\n"), sig); err != nil {
		t.Fatalf("the phone refuses provsign's signature: %v", err)
	}
	if err := provision.VerifySignature(pub, []byte("schema = 2\n"), sig); !errors.Is(err, provision.ErrSignature) {
		t.Fatalf("a changed file verified: %v", err)
	}
	if rc := run([]string{"-key", key}, &out, &errb); rc != 2 {
		t.Fatalf("no FILE: rc %d, want 2", rc)
	}
}
