// Package config loads and validates phoned's config file: one TOML file,
// the unit that provisioning pushes to a phone. The reference for every key
// (type, default, validation) is configs/README.md; configs/phoned.toml
// shows every key with its default and is tested to equal Default().
//
// # Contract
//
//   - All or nothing. Parse and Load return a complete, valid *Config or a
//     nil Config and an error; a caller keeps running on its current Config
//     when a pushed file is refused. Parse never panics, whatever the input
//     (FuzzParse), and bounds the input before the TOML parser sees it: size
//     (MaxSize), nesting and dotted-key depth (32), and keys, tables and
//     array elements (5000); at most 100 problems are listed.
//   - Strict. Unknown keys, at any level including [directory] entries,
//     and values of the wrong TOML type are errors, never ignored. The file
//     must say schema = 1 (SchemaVersion); another version is refused with
//     that single message, not a list of unknown keys.
//   - Every problem at once. Errors are sorted by line and joined (one
//     problem per line, each an *Error wrapping ErrInvalid), formatted
//     file:line: field: message, or file:line:column: syntax error: ... for
//     TOML syntax. A missing key is reported at its table's header line, or
//     line 1 when the file has no such table.
//   - Defaults. Every optional key has a default (Default()). Keys whose
//     default depends on another key (account.auth_user, account.domain,
//     sip.user_agent) stay "" in the struct; the accessors AuthUser, Domain
//     and UserAgent resolve them.
//   - Parsed once. Addresses are parsed during validation and kept:
//     SIPListen, APIListen. A Config changed in code must pass Validate.
//   - Paths. Load makes relative audio.wav paths, board.file, api.cert,
//     api.key and system.state_dir absolute against the
//     directory of the config file; Parse, which has no directory, leaves
//     them as written. Files are not opened here: the audio device reports
//     a missing WAV file when it starts.
//   - Secrets. account.password and api.password are Secrets: fmt, slog and JSON print
//     "[redacted]"; no error message contains it, including TOML syntax
//     errors inside or near it and sip: URIs carrying user:password@.
//
// The TOML is parsed by package tomlpos into a generic tree with the line
// of every key (and of keys or tables defined twice), in one pass.
package config
