package middleware

import "bytes"

// rewriter follows an HTTP/1.x request stream as a server reads it and
// replaces the values of credential headers with placeholders, handing
// each value to take. It sees the bytes before net/http does, so the
// credential never reaches net/http's read buffer or its header strings.
//
// It mirrors the framing rules of net/http's server (RFC 9112): request
// line, header lines ending in CRLF or a bare LF, an empty line, then a
// body of Content-Length bytes or chunked, then the next request. Bodies
// and anything it does not understand pass unchanged. Whenever the
// framing is not certain (a malformed line, obs-fold, both
// Content-Length and Transfer-Encoding, a Transfer-Encoding other than
// chunked, an over-long credential or framing header, HTTP/2's
// preface, CONNECT, an Upgrade) it
// stops rewriting and passes the rest of the connection through: net/http
// then sees that connection's remaining bytes as sent, and usually
// refuses them. Only the connection that sent such bytes is affected.
type rewriter struct {
	phase     phase
	remaining int64 // body or chunk bytes still to pass
	// Facts about the request whose headers are being read.
	contentLength int64 // -1: none
	chunked       bool
	passAfter     bool // CONNECT or Upgrade: pass everything after it
	names         *credentialNames
	requests      uint64 // request lines seen
	// phaseLongLine: the bytes so far end in a CR; the line is a
	// request line, whose last bytes (tail, tailN of them) are kept to
	// read its version at the end.
	crEnd   bool
	longReq bool
	tail    [len(" HTTP/1.1")]byte
	tailN   int
}

type phase uint8

const (
	phaseRequestLine phase = iota
	phaseHeaders
	phaseBody
	phaseChunkSize
	phaseChunkData // chunk data, then its CRLF (counted in remaining)
	phaseTrailers
	phaseLongLine // a request or header line over maxLine, streamed to its LF
	phasePass
)

// maxLine is the longest line the rewriter waits for; a longer one turns
// the connection to pass-through (net/http refuses headers past 1 MiB by
// default anyway).
const maxLine = 16 << 10

// credentialNames says which headers and cookies the rewriter takes.
type credentialNames struct {
	headers []string // lower case
	cookies []string // case-sensitive
}

// A taker receives a credential's value (in memory the caller wipes) and
// returns the placeholder that stands for it in the stream.
type taker func(value []byte) []byte

// rewrite consumes the complete lines (and body bytes) at the start of b,
// appends what net/http should read instead to out, and returns out and
// how many bytes of b it consumed. It never consumes part of a line. When
// it returns with bytes left, it needs more input to go on, unless the
// rewriter is passing through (then it consumed everything).
func (w *rewriter) rewrite(out, b []byte, take taker) ([]byte, int) {
	pos := 0
	for pos < len(b) {
		switch w.phase {
		case phasePass:
			return append(out, b[pos:]...), len(b)
		case phaseBody, phaseChunkData:
			n := int(min(w.remaining, int64(len(b)-pos)))
			out = append(out, b[pos:pos+n]...)
			pos += n
			if w.remaining -= int64(n); w.remaining == 0 {
				w.bodyDone()
			}
			continue
		case phaseLongLine:
			out, pos = w.longLine(out, b, pos)
			continue
		}
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			if len(b)-pos > maxLine {
				w.tooLong(b[pos:])
				continue
			}
			break
		}
		if nl > maxLine {
			w.tooLong(b[pos:])
			continue
		}
		line := b[pos : pos+nl+1]
		var ok bool
		if out, ok = w.line(out, line, take); !ok {
			// Not understood: from this line on, pass everything.
			w.phase = phasePass
			continue
		}
		pos += nl + 1
	}
	return out, pos
}

// tooLong handles a line longer than maxLine that starts at b. A request
// line (a long URL) and a header line whose name is neither a
// credential's nor one that frames the body are streamed through to
// their end, and the rewriter goes on with the next line: a proxy
// forwards one client's long lines down a connection it shares with
// others, and passing everything through from there on would hand their
// credentials to net/http. Any other long line passes the rest of the
// connection through.
func (w *rewriter) tooLong(b []byte) {
	switch {
	case w.phase == phaseHeaders && w.streamable(b):
		w.longReq = false
	case w.phase == phaseRequestLine && longRequestLine(b):
		w.longReq, w.tailN = true, 0
	default:
		w.phase = phasePass
		return
	}
	w.phase, w.crEnd = phaseLongLine, false
}

