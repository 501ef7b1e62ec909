package sdp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// MaskHandler wraps h so that no record it passes on carries an SDES key:
// the message and every attribute that reads "inline:<key>" (a whole SDP
// or SIP message logged as text, e.g. sipgo's message debug) is masked
// with MaskKeys. The SIP layer's logger goes through it.
func MaskHandler(h slog.Handler) slog.Handler { return maskHandler{h} }

type maskHandler struct{ h slog.Handler }

func (m maskHandler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m maskHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, maskString(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return m.h.Handle(ctx, out)
}

func (m maskHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = maskAttr(a)
	}
	return maskHandler{m.h.WithAttrs(masked)}
}

func (m maskHandler) WithGroup(name string) slog.Handler { return maskHandler{m.h.WithGroup(name)} }

func maskString(s string) string {
	if !strings.Contains(asciiLower(s), "inline:") {
		return s
	}
	return MaskKeys([]byte(s))
}

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, maskString(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = maskAttr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		// A body ([]byte, which handlers print as text), a message, an
		// error or a stringer: mask what it would print.
		if b, ok := v.Any().([]byte); ok {
			return slog.String(a.Key, maskString(string(b)))
		}
		if s := fmt.Sprint(v.Any()); strings.Contains(asciiLower(s), "inline:") {
			return slog.String(a.Key, MaskKeys([]byte(s)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
