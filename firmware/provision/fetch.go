package provision

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
)

// CommonFile is the file every phone fetches first.
const CommonFile = "common.toml"

// File is one fetched file.
type File struct {
	Name string // "common.toml" or "<mac>.toml"
	URL  string // with the password never in it
	Data []byte
	Hash [32]byte // SHA-256 of Data
	ETag string
}

// Result is one fetch of the directory.
type Result struct {
	Files     []File // present files in merge order: common first, then the MAC file
	Unchanged bool   // every file answered 304 or has the hash last applied
}

// applied is what the caller last applied of one file.
type applied struct {
	etag string
	hash [32]byte
	data []byte
}

// Fetcher fetches a Source's files; it keeps the ETags and hashes of what
// the caller applied, so that a 304 or an identical body reads as
// unchanged. Safe for use by several goroutines (fetches are serialised).
type Fetcher struct {
	src    Source
	dir    *url.URL
	client *httpClient // nil for file://
	clk    clock.Clock
	log    *slog.Logger
	ua     string

	mu      sync.Mutex
	applied map[string]applied // by file name
}

// NewFetcher validates src and builds the client (CA and client
// certificate are read now, so a bad path is reported at once). A nil clk
// is the real clock, a nil log slog.Default().
func NewFetcher(src Source, clk clock.Clock, log *slog.Logger) (*Fetcher, error) {
	dir, err := src.directory()
	if err != nil {
		return nil, err
	}
	if src.PublicKey != nil && len(src.PublicKey) != 32 {
		return nil, fmt.Errorf("%w: public_key: %d bytes, want 32 (Ed25519)", ErrSource, len(src.PublicKey))
	}
	if log == nil {
		log = slog.Default()
	}
	if clk == nil {
		clk = clock.Real{}
	}
	f := &Fetcher{src: src, dir: dir, clk: clk, log: log, ua: src.userAgent(), applied: map[string]applied{}}
	if dir.Scheme != "file" {
		if f.client, err = newClient(src, dir.Host); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Fetch reads common.toml, then <mac>.toml, from the directory. Either may
// be absent (HTTP 404, or no such file), not both. With a public key each
// new file must come with a valid <file>.sig.
func (f *Fetcher) Fetch(ctx context.Context) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	start := f.clk.Now()
	var res Result
	res.Unchanged = true
	var missing []string
	for _, name := range []string{CommonFile, f.src.MAC + ".toml"} {
		file, state, err := f.fetchFile(ctx, name)
		if err != nil {
			f.log.Debug("provisioning: fetch failed", "file", name, "err", err) // the caller logs the check
			return Result{}, err
		}
		switch state {
		case stateAbsent:
			missing = append(missing, file.URL)
			if _, had := f.applied[name]; had {
				res.Unchanged = false // a file that went away changes the merge
			}
			continue
		case stateNew:
			if prev, had := f.applied[name]; !had || prev.hash != file.Hash {
				res.Unchanged = false
			}
		}
		res.Files = append(res.Files, file)
	}
	if len(res.Files) == 0 {
		return Result{}, fmt.Errorf("%w: neither %s nor %s exists", ErrNotFound, missing[0], missing[1])
	}
	f.log.Debug("provisioning: fetched", "dir", f.dir.Redacted(), "files", len(res.Files),
		"unchanged", res.Unchanged, "took", f.clk.Now().Sub(start))
	return res, nil
}

// Applied records the hashes and ETags of r as what the caller applied: a
// later fetch that finds the same is Unchanged.
func (f *Fetcher) Applied(r Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = map[string]applied{}
	for _, file := range r.Files {
		f.applied[file.Name] = applied{etag: file.ETag, hash: file.Hash, data: file.Data}
	}
}

type fileState int

const (
	stateNew         fileState = iota // a body was read
	stateNotModified                  // 304: the applied copy is returned
	stateAbsent                       // 404 or no such file
)

// fetchFile gets one file and, when a public key is set and the file is
// new, its signature.
func (f *Fetcher) fetchFile(ctx context.Context, name string) (File, fileState, error) {
	u := f.dir.JoinPath(name)
	file := File{Name: name, URL: u.Redacted()}
	prev, had := f.applied[name]
	etag := ""
	if had {
		etag = prev.etag
	}
	data, newTag, state, err := f.get(ctx, u, etag)
	if err != nil {
		return file, state, fmt.Errorf("%s: %w", file.URL, err)
	}
	switch state {
	case stateAbsent:
		return file, state, nil
	case stateNotModified:
		if !had {
			return file, state, fmt.Errorf("%s: %w: 304 Not Modified to a request without If-None-Match", file.URL, ErrStatus)
		}
		// RFC 9110 §15.4.5: 304 means the selected representation is the
		// one we hold.
		file.Data, file.Hash, file.ETag = prev.data, prev.hash, prev.etag
		return file, state, nil
	}
	file.Data, file.ETag = data, newTag
	file.Hash = sha256.Sum256(data)
	if had && prev.hash == file.Hash {
		return file, state, nil // same bytes as applied: already verified
	}
	if f.src.PublicKey != nil {
		if err := f.checkSignature(ctx, u, data); err != nil {
			return file, state, fmt.Errorf("%s: %w", file.URL, err)
		}
	}
	return file, state, nil
}

// get fetches u. etag, when set, is sent as If-None-Match.
func (f *Fetcher) get(ctx context.Context, u *url.URL, etag string) ([]byte, string, fileState, error) {
	if u.Scheme == "file" {
		return f.getFile(u)
	}
	hdr := http.Header{}
	hdr.Set("User-Agent", f.ua)
	hdr.Set("Accept", "application/toml, text/plain;q=0.9, */*;q=0.1")
	if etag != "" {
		hdr.Set("If-None-Match", etag) // RFC 9110 §13.1.2
	}
	resp, err := f.client.get(ctx, u, hdr)
	if err != nil {
		return nil, "", stateNew, describeTransportError(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, "", stateNotModified, nil
	case http.StatusNotFound, http.StatusGone:
		return nil, "", stateAbsent, nil
	case http.StatusUnauthorized:
		if f.src.User == "" {
			return nil, "", stateNew, fmt.Errorf("%w: 401 Unauthorized: the server wants credentials and provisioning.user is not set", ErrAuth)
		}
		return nil, "", stateNew, fmt.Errorf("%w: 401 Unauthorized: the server refused the credentials of user %q", ErrAuth, f.src.User)
	default:
		return nil, "", stateNew, statusError(resp)
	}
	// Read at most MaxSize+1 bytes: one more than allowed tells "too large".
	data, err := io.ReadAll(io.LimitReader(resp.Body, config.MaxSize+1))
	if err != nil {
		return nil, "", stateNew, fmt.Errorf("reading the body: %w", describeTransportError(err))
	}
	if len(data) > config.MaxSize {
		return nil, "", stateNew, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, config.MaxSize)
	}
	return data, resp.Header.Get("ETag"), stateNew, nil
}

// getFile reads a file:// URL; a missing file is absent.
func (f *Fetcher) getFile(u *url.URL) ([]byte, string, fileState, error) {
	path := filepath.FromSlash(u.Path)
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", stateAbsent, nil
	}
	if err != nil {
		return nil, "", stateNew, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, config.MaxSize+1))
	if err != nil {
		return nil, "", stateNew, err
	}
	if len(data) > config.MaxSize {
		return nil, "", stateNew, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, config.MaxSize)
	}
	return data, "", stateNew, nil
}