// longRequestLine reports whether b starts a request line whose method
// is a token and not CONNECT, which turns the connection into a tunnel.
func longRequestLine(b []byte) bool {
	method, _, ok := bytes.Cut(b[:min(len(b), 64)], []byte(" "))
	return ok && isToken(string(method)) && string(method) != "CONNECT"
}

// streamable reports whether the header line starting at b may be
// streamed: its name is complete, a token, and none the rewriter acts on.
func (w *rewriter) streamable(b []byte) bool {
	colon := bytes.IndexByte(b[:min(len(b), 256)], ':')
	if colon <= 0 || !isToken(string(b[:colon])) {
		return false
	}
	name := string(b[:colon])
	for _, h := range [...]string{"Content-Length", "Transfer-Encoding", "Upgrade", "Connection", "Cookie"} {
		if equalFoldASCII(name, h) {
			return false
		}
	}
	for _, h := range w.names.headers {
		if equalFoldASCII(name, h) {
			return false
		}
	}
	return true
}

// longLine streams the bytes of a long header line from b[pos:] to out,
// up to and including its LF, and returns out and the new position. A
// NUL or a CR anywhere but before the LF makes the framing uncertain, as
// in line: the rest of the connection passes through.
func (w *rewriter) longLine(out, b []byte, pos int) ([]byte, int) {
	seg := b[pos:]
	nl := bytes.IndexByte(seg, '\n')
	if nl >= 0 {
		seg = seg[:nl+1]
	}
	body := seg
	if nl >= 0 {
		body = seg[:len(seg)-1]
	}
	if w.crEnd && len(body) > 0 {
		w.phase = phasePass // the CR a read ended with was not the line's end
		return out, pos
	}
	if n := len(body); n > 0 && body[n-1] == '\r' {
		body = body[:n-1]
		w.crEnd = nl < 0
	}
	if bytes.IndexByte(body, '\r') >= 0 || bytes.IndexByte(body, 0) >= 0 {
		w.phase = phasePass
		return out, pos
	}
	if w.longReq {
		w.keepTail(body)
	}
	out = append(out, seg...)
	if nl >= 0 {
		w.phase, w.crEnd = phaseHeaders, false
		if w.longReq && !w.requestEnd() {
			w.phase = phasePass // streamed as it was; nothing after it is
		}
	}
	return out, pos + len(seg)
}

// keepTail keeps the last bytes of a long request line.
func (w *rewriter) keepTail(b []byte) {
	if len(b) >= len(w.tail) {
		w.tailN = copy(w.tail[:], b[len(b)-len(w.tail):])
		return
	}
	keep := min(w.tailN, len(w.tail)-len(b))
	copy(w.tail[:], w.tail[w.tailN-keep:w.tailN])
	w.tailN = keep + copy(w.tail[keep:], b)
}

// requestEnd reads the version at the end of a long request line and
// starts its request as requestLine would.
func (w *rewriter) requestEnd() bool {
	switch string(w.tail[:w.tailN]) {
	case " HTTP/1.1", " HTTP/1.0":
	default:
		return false
	}
	w.contentLength, w.chunked, w.passAfter = -1, false, false
	w.requests++
	return true
}

// body returns whether the rewriter is inside a body, and how many body
// bytes may pass without being looked at.
func (w *rewriter) body() (int64, bool) {
	if w.phase == phaseBody || w.phase == phaseChunkData {
		return w.remaining, true
	}
	return 0, w.phase == phasePass
}

// skipped records n body bytes that passed without the rewriter.
func (w *rewriter) skipped(n int) {
	if w.phase == phasePass {
		return
	}
	if w.remaining -= int64(n); w.remaining == 0 {
		w.bodyDone()
	}
}

func (w *rewriter) bodyDone() {
	switch w.phase {
	case phaseChunkData:
		w.phase = phaseChunkSize
	default:
		w.endRequest()
	}
}

func (w *rewriter) endRequest() {
	w.phase = phaseRequestLine
	if w.passAfter {
		w.phase = phasePass
	}
}

// line handles one complete line (with its LF).
func (w *rewriter) line(out, line []byte, take taker) ([]byte, bool) {
	text := line[:len(line)-1]
	if n := len(text); n > 0 && text[n-1] == '\r' {
		text = text[:n-1]
	}
	if bytes.IndexByte(text, '\r') >= 0 || bytes.IndexByte(text, 0) >= 0 {
		return out, false
	}
	switch w.phase {
	case phaseRequestLine:
		if len(text) == 0 {
			return append(out, line...), true // empty lines before a request
		}
		if !w.requestLine(text) {
			return out, false
		}
		w.phase = phaseHeaders
		return append(out, line...), true
	case phaseHeaders:
		if len(text) == 0 {
			if !w.headersDone() {
				return out, false
			}
			return append(out, line...), true
		}
		return w.header(out, line, text, take)
	case phaseChunkSize:
		size, ok := chunkSize(text)
		if !ok {
			return out, false
		}
		if size == 0 {
			w.phase = phaseTrailers
		} else {
			w.phase, w.remaining = phaseChunkData, size+2 // the data's CRLF
		}
		return append(out, line...), true
	case phaseTrailers:
		if len(text) == 0 {
			w.endRequest()
		}
		return append(out, line...), true
	}
	return out, false
}

