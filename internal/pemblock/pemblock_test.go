package pemblock

import (
	"bytes"
	"encoding/pem"
	"errors"
	"testing"
)

func TestNextFindsBlocksAsEncodingPEMDoes(t *testing.T) {
	a := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bytes.Repeat([]byte{1, 2, 3}, 100)})
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("key bytes!")})
	in := append(append([]byte("junk before\n"), a...), b...)
	var labels []string
	for rest := in; ; {
		blk, next, ok, err := Next(rest)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		rest = next
		labels = append(labels, string(blk.Label))
		want, _ := pem.Decode(in[bytes.Index(in, []byte("-----BEGIN "+string(blk.Label))):])
		got := make([]byte, len(blk.Body))
		n, err := Decode(got, blk.Body)
		if err != nil || !bytes.Equal(got[:n], want.Bytes) {
			t.Errorf("%s: decoded %x (%v), encoding/pem %x", blk.Label, got[:n], err, want.Bytes)
		}
	}
	if len(labels) != 2 || labels[0] != "CERTIFICATE" || labels[1] != "PRIVATE KEY" {
		t.Errorf("found %v", labels)
	}
}

func TestMalformedBlocks(t *testing.T) {
	for _, in := range []string{
		"-----BEGIN X-----\nAAAA\n",
		"-----BEGIN X-----\nAAAA\n-----END Y-----\n",
		"-----BEGIN X\nAAAA\n-----END X-----\n",
	} {
		if _, _, _, err := Next([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", in, err)
		}
	}
	if _, _, ok, err := Next([]byte("x -----BEGIN X-----\n")); ok || err != nil {
		t.Errorf("a BEGIN inside a line was taken: %v %v", ok, err)
	}
	for _, body := range []string{"AAA", "AA=A", "AA==AAAA", "A*AA"} {
		dst := make([]byte, 16)
		if _, err := Decode(dst, []byte(body)); !errors.Is(err, ErrBase64) {
			t.Errorf("%q: %v", body, err)
		}
	}
	dst := make([]byte, 16)
	if n, err := Decode(dst, []byte(" QU\r\nJD\tRA==\n")); err != nil || string(dst[:n]) != "ABCD" {
		t.Errorf("white space: %q %v", dst[:n], err)
	}
}
