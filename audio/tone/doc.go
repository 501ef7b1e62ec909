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
// Plans map names to tones. The built-in plans (Plans, Country) are data:
// plans.txt, embedded, one tone a line with its source (ITU-T E.180
// Supplement 2 and the national standards it cites), for us, uk, de, fr,
// it, nl, cn, jp and au. Every built-in plan defines every name in Names,
// including the ringer's cadences (Ring and the Bellcore distinctive rings).
// Plan.With layers a site's custom tones over a plan; its errors name the
// tone.
package tone
