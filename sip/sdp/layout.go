package sdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// Stream is one m= line (RFC 4566 §5.14): media type, port, profile and
// formats as written.
type Stream struct {
	Media   string // audio, video, application, image, ...
	Port    int
	Proto   string
	Formats []string
}

// pion/sdp accepts only these media types and profile tokens; an m= line
// with any other (m=image udptl t38, a new profile) must still be answered
// with port 0 (RFC 3264 §6), not fail the whole offer.
var (
	pionMedia  = []string{"audio", "video", "text", "application", "message"}
	pionProtos = []string{"UDP", "RTP", "AVP", "SAVP", "SAVPF", "TLS", "DTLS", "SCTP", "AVPF", "TCP", "MSRP", "BFCP", "UDT", "IX", "MRCPv2", "FEC"}
)

// An m= line pion/sdp would refuse is rewritten to
//
//	m=application <port> UDT/IX/FEC/MRCPv2 k<n> <formats>
//
// with n the index of its original media type and profile: a profile no
// real offer uses, so that the stand-in is found again after parsing
// whatever pion/sdp's line model makes of the body. It is never audio, so
// it is never used, only answered with port 0.
const (
	placeholder      = "application"
	placeholderProto = "UDT/IX/FEC/MRCPv2"
)

// normalize rewrites the m= lines whose media type or profile pion/sdp does
// not know to the stand-in above and returns their originals, so that the
// layout keeps what the offer said. Lines are split at CR or LF as
// pion/sdp does; lines whose fields are not SDP tokens are left alone for
// pion/sdp to refuse.
func normalize(body []byte) ([]byte, []Stream) {
	var orig []Stream
	var out strings.Builder
	s := string(body)
	for len(s) > 0 {
		end := strings.IndexAny(s, "\r\n")
		if end < 0 {
			end = len(s)
		}
		line, rest := s[:end], s[end:]
		nl := len(rest) - len(strings.TrimLeft(rest, "\r\n"))
		s = rest[nl:]
		if r, ok := rewrite(line, len(orig)); ok {
			orig = append(orig, r.orig)
			line = r.line
		}
		out.WriteString(line)
		out.WriteString(rest[:nl])
	}
	if orig == nil {
		return body, nil
	}
	return []byte(out.String()), orig
}

type rewritten struct {
	line string
	orig Stream
}

// rewrite is the stand-in for an m= line pion/sdp would refuse for its
// media type or profile alone.
func rewrite(line string, n int) (rewritten, bool) {
	if !strings.HasPrefix(line, "m=") {
		return rewritten{}, false
	}
	// pion/sdp splits fields at spaces and tabs only.
	f := strings.FieldsFunc(line[2:], func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) < 3 || !token(f[0]) || !token(f[2]) {
		return rewritten{}, false
	}
	media, proto := f[0], f[2]
	known := slices.Contains(pionMedia, media)
	for p := range strings.SplitSeq(proto, "/") {
		known = known && slices.Contains(pionProtos, p)
	}
	if known {
		return rewritten{}, false
	}
	fields := append([]string{"m=" + placeholder, f[1], placeholderProto, "k" + strconv.Itoa(n)}, f[3:]...)
	return rewritten{line: strings.Join(fields, " "), orig: Stream{Media: media, Proto: proto}}, true
}

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

// layout is the offer's m= lines in order (RFC 3264 §6), with the media
// type and profile of the lines normalize rewrote.
func layout(mds []*psdp.MediaDescription, orig []Stream) []Stream {
	out := make([]Stream, 0, len(mds))
	for _, md := range mds {
		if md == nil {
			out = append(out, Stream{})
			continue
		}
		st := Stream{
			Media:   md.MediaName.Media,
			Port:    md.MediaName.Port.Value,
			Proto:   strings.Join(md.MediaName.Protos, "/"),
			Formats: md.MediaName.Formats,
		}
		if st.Media == placeholder && st.Proto == placeholderProto && len(st.Formats) > 0 {
			if n, err := strconv.Atoi(strings.TrimPrefix(st.Formats[0], "k")); err == nil && n >= 0 && n < len(orig) {
				st.Media, st.Proto, st.Formats = orig[n].Media, orig[n].Proto, st.Formats[1:]
			}
		}
		out = append(out, st)
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
