// Package tone generates call-progress tones (dial, ringback, busy, ...)
// from tone plans written in the compact grammar desk phones use, instead of
// storing recordings.
//
// Grammar (one tone):
//
//	tone    = segment *("," segment)
//	segment = freqs ["@" level] "/" ms
//	freqs   = freq *("+" freq)      ; Hz, up to MaxFreqs of them; "0" alone is silence
//	level   = dBm0 per frequency   ; e.g. "-13" (the default), -60 to +3
//	ms      = on-duration in ms    ; 0 = continuous (must be the last segment)
//
// Examples: US dial "350+440/0"; US ringback "440+480/2000,0/4000"; a single
// 1 kHz test tone at -10 dBm0 "1000@-10/0". A cadence without a continuous
// segment repeats from the first segment; end it with "0/0" to play it once.
//
// Contract: Parse reports bad input with an error wrapping ErrSyntax or
// ErrRange that names the segment, its column and what is wrong, and rejects
// tones whose summed peak would clip 16-bit PCM. Generator.Fill is
// phase-continuous across frames, never allocates and costs a few
// multiply-adds per sample per frequency (recursive oscillators, no table).
// Plans map names to tones; US holds the North American presets
// (ANSI T1.401 / Telcordia GR-506 frequencies and cadences) and later
// country plans go in Plans.
package tone
