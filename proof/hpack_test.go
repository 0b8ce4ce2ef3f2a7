//go:build linux

package proof

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// hpackValue returns the bytes Go's HTTP/2 client writes for an
// Authorization header of value: the HPACK string literal's payload
// (Huffman-coded when that is shorter, as it is for tokens). It sends one
// request over unencrypted HTTP/2 to a server in this process, records
// what the client wrote, and takes the field out of the first HEADERS
// frame, so the needle is what this Go's encoder produces, not a
// transcription of RFC 7541's table.
func hpackValue(t *testing.T, value string) []byte {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.Protocols = &p
	srv.Start()
	defer srv.Close()

	rec := &recorder{}
	tr := &http.Transport{Protocols: &p, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return recordingConn{c, rec}, nil
	}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", value)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	v, err := authorizationField(rec.bytes())
	if err != nil {
		t.Fatalf("reading the client's HEADERS frame: %v", err)
	}
	return v
}

type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

type recordingConn struct {
	net.Conn
	r *recorder
}

func (c recordingConn) Write(b []byte) (int, error) {
	c.r.mu.Lock()
	c.r.buf.Write(b)
	c.r.mu.Unlock()
	return c.Conn.Write(b)
}

const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// authorizationField finds the first HEADERS frame in a client's byte
// stream and returns the raw value of its authorization field (HPACK
// static table index 23), as it is on the wire.
func authorizationField(stream []byte) ([]byte, error) {
	if !bytes.HasPrefix(stream, []byte(h2Preface)) {
		return nil, errors.New("no HTTP/2 preface")
	}
	b := stream[len(h2Preface):]
	for len(b) >= 9 {
		n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		typ, flags := b[3], b[4]
		if len(b) < 9+n {
			break
		}
		payload := b[9 : 9+n]
		b = b[9+n:]
		if typ != 1 { // HEADERS
			continue
		}
		if flags&0x8 != 0 { // PADDED
			payload = payload[1 : len(payload)-int(payload[0])]
		}
		if flags&0x20 != 0 { // PRIORITY
			payload = payload[5:]
		}
		return findAuthorization(payload)
	}
	return nil, errors.New("no HEADERS frame")
}

// findAuthorization walks an HPACK header block (RFC 7541, section 6).
func findAuthorization(block []byte) ([]byte, error) {
	for len(block) > 0 {
		c := block[0]
		switch {
		case c&0x80 != 0: // indexed field
			_, rest, err := hpackInt(block, 7)
			if err != nil {
				return nil, err
			}
			block = rest
			continue
		case c&0xe0 == 0x20: // dynamic table size update
			_, rest, err := hpackInt(block, 5)
			if err != nil {
				return nil, err
			}
			block = rest
			continue
		}
		prefix := 4 // without indexing, never indexed
		if c&0xc0 == 0x40 {
			prefix = 6 // with incremental indexing
		}
		idx, rest, err := hpackInt(block, prefix)
		if err != nil {
			return nil, err
		}
		if idx == 0 { // a literal name
			if _, rest, err = hpackString(rest); err != nil {
				return nil, err
			}
		}
		v, rest, err := hpackString(rest)
		if err != nil {
			return nil, err
		}
		if idx == 23 {
			return v, nil
		}
		block = rest
	}
	return nil, errors.New("no authorization field")
}

func hpackInt(b []byte, prefix int) (uint64, []byte, error) {
	mask := byte(1<<prefix - 1)
	v := uint64(b[0] & mask)
	b = b[1:]
	if v < uint64(mask) {
		return v, b, nil
	}
	v2, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errors.New("bad integer")
	}
	return v + v2, b[n:], nil
}

func hpackString(b []byte) ([]byte, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errors.New("truncated string")
	}
	n, rest, err := hpackInt(b, 7)
	if err != nil || uint64(len(rest)) < n {
		return nil, nil, errors.New("truncated string")
	}
	return rest[:n], rest[n:], nil
}

// The HPACK needle is the Huffman code of the whole value: shorter than
// the value, different for different values, the same for the same one.
func TestTheHPACKNeedleIsTheEncodedValue(t *testing.T) {
	a := hpackValue(t, "Bearer PRFc0011223344556677-0123456789abcdef")
	b := hpackValue(t, "Bearer PRFc0011223344556677-0123456789abcdee")
	again := hpackValue(t, "Bearer PRFc0011223344556677-0123456789abcdef")
	if len(a) == 0 || len(a) >= len("Bearer PRFc0011223344556677-0123456789abcdef") {
		t.Errorf("needle of %d bytes: not Huffman-coded", len(a))
	}
	if bytes.Equal(a, b) || !bytes.Equal(a, again) {
		t.Error("the needle does not follow the value")
	}
}
