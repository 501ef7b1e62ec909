package rtcp

import (
	"log/slog"
	"math"
	"time"
)

// Summary is the call-quality summary of one call, for the end-of-call log
// line (LogValue) and the status API (JSON).
type Summary struct {
	PacketsSent     uint64  `json:"packets_sent"`
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     int64   `json:"packets_lost"` // RFC 3550 §A.3: negative when duplicates outnumber losses
	LossPercent     float64 `json:"loss_percent"`
	JitterMs        float64 `json:"jitter_ms"`
	// RTTMs is the last round trip from the peer's reports; 0 when the peer
	// sent none we could use.
	RTTMs   float64 `json:"rtt_ms"`
	RFactor float64 `json:"r_factor"`
	MOS     float64 `json:"mos"`
}

// Summarize builds a Summary from the counters, the last round trip (0 if
// unknown) and the playout delay our side adds (jitter buffer plus
// device), assuming G.711 with packet loss concealment.
func Summarize(tx SenderStats, rx ReceiverStats, rtt, playout time.Duration) Summary {
	loss := rx.LossPercent()
	im := Impairments{LossPercent: loss, PLC: true, OneWayDelay: max(rtt, 0)/2 + max(playout, 0)}
	r := im.R()
	return Summary{
		PacketsSent:     tx.Packets,
		PacketsReceived: rx.Received,
		PacketsLost:     rx.Lost,
		LossPercent:     round(loss, 2),
		JitterMs:        round(float64(rx.Jitter)/float64(time.Millisecond), 2),
		RTTMs:           round(float64(max(rtt, 0))/float64(time.Millisecond), 2),
		RFactor:         round(r, 1),
		MOS:             round(MOS(r), 2),
	}
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// LogValue makes a Summary one group of attributes in a log line.
func (s Summary) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("sent", s.PacketsSent),
		slog.Uint64("received", s.PacketsReceived),
		slog.Int64("lost", s.PacketsLost),
		slog.Float64("loss_pct", s.LossPercent),
		slog.Float64("jitter_ms", s.JitterMs),
		slog.Float64("rtt_ms", s.RTTMs),
		slog.Float64("r", s.RFactor),
		slog.Float64("mos", s.MOS),
	)
}
