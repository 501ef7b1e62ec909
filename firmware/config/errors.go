package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid is wrapped by every error that rejects a config file's
// content (syntax, unknown keys, wrong types, failed validation). I/O
// errors from Load (file missing, unreadable) do not wrap it.
var ErrInvalid = errors.New("invalid config")

// Error is one problem in a config file. Parse and Load return one or more
// of them joined with errors.Join; use errors.As to get the first, or
// Unwrap() []error on the joined error to get all of them.
//
// Its message is one line:
//
//	phoned.toml:12: audio.device: unknown device "alsa" (want pulse, wav, null or auto)
//	phoned.toml:5:10: syntax error: expected newline but got U+0062 'b'
//
// Messages never contain the value of account.password.
type Error struct {
	File   string // name given to Parse, or the path given to Load
	Line   int    // 1-based; 0 when unknown (Validate on a Config built in code)
	Column int    // 1-based; only set for syntax errors
	Field  string // dotted key path such as "audio.codecs[1]"; "" for syntax errors
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

// maxErrors bounds the problems listed for one file: past it an admin is
// looking at the wrong file, and the message must not flood the log.
const maxErrors = 100

// joinErrors sorts problems by position so that an admin reads them top to
// bottom, and joins them into one error (one problem per line).
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return joinSorted(errs)
}

// joinSorted joins problems in the order given, at most maxErrors of them.
func joinSorted(errs []*Error) error {
	if len(errs) > maxErrors {
		more := len(errs) - maxErrors
		last := *errs[maxErrors]
		last.Column, last.Field = 0, ""
		last.Msg = fmt.Sprintf("%d more problems not shown", more)
		errs = append(errs[:maxErrors], &last)
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// oneLine keeps a message (or a file name) on one line whatever it holds.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}