func (w *rewriter) requestLine(text []byte) bool {
	method, rest, ok := bytes.Cut(text, []byte(" "))
	if !ok || !isToken(string(method)) {
		return false
	}
	i := bytes.LastIndexByte(rest, ' ')
	if i <= 0 {
		return false
	}
	switch string(rest[i+1:]) {
	case "HTTP/1.1", "HTTP/1.0":
	default:
		return false // HTTP/2's "PRI * HTTP/2.0" preface among others
	}
	w.contentLength, w.chunked = -1, false
	w.passAfter = string(method) == "CONNECT"
	w.requests++
	return true
}

// header handles one header line.
func (w *rewriter) header(out, line, text []byte, take taker) ([]byte, bool) {
	colon := bytes.IndexByte(text, ':')
	if colon <= 0 || !isToken(string(text[:colon])) {
		return out, false // obs-fold, a space before the colon, a bad name
	}
	name := text[:colon]
	value := bytes.Trim(text[colon+1:], " \t")
	switch {
	case equalFoldASCII(string(name), "Content-Length"):
		n, ok := contentLength(value)
		if !ok || w.contentLength >= 0 && w.contentLength != n {
			return out, false
		}
		w.contentLength = n
	case equalFoldASCII(string(name), "Transfer-Encoding"):
		if !equalFoldASCII(string(value), "chunked") || w.chunked {
			return out, false
		}
		w.chunked = true
	case equalFoldASCII(string(name), "Upgrade"):
		// Only a request that names a protocol can switch to it;
		// "Connection: upgrade" alone (which nginx's usual WebSocket
		// configuration sends on every request) switches nothing.
		w.passAfter = true
	case equalFoldASCII(string(name), "Cookie") && w.hasCookie(value):
		return w.cookies(out, name, value, take), true
	}
	for _, h := range w.names.headers {
		if equalFoldASCII(string(name), h) {
			out = append(out, name...)
			out = append(out, ": "...)
			out = append(out, take(value)...)
			return append(out, "\r\n"...), true
		}
	}
	return append(out, line...), true
}

// hasCookie reports whether a Cookie value holds a configured cookie
// with a value.
func (w *rewriter) hasCookie(value []byte) bool {
	for _, part := range bytes.Split(value, []byte(";")) {
		k, v, found := bytes.Cut(part, []byte("="))
		if found && len(v) > 0 && indexOf(w.names.cookies, trimOWS(string(k))) >= 0 {
			return true
		}
	}
	return false
}

// cookies rewrites a Cookie line, replacing the values of the configured
// cookies with placeholders and keeping the rest as it was.
func (w *rewriter) cookies(out, name, value []byte, take taker) []byte {
	out = append(out, name...)
	out = append(out, ": "...)
	for i, part := range bytes.Split(value, []byte(";")) {
		if i > 0 {
			out = append(out, ';')
		}
		k, v, found := bytes.Cut(part, []byte("="))
		if found && len(v) > 0 && indexOf(w.names.cookies, trimOWS(string(k))) >= 0 {
			out = append(out, k...)
			out = append(out, '=')
			out = append(out, take(v)...)
		} else {
			out = append(out, part...)
		}
	}
	return append(out, "\r\n"...)
}

// headersDone chooses the body's framing at the empty line.
func (w *rewriter) headersDone() bool {
	switch {
	case w.chunked && w.contentLength >= 0:
		return false // net/http refuses it; do not guess
	case w.chunked:
		w.phase = phaseChunkSize
	case w.contentLength > 0:
		w.phase, w.remaining = phaseBody, w.contentLength
	default:
		w.endRequest()
	}
	return true
}

func contentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// chunkSize parses a chunk-size line: hex digits, then optional
// extensions after ';'.
func chunkSize(text []byte) (int64, bool) {
	if i := bytes.IndexByte(text, ';'); i >= 0 {
		text = text[:i]
	}
	text = bytes.TrimRight(text, " \t")
	if len(text) == 0 || len(text) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range text {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
