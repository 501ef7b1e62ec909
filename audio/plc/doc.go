// Package plc conceals lost G.711 frames at 8 kHz, after ITU-T G.711
// Appendix I ("A high quality low-complexity algorithm for packet loss
// concealment with G.711").
//
// A Concealer sees every frame of the received signal. Good frames go into
// a 48.75 ms history. When a frame is lost, Conceal estimates the pitch
// period from the history (normalised cross-correlation over 20 ms for lags
// of 5 to 15 ms, coarse on every second sample then refined) and repeats
// the last period, joining the repetition to the real signal and each
// period to the next by overlap-add over a quarter period. After the first
// 10 ms of a loss the repeated buffer grows to two and then three periods
// (less buzzy), and the output fades by 20 % per 10 ms, reaching silence at
// 60 ms. The first good frame after a loss is cross-faded with the
// continued concealment over 4 ms plus 4 ms per further 10 ms lost (at
// most 10 ms), so neither end of a gap clicks.
//
// Like the reference, the Concealer delays the signal by Delay samples
// (3.75 ms): the last quarter period before a loss has not been played yet
// when the loss is seen, so it can still be overlap-added.
//
// Contract: Good and Conceal work in place on frames of any length (the
// work is done in blocks of at most 10 ms), never allocate and never
// panic; a Concealer is not safe for concurrent use. The zero value is
// ready to use.
package plc
