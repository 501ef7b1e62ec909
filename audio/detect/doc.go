// Package detect finds tones in blocks of 16-bit PCM with the Goertzel
// algorithm (a single-bin DFT, G. Goertzel 1958; as used for DTMF detection
// in ITU-T Q.24 receivers).
//
// Contract: all functions are pure, allocation-free and safe for concurrent
// use. Goertzel returns raw power; Fraction normalises it to the share of the
// block's energy that lies at one frequency (1.0 for a pure sine exactly at
// that frequency, about 1/k for each component of a k-tone mix of equal
// levels); Present and Dominant decide with the documented Threshold and
// MinRMS. A 20 ms block (160 samples, 50 Hz resolution) separates 700 Hz from
// 1100 Hz by well over 30 dB, with or without a G.711 round trip.
package detect
