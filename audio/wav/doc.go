// Package wav reads and writes RIFF/WAVE files of linear PCM, enough for a
// sound device that plays from and records to files.
//
// Contract:
//   - Decode and ReadFile never panic on any input (FuzzDecode checks this);
//     a file that is not RIFF/WAVE, is truncated, or is not 16-bit PCM gets
//     an error wrapping one of the ErrXxx sentinels and naming what was found.
//     Unknown chunks (LIST, fact, ...) are skipped, odd chunk sizes honour
//     the RIFF pad byte, and WAVE_FORMAT_EXTENSIBLE with a PCM sub-format
//     counts as PCM. Memory grows with the bytes actually read, not with the
//     sizes a header claims.
//   - Writer writes a canonical 44-byte header and keeps the RIFF and data
//     sizes patched after every Write (one positioned write), so a crash
//     leaves a readable file; Close patches once more.
package wav