// describeTransportError turns a client error into one that says what
// happened in plain words, without the request URL (the caller names the
// file) and never with a password (none is ever in a URL or error here).
func describeTransportError(err error) error {
	for _, s := range []error{ErrRedirect, ErrAuth} {
		if errors.Is(err, s) {
			return err
		}
	}
	if r := tlsReason(err); r != "" {
		return fmt.Errorf("%w: %s", ErrTLS, r)
	}
	return err
}

// statusError names an unexpected status, with the page title when there
// is one. nginx answers a missing or foreign client certificate with 400
// and a page saying so: that is reported as a TLS failure.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	title := ""
	if i := strings.Index(string(body), "<title>"); i >= 0 {
		rest := string(body[i+len("<title>"):])
		if j := strings.Index(rest, "</title>"); j >= 0 {
			title = printable(rest[:j], 120)
		}
	}
	if resp.TLS != nil && resp.StatusCode == http.StatusBadRequest && strings.Contains(title, "SSL certificate") {
		return fmt.Errorf("%w: the server refused the client certificate: missing or not signed by a CA it trusts, check provisioning.client_cert (%s: %s)", ErrTLS, resp.Status, title)
	}
	if title != "" {
		return fmt.Errorf("%w: %s (%s)", ErrStatus, resp.Status, title)
	}
	return fmt.Errorf("%w: %s", ErrStatus, resp.Status)
}

// printable keeps at most n printable ASCII bytes of s.
func printable(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if s[i] >= 0x20 && s[i] < 0x7f {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
