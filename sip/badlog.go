package sip

import (
	"context"
	"log/slog"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

// badPacketMax is how much of an unparseable message is logged.
const badPacketMax = 120

// badPacketHandler sits between sipgo and the UA's log. sipgo logs each
// message it cannot parse at ERROR with the whole datagram ("failed to
// parse", sip/transport_udp.go and transport_tcp.go in v1.7.2): a flood of
// junk would fill the log. Those records are turned to DEBUG, their data
// cut to badPacketMax bytes, and let through at most once a second with
// the count held back since. Every other record passes unchanged.
type badPacketHandler struct {
	next slog.Handler
	rate *rateLog
}

func newBadPacketHandler(next slog.Handler, clk clock.Clock) slog.Handler {
	return &badPacketHandler{next: next, rate: &rateLog{clk: clk, every: time.Second}}
}

func (h *badPacketHandler) Enabled(ctx context.Context, l slog.Level) bool {
	// A parse error is logged at debug: ask for that level, not sipgo's.
	return h.next.Enabled(ctx, l) || (l == slog.LevelError && h.next.Enabled(ctx, slog.LevelDebug))
}

func (h *badPacketHandler) Handle(ctx context.Context, r slog.Record) error {
	// "Read filter error": our read filter closed a stream whose framing
	// failed (readfilter.go), which it logged itself.
	if r.Message == "Read filter error" {
		return nil
	}
	if r.Message != "failed to parse" {
		if !h.next.Enabled(ctx, r.Level) {
			return nil
		}
		return h.next.Handle(ctx, r)
	}
	if !h.next.Enabled(ctx, slog.LevelDebug) {
		return nil
	}
	ok, held := h.rate.allow()
	if !ok {
		return nil
	}
	out := slog.NewRecord(r.Time, slog.LevelDebug, "unparseable SIP message dropped", r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "data" {
			s := a.Value.String()
			out.AddAttrs(slog.Int("bytes", len(s)), slog.String("data", truncate(s, badPacketMax)))
			return true
		}
		if a.Key == "error" {
			out.AddAttrs(slog.String("error", truncate(a.Value.String(), badPacketMax)))
			return true
		}
		out.AddAttrs(a)
		return true
	})
	out.AddAttrs(slog.Int("not_logged", held))
	return h.next.Handle(ctx, out)
}

func (h *badPacketHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &badPacketHandler{next: h.next.WithAttrs(as), rate: h.rate}
}

func (h *badPacketHandler) WithGroup(name string) slog.Handler {
	return &badPacketHandler{next: h.next.WithGroup(name), rate: h.rate}
}

// truncate cuts s to n bytes, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(truncated)"
}
