// Command provsign signs provisioning files for phones whose config sets
// provisioning.public_key (firmware/provision: every fetched file needs a
// detached Ed25519 signature, FILE.sig).
//
//	go run ./scripts/provsign -genkey KEY    # writes KEY (private, PEM PKCS#8, mode 0600) and KEY.pub
//	go run ./scripts/provsign -key KEY FILE... # writes FILE.sig for each FILE
//
// KEY.pub holds the base64 of the 32-byte public key: put it in the
// phones' config as provisioning.public_key. FILE.sig is the base64 of the
// 64-byte signature and a newline. The phone also accepts raw 64-byte
// signatures, so OpenSSL can sign too (openssl genpkey -algorithm ed25519
// -out KEY; openssl pkeyutl -sign -rawin -inkey KEY -in FILE -out FILE.sig).
// Sign a file again after every change: a signature covers the bytes only.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/deskphone/phoned/firmware/provision"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("provsign", flag.ContinueOnError)
	fl.SetOutput(stderr)
	genkey := fl.String("genkey", "", "write a new key pair: `KEY` (private) and KEY.pub")
	key := fl.String("key", "", "sign each FILE with the private `KEY`, writing FILE.sig")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	switch {
	case *genkey != "" && *key == "" && fl.NArg() == 0:
		if err := genKey(*genkey); err != nil {
			fmt.Fprintln(stderr, "provsign:", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s and %s.pub\n", *genkey, *genkey)
		return 0
	case *key != "" && *genkey == "" && fl.NArg() > 0:
		priv, err := readKey(*key)
		if err != nil {
			fmt.Fprintln(stderr, "provsign:", err)
			return 1
		}
		for _, f := range fl.Args() {
			if err := sign(priv, f); err != nil {
				fmt.Fprintln(stderr, "provsign:", err)
				return 1
			}
			fmt.Fprintf(stdout, "wrote %s%s\n", f, provision.SigSuffix)
		}
		return 0
	}
	fmt.Fprintln(stderr, "usage: provsign -genkey KEY | provsign -key KEY FILE...")
	return 2
}

func genKey(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err // never overwrite a key
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".pub", []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644)
}

func readKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM PRIVATE KEY (PKCS#8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New(path + ": not an Ed25519 key")
	}
	return priv, nil
}

func sign(priv ed25519.PrivateKey, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sig := ed25519.Sign(priv, data)
	return os.WriteFile(path+provision.SigSuffix, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"), 0o644)
}
