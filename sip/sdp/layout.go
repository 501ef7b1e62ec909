package sdp

import (
	"fmt"
	"strings"
)

// Stream is one m= line (RFC 4566 §5.14): media type, port, profile and
// formats as written.
type Stream struct {
	Media   string // audio, video, application, image, ...
	Port    int
	Proto   string
	Formats []string
}

// placeholder is the media type written in a rejected m= line whose own
// is not an SDP token (it is echoed otherwise).
const placeholder = "application"

// token reports whether s is a non-empty SDP token (RFC 4566 §9: visible
// ASCII; we echo media types, profiles and formats in answers).
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// layout is the offer's m= lines in order (RFC 3264 §6).
func layout(mds []*media) []Stream {
	out := make([]Stream, len(mds))
	for i, md := range mds {
		out[i] = md.Stream
	}
	return out
}

// writeRejected writes a rejected m= line (RFC 3264 §6): port 0, the
// offer's media type and profile, and one of its formats (the m= grammar
// of RFC 4566 §5.14 wants at least one).
func writeRejected(b *strings.Builder, st Stream) {
	media, proto, format := st.Media, st.Proto, "0"
	if !token(media) {
		media = placeholder
	}
	if !token(proto) {
		proto = ProtoAVP
	}
	if len(st.Formats) > 0 && token(st.Formats[0]) {
		format = st.Formats[0]
	}
	fmt.Fprintf(b, "m=%s 0 %s %s\r\n", media, proto, format)
}

// describe names an m= layout for errors, e.g. "2 lines (video, audio)".
func describe(streams []Stream) string {
	names := make([]string, len(streams))
	for i, st := range streams {
		names[i] = st.Media
	}
	return fmt.Sprintf("%d lines (%s)", len(streams), strings.Join(names, ", "))
}

// sameLayout reports whether two layouts have the same media types in the
// same order.
func sameLayout(a, b []Stream) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Media != b[i].Media {
			return false
		}
	}
	return true
}
