package config

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/deskphone/phoned/firmware/tomlpos"
)

// MaxSize is the largest config file accepted, in bytes.
const MaxSize = 1 << 20

// maxEntries bounds the keys, table headers and array elements of a file;
// a real phone's file has well under a thousand.
const maxEntries = 5000

// maxDepth bounds the nesting of arrays and inline tables. The schema needs
// 2; the limit is there because the TOML parser recurses per level and a
// pushed file of a million '[' would otherwise exhaust the stack.
const maxDepth = 32

// Load reads the file at path and parses it with Parse, using path as the
// name in error messages. Relative audio.wav paths are then made absolute
// against the directory holding the file.
//
// I/O errors are returned wrapped with the path; they do not wrap ErrInvalid.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		dir = filepath.Dir(path)
	}
	c, err := parseIn(path, data, dir)
	if err != nil {
		return nil, err
	}
	ResolvePaths(c, dir)
	return c, nil
}

// ResolvePaths makes the config's relative file paths absolute against
// dir, the directory of the phone's own config file (Load does it).
func ResolvePaths(c *Config, dir string) {
	for _, p := range []*string{&c.Audio.WAV.Input, &c.Audio.WAV.Output, &c.Board.File,
		&c.Provisioning.CA, &c.Provisioning.ClientCert, &c.Provisioning.ClientKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	c.absAPIPaths(dir)
}

// Parse parses and validates a config file's content. name is only used in
// error messages. On error the Config is nil and the error lists every
// problem found, one per line, each wrapping ErrInvalid. Parse never panics.
func Parse(name string, data []byte) (cfg *Config, err error) {
	return parseIn(name, data, "")
}

// parseIn is Parse with relative sip.ca, sip.client_cert and
// sip.client_key made absolute against dir ("" leaves them) before they
// are read and checked.
func parseIn(name string, data []byte, dir string) (cfg *Config, err error) {
	name = oneLine(name)
	defer func() {
		if r := recover(); r != nil {
			// Not expected (the fuzz test looks for it); a pushed file must
			// never take the phone down, so it is refused instead.
			cfg, err = nil, joinErrors([]*Error{{File: name, Line: 1, Msg: oneLine(fmt.Sprintf("internal error: %v (please report this file)", r))}})
		}
	}()
	doc, tree, errs := read(name, data)
	if errs != nil {
		return nil, joinErrors(errs)
	}
	return decodeTree(doc, tree, dir)
}

// read parses one file's TOML into a tree, with the positions of its keys.
func read(name string, data []byte) (*document, map[string]any, []*Error) {
	if len(data) > MaxSize {
		return nil, nil, []*Error{{File: name, Line: 1, Msg: fmt.Sprintf("file too large (more than %d bytes)", MaxSize)}}
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // editors on other systems add a BOM
	doc := &document{name: name, data: data, lines: lineStarts(data)}
	parsed, probs := tomlpos.Parse(data, doc.lines, limits)
	if probs != nil {
		errs := make([]*Error, len(probs))
		for i, p := range probs {
			errs[i] = doc.problem(p)
			if p.Column > 0 && doc.nearSecret(p.Expr, p.Off) {
				errs[i].Msg = "syntax error: the value of account.password (or a key near it) is not valid TOML; details withheld so the password is not logged"
			}
		}
		return nil, nil, errs
	}
	doc.pos, doc.entries = parsed.Pos, parsed.Entries
	return doc, parsed.Tree, nil
}

// decodeTree decodes and validates a tree read from doc.
// Relative sip.ca, sip.client_cert and sip.client_key are made absolute
// against dir ("" leaves them) before they are read and checked.
func decodeTree(doc *document, tree map[string]any, dir string) (*Config, error) {
	d := &decoder{doc: doc}
	d.Fields = tomlpos.Fields{Fail: d.fail}
	c := d.decode(tree)
	c.SIP.absPaths(dir)
	if d.unsupported != nil {
		// Another schema's keys would only bury the one message that matters.
		return nil, doc.join([]*Error{d.unsupported})
	}
	// Validate even after type errors, so that one pass reports everything;
	// fields that failed to decode hold defaults and are not checked again.
	skip := map[string]bool{}
	for _, e := range d.errs {
		skip[e.Field] = true
	}
	if errs := append(d.errs, c.validate(doc, skip)...); len(errs) > 0 {
		return nil, doc.join(errs)
	}
	return c, nil
}

// document is the file being parsed, with the positions of its keys.
type document struct {
	name  string
	data  []byte
	lines []int // offset of the start of each line

	pos     map[string]int // key path (see fieldPath) -> line where it is set or its table header
	entries int            // keys, table headers and array elements
	// origin names the file that set each key path, for a config merged
	// from layers (layers.go); nil for one file.
	origin map[string]string
	files  []string // the layers' names, in order
}

func lineStarts(data []byte) []int { return tomlpos.LineStarts(data) }

// lineOf returns the 1-based line holding byte offset off.
func (d *document) lineOf(off int) int { return tomlpos.LineOf(d.lines, off) }

func (d *document) errorf(line int, field string, format string, args ...any) *Error {
	return &Error{File: d.name, Line: line, Field: field, Msg: oneLine(fmt.Sprintf(format, args...))}
}

// join joins problems sorted by line; for a layered config file by file
// in layer order first.
func (d *document) join(errs []*Error) error {
	if d.origin == nil {
		return joinErrors(errs)
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(slices.Index(d.files, a.File), slices.Index(d.files, b.File)),
			cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return joinSorted(errs)
}

// at is the file and line of a key path: for a layered config (layers.go)
// the file that set it.
func (d *document) at(path []string) (string, int) {
	if d.origin != nil {
		for i := len(path); i > 0; i-- {
			if o, ok := d.origin[fieldPath(path[:i])]; ok {
				return o, d.line(path)
			}
		}
	}
	return d.name, d.line(path)
}

// line is the line of a key path, or of the nearest table above it
// that appears in the file, or 1.
func (d *document) line(path []string) int {
	if d == nil {
		return 0
	}
	return tomlpos.Line(d.pos, path)
}

// limits are the bounds of maxEntries and maxDepth for package tomlpos.
var limits = tomlpos.Limits{Entries: maxEntries, Depth: maxDepth}

func (d *document) problem(p tomlpos.Problem) *Error {
	return &Error{File: d.name, Line: p.Line, Column: p.Column, Field: p.Field, Msg: p.Msg}
}

// nearSecret reports whether a syntax error at offset off, in the
// expression starting at offset expr, may be inside a password value:
// whether "password" appears between the start of expr's line and off. It
// errs on the side of withholding.
func (d *document) nearSecret(expr, off int) bool {
	if off >= len(d.data) {
		off = len(d.data) - 1
	}
	if off < 0 {
		return false
	}
	start := 0
	if expr >= 0 && expr <= off {
		start = d.lines[d.lineOf(expr)-1]
	}
	return bytes.Contains(bytes.ToLower(d.data[start:off+1]), []byte("password"))
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// elem is the path segment of array element i.
func elem(i int) string { return tomlpos.Elem(i) }

// fieldPath formats a key path the way error messages show it: keys joined
// with dots, quoted when they are not TOML bare keys, array elements as [i]:
// audio.codecs[1], directory."*21".
func fieldPath(path []string) string { return tomlpos.FieldPath(path) }
