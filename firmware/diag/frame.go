package diag

import (
	"bytes"
	"strconv"
	"strings"
)

// maxPending is the most of a stream held while waiting for the rest of
// a message: past it, what is held is logged as it is and dropped.
const maxPending = 64 << 10

// maxStreams bounds the TCP/TLS connections followed at once.
const maxStreams = 64

// splitter cuts a TCP byte stream (sipgo hands the tracer each read, not
// each message) into SIP messages, RFC 3261 §18.3: headers end at a blank
// line, the body is Content-Length bytes. A CRLF keep-alive (RFC 5626
// §3.5.1) between messages is skipped.
type splitter struct {
	buf []byte
}

// feed adds a chunk and returns the complete messages, and, when the
// pending bytes would pass maxPending, those bytes as one last "message"
// (logged, flagged by overflow).
func (s *splitter) feed(chunk []byte) (msgs [][]byte, overflow []byte) {
	s.buf = append(s.buf, chunk...)
	for {
		s.buf = bytes.TrimLeft(s.buf, "\r\n")
		end := bytes.Index(s.buf, []byte("\r\n\r\n"))
		if end < 0 {
			break
		}
		n := end + 4 + contentLength(s.buf[:end])
		if n > len(s.buf) {
			break
		}
		msgs = append(msgs, bytes.Clone(s.buf[:n]))
		s.buf = s.buf[n:]
	}
	if len(s.buf) > maxPending {
		overflow, s.buf = bytes.Clone(s.buf), nil
	}
	if len(s.buf) == 0 {
		s.buf = nil // let a long-lived connection's buffer go
	}
	return msgs, overflow
}

// contentLength is the Content-Length (or compact "l") header's value in
// a header block, 0 when absent or not a number.
func contentLength(head []byte) int {
	for _, l := range strings.Split(string(head), "\r\n")[1:] {
		name, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "content-length" || name == "l" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > maxPending {
				return 0
			}
			return n
		}
	}
	return 0
}
