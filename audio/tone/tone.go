package tone

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/phoned/audio"
)

// Sentinel errors wrapped by Parse.
var (
	ErrSyntax = errors.New("tone: syntax error")
	ErrRange  = errors.New("tone: value out of range")
)

const (
	// MaxFreqs is the most frequencies one segment may mix.
	MaxFreqs = 4
	// DefaultLevel is the level of each frequency when a segment gives none,
	// in dBm0 (the usual level of precise tones, ANSI T1.401 / Q.35).
	DefaultLevel = -13.0
	// MinLevel and MaxLevel bound a segment's level in dBm0; +3.17 dBm0 is
	// the G.711 overload point.
	MinLevel = -60.0
	MaxLevel = 3.0
	// MaxDuration bounds one segment's on-duration.
	MaxDuration = 60 * time.Second
	// ZeroDBm0Peak is the peak amplitude, in 16-bit units, of a 0 dBm0 sine:
	// full scale (32636, 8159 in G.711's 14-bit scale) 3.17 dB down
	// (ITU-T G.711 §5, Tables 5 and 6, the digital milliwatt).
	ZeroDBm0Peak = 22652.0
)

// Segment is one step of a cadence.
type Segment struct {
	// Freqs are the frequencies mixed, in Hz; empty means silence.
	Freqs []float64
	// Level is the level of each frequency in dBm0.
	Level float64
	// Duration is how long the segment plays; 0 means for ever.
	Duration time.Duration
}

// Tone is a parsed tone: a cadence of segments that repeats from the start
// unless a continuous segment ends it.
type Tone struct {
	Segments []Segment
}

// Peak returns the peak amplitude of one frequency at the segment's level.
func (s Segment) peak() float64 { return ZeroDBm0Peak * math.Pow(10, s.Level/20) }

// String returns t in the grammar Parse reads.
func (t Tone) String() string {
	var b strings.Builder
	for i, s := range t.Segments {
		if i > 0 {
			b.WriteByte(',')
		}
		if len(s.Freqs) == 0 {
			b.WriteByte('0')
		}
		for j, f := range s.Freqs {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
		}
		if len(s.Freqs) > 0 && s.Level != DefaultLevel {
			b.WriteByte('@')
			b.WriteString(strconv.FormatFloat(s.Level, 'f', -1, 64))
		}
		b.WriteByte('/')
		b.WriteString(strconv.FormatInt(s.Duration.Milliseconds(), 10))
	}
	return b.String()
}

// Period returns the length of one cadence cycle, or 0 if the tone ends
// in a continuous segment.
func (t Tone) Period() time.Duration {
	var d time.Duration
	for _, s := range t.Segments {
		if s.Duration == 0 {
			return 0
		}
		d += s.Duration
	}
	return d
}

// MustParse is Parse for presets known to be valid; it panics on error.
func MustParse(s string) Tone {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

// Parse reads a tone in the grammar described in the package comment.
func Parse(s string) (Tone, error) {
	if strings.TrimSpace(s) == "" {
		return Tone{}, fmt.Errorf("%w: empty tone", ErrSyntax)
	}
	var t Tone
	col := 1 // 1-based column of the current segment in s
	for i, raw := range strings.Split(s, ",") {
		lead := len(raw) - len(strings.TrimLeft(raw, " \t"))
		seg := strings.TrimSpace(raw)
		segCol := col + lead
		col += len(raw) + 1
		fail := func(sentinel error, offset int, format string, args ...any) (Tone, error) {
			return Tone{}, fmt.Errorf("%w: tone %q: segment %d %q at column %d: %s",
				sentinel, s, i+1, seg, segCol+offset, fmt.Sprintf(format, args...))
		}
		if n := len(t.Segments); n > 0 && t.Segments[n-1].Duration == 0 {
			return fail(ErrSyntax, 0, "unreachable: segment %d before it is continuous (/0)", n)
		}
		if seg == "" {
			return fail(ErrSyntax, 0, "empty segment")
		}
		slash := strings.IndexByte(seg, '/')
		if slash < 0 {
			return fail(ErrSyntax, len(seg), `missing "/ms" duration`)
		}
		var sg Segment
		ms, err := strconv.ParseUint(seg[slash+1:], 10, 32)
		if err != nil {
			return fail(ErrSyntax, slash+1, "bad duration %q: want whole milliseconds", seg[slash+1:])
		}
		sg.Duration = time.Duration(ms) * time.Millisecond
		if sg.Duration > MaxDuration {
			return fail(ErrRange, slash+1, "duration %d ms over the maximum %d ms", ms, MaxDuration.Milliseconds())
		}
		spec := seg[:slash]
		sg.Level = DefaultLevel
		if at := strings.IndexByte(spec, '@'); at >= 0 {
			lv, err := strconv.ParseFloat(spec[at+1:], 64)
			if err != nil || math.IsNaN(lv) {
				return fail(ErrSyntax, at+1, "bad level %q: want dBm0 such as -13", spec[at+1:])
			}
			if lv < MinLevel || lv > MaxLevel {
				return fail(ErrRange, at+1, "level %v dBm0 outside %v to %v", lv, MinLevel, MaxLevel)
			}
			sg.Level = lv
			spec = spec[:at]
		}
		off := 0
		silence := false
		for j, fs := range strings.Split(spec, "+") {
			f, err := strconv.ParseFloat(fs, 64)
			switch {
			case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
				return fail(ErrSyntax, off, "bad frequency %q: want Hz such as 440", fs)
			case f == 0:
				silence = true
			case f < 0 || f >= audio.SampleRate/2:
				return fail(ErrRange, off, "frequency %v Hz outside 0 to %d Hz", f, audio.SampleRate/2)
			default:
				sg.Freqs = append(sg.Freqs, f)
			}
			if silence && j > 0 {
				return fail(ErrSyntax, off, "0 (silence) cannot be mixed with other frequencies")
			}
			off += len(fs) + 1
		}
		if len(sg.Freqs) > MaxFreqs {
			return fail(ErrRange, 0, "%d frequencies, at most %d", len(sg.Freqs), MaxFreqs)
		}
		if sum := float64(len(sg.Freqs)) * sg.peak(); sum > math.MaxInt16 {
			return fail(ErrRange, 0, "%d frequencies at %v dBm0 peak at %.0f, over 16-bit full scale", len(sg.Freqs), sg.Level, sum)
		}
		t.Segments = append(t.Segments, sg)
	}
	return t, nil
}
