// Package pemblock finds PEM blocks (RFC 7468) in memory without decoding
// them, so that a private key's block can be decoded straight into
// protected memory while the certificates beside it are decoded as usual.
// encoding/pem cannot do that: pem.Decode decodes the first block it
// finds into a fresh heap slice, whatever it holds.
package pemblock

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// A Block is one PEM block, as found: its label and its base64 body,
// both slices of the input.
type Block struct {
	Label   []byte // "PRIVATE KEY", "CERTIFICATE", ...
	Headers bool   // the block has RFC 1421 headers (Proc-Type: 4,ENCRYPTED ...)
	Body    []byte // the base64 text, line breaks included
}

var (
	begin = []byte("-----BEGIN ")
	end   = []byte("-----END ")
	dash  = []byte("-----")
)

// ErrMalformed reports a block that begins but does not end, or ends
// with another label. It quotes nothing of the input.
var ErrMalformed = errors.New("pemblock: a PEM block is not terminated by its END line")

// Next returns the first block in b and what follows it. ok is false when
// b holds no further BEGIN line; err is set when one begins but the block
// is malformed.
func Next(b []byte) (blk Block, rest []byte, ok bool, err error) {
	for {
		i := bytes.Index(b, begin)
		if i < 0 {
			return Block{}, nil, false, nil
		}
		if i > 0 && b[i-1] != '\n' {
			b = b[i+len(begin):]
			continue // not at the start of a line
		}
		b = b[i+len(begin):]
		eol := bytes.IndexByte(b, '\n')
		if eol < 0 {
			return Block{}, nil, false, ErrMalformed
		}
		line := bytes.TrimRight(b[:eol], " \t\r")
		if !bytes.HasSuffix(line, dash) {
			return Block{}, nil, false, ErrMalformed
		}
		blk.Label = line[:len(line)-len(dash)]
		b = b[eol+1:]
		j := bytes.Index(b, end)
		if j < 0 {
			return Block{}, nil, false, ErrMalformed
		}
		blk.Body = b[:j]
		tail := b[j+len(end):]
		if !bytes.HasPrefix(tail, blk.Label) || !bytes.HasPrefix(tail[len(blk.Label):], dash) {
			return Block{}, nil, false, ErrMalformed
		}
		blk.Headers = bytes.Contains(blk.Body, []byte(":"))
		return blk, tail[len(blk.Label)+len(dash):], true, nil
	}
}

// ErrBase64 reports a body that is not base64. It quotes nothing.
var ErrBase64 = errors.New("pemblock: the block's body is not valid base64")

// Decode decodes body, skipping white space, into dst and returns the
// number of bytes written. It decodes four characters at a time from a
// small array on the stack, so the body is never gathered into one
// buffer (run it where the stack is wiped afterwards when the body is a
// key). dst must hold len(body)*3/4 bytes; on error, dst is wiped.
func Decode(dst, body []byte) (int, error) {
	var q [4]byte
	n, k := 0, 0
	done := false
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		if done {
			clear(dst[:n])
			return 0, ErrBase64
		}
		q[k] = c
		k++
		if k < 4 {
			continue
		}
		k = 0
		if n+3 > len(dst) {
			clear(dst[:n])
			clear(q[:])
			return 0, ErrBase64
		}
		m, err := base64.StdEncoding.Decode(dst[n:n+3], q[:])
		if err != nil {
			clear(dst[:n])
			clear(q[:])
			return 0, ErrBase64
		}
		n += m
		done = m < 3 // padding ends the body
	}
	clear(q[:])
	if k != 0 {
		clear(dst[:n])
		return 0, ErrBase64
	}
	return n, nil
}
