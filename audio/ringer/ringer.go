package ringer

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/deskphone/phoned/audio/tone"
)

// Setter is what the phone's event loop drives: the daemon's Ringer.
type Setter interface {
	SetRinger(on bool, pattern string)
}

// Ringer renders ring cadences. Create it with New.
type Ringer struct {
	log *slog.Logger

	mu      sync.Mutex
	plan    tone.Plan
	gain    int32 // volume in 1/1024
	gen     *tone.Generator
	pattern tone.Name
}

// New returns a ringer for plan's ring tones at volume percent (0 to 100).
// A nil logger means slog.Default.
func New(plan tone.Plan, volume int, log *slog.Logger) *Ringer {
	if log == nil {
		log = slog.Default()
	}
	r := &Ringer{plan: plan, log: log.With("component", "ringer")}
	r.SetVolume(volume)
	return r
}

// SetVolume sets the ringer volume in percent, clamped to 0..100.
func (r *Ringer) SetVolume(percent int) {
	percent = min(max(percent, 0), 100)
	r.mu.Lock()
	r.gain = int32(percent * 1024 / 100)
	r.mu.Unlock()
}

// SetPlan changes the ring tones (a new config); a ring in progress keeps
// its cadence until the next SetRinger.
func (r *Ringer) SetPlan(plan tone.Plan) {
	r.mu.Lock()
	r.plan = plan
	r.mu.Unlock()
}

// SetRinger starts ringing the cadence alertInfo selects, or stops.
func (r *Ringer) SetRinger(on bool, alertInfo string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !on {
		if r.gen != nil {
			r.log.Info("ringer off")
		}
		r.gen, r.pattern = nil, ""
		return
	}
	name := Pattern(r.plan, alertInfo)
	t, ok := r.plan[name]
	if !ok {
		name, t = tone.Ring, r.plan[tone.Ring]
	}
	r.gen, r.pattern = tone.NewGenerator(t), name
	r.log.Info("ringer on", "pattern", string(name), "alert_info", alertInfo)
}

// Ringing reports whether the ringer rings and with which cadence.
func (r *Ringer) Ringing() (bool, tone.Name) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen != nil, r.pattern
}

// Fill writes the next samples of the ring, or silence when off.
func (r *Ringer) Fill(frame []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen == nil {
		clear(frame)
		return
	}
	r.gen.Fill(frame)
	if r.gain != 1024 {
		for i, s := range frame {
			frame[i] = int16(int32(s) * r.gain / 1024)
		}
	}
}

// Pattern returns the plan tone name alertInfo selects (see the package
// comment); tone.Ring when it selects nothing the plan has.
func Pattern(plan tone.Plan, alertInfo string) tone.Name {
	for _, v := range splitValues(alertInfo) {
		if n, ok := match(plan, v); ok {
			return n
		}
	}
	return tone.Ring
}

// splitValues splits an Alert-Info header value into its values
// (RFC 3261 §20.4: comma-separated "<URI> *(;param)"), lower-cased.
func splitValues(h string) []string {
	var out []string
	depth := 0
	start := 0
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '<':
			depth++
		case '>':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				out = append(out, strings.ToLower(strings.TrimSpace(h[start:i])))
				start = i + 1
			}
		}
	}
	return append(out, strings.ToLower(strings.TrimSpace(h[start:])))
}

var urns = map[string]tone.Name{
	"urn:alert:service:normal":  tone.Ring,
	"urn:alert:source:external": tone.Ring,
	"urn:alert:source:internal": tone.DistinctiveRing(2),
	"urn:alert:priority:high":   tone.DistinctiveRing(3),
	"urn:alert:service:forward": tone.DistinctiveRing(4),
	"alert-external":            tone.Ring,
	"alert-internal":            tone.DistinctiveRing(2),
	"alert-group":               tone.DistinctiveRing(4),
}

// match maps one Alert-Info value.
func match(plan tone.Plan, v string) (tone.Name, bool) {
	if i := strings.Index(v, "bellcore-dr"); i >= 0 {
		if rest := v[i+len("bellcore-dr"):]; rest != "" && rest[0] >= '1' && rest[0] <= '5' &&
			(len(rest) == 1 || rest[1] < '0' || rest[1] > '9') {
			return tone.DistinctiveRing(int(rest[0] - '0')), true
		}
	}
	uri, params := v, ""
	if strings.HasPrefix(v, "<") {
		if end := strings.IndexByte(v, '>'); end > 0 {
			uri, params = v[1:end], v[end+1:]
		}
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		uri, params = v[:i], v[i:]
	}
	var keys []string
	for _, p := range strings.Split(params, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "info" {
			keys = append(keys, strings.Trim(val, `"`))
		}
	}
	keys = append(keys, uri)
	for _, k := range keys {
		if n, ok := urns[k]; ok {
			return n, true
		}
		name := k
		if strings.HasPrefix(k, "urn:alert:") {
			name = k[strings.LastIndexByte(k, ':')+1:]
		}
		if rest, ok := strings.CutPrefix(name, "ring"); ok {
			rest = strings.TrimPrefix(rest, "-")
			if n, err := strconv.Atoi(rest); err == nil && n >= 1 && n <= 5 {
				return tone.DistinctiveRing(n), true
			}
		}
		if _, ok := plan[tone.Name(name)]; ok && strings.HasPrefix(name, "ring") {
			return tone.Name(name), true
		}
	}
	return "", false
}

// Tee returns a Setter that passes every call to each of rs in order.
func Tee(rs ...Setter) Setter { return tee(rs) }

type tee []Setter

func (t tee) SetRinger(on bool, pattern string) {
	for _, r := range t {
		r.SetRinger(on, pattern)
	}
}
