package dialplan

import "testing"

const benchPlan = "[2-9]11|0T|011xxx.T|0[2-9]xxxxxxxxx|1[2-9]xxxxxxxxx|[2-9]xxxxxxxxx|[2-9]xxxT|*xx|9,1[2-9]xx[2-9]xxxxxx"

// BenchmarkMatch is the work per key press: the whole digit string is
// matched again after each key.
func BenchmarkMatch(b *testing.B) {
	p, err := Parse(benchPlan)
	if err != nil {
		b.Fatal(err)
	}
	for _, digits := range []string{"4", "4155551234", "01144207946012345"} {
		b.Run(digits, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Match(digits)
			}
		})
	}
}

// BenchmarkMatchBigPlan: 256 patterns (MaxPatterns), 20 digits.
func BenchmarkMatchBigPlan(b *testing.B) {
	s := benchPlan
	for len(s) < 3000 {
		s += "|[2-9]xx[0-3,6]xxx.T"
	}
	p, err := Parse(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Match("01144207946012345678")
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchPlan); err != nil {
			b.Fatal(err)
		}
	}
}
