package keyed

import (
	"bytes"
	"testing"
)

// leftInDigest names the part of d that holds an 8-byte piece of msg, at
// any offset, or returns "": the hash object's memory (its block buffer
// included) and every scratch buffer.
func leftInDigest(d *Digest, msg []byte) string {
	var s state
	mem := s[:d.hash.stateLen()]
	if d.raw != nil {
		mem = d.raw
	} else {
		d.save(&s)
	}
	for name, b := range map[string][]byte{
		"hash object": mem, "tail": d.tail[:], "block": d.block[:], "pad": d.pad[:],
		"inner": d.inner[:], "want": d.want[:], "out": d.out[:],
	} {
		for i := 0; i+8 <= len(msg); i++ {
			if bytes.Contains(b, msg[i:i+8]) {
				return name
			}
		}
	}
	return ""
}

// A message can be a secret: package config stamps the content of secret
// files and Vault fields with an HMAC to tell when they change, and a
// caller may MAC a token to look it up. A Digest is an ordinary heap
// object kept between calls (pooled, or held by a stamper), so after
// every call it must hold no piece of the message: not in the tail where
// a short message is gathered for one write, nor in the hash's block
// buffer, where the last bytes of a longer one wait for the padding.
func TestNoMessageOutlivesACall(t *testing.T) {
	for _, c := range hashes {
		for _, mode := range []string{"raw", "marshaled"} {
			t.Run(c.h.String()+"/"+mode, func(t *testing.T) {
				d := mustDigest(t, c.h)
				if mode == "marshaled" {
					d = marshalingDigest(t, c)
				}
				key := filled(20, 1)
				var k Key
				k.Set(d, key)
				var s Stream
				s.Set(d, key)
				bs := c.h.BlockSize()
				for n := 8; n <= 2*bs+40; n++ {
					msg := filled(n, 0xa1)
					tag := refHMAC(c.new, key, msg)
					for _, op := range []struct {
						name string
						f    func()
					}{
						{"Sum", func() { _, _ = k.Sum(d, nil, msg[:n/2], msg[n/2:]) }},
						{"Verify", func() { _, _ = k.Verify(d, tag, msg) }},
						{"Check", func() { _, _ = k.Check(d, func(mac, _ []byte) bool { return bytes.Equal(mac, tag) }, msg) }},
						{"Stream.Write", func() { s.Reset(); _ = s.Write(d, msg) }},
						{"Stream.Sum", func() { _, _ = s.Sum(d, nil) }},
						{"Stream.Verify", func() { _, _ = s.Verify(d, tag) }},
					} {
						op.f()
						if where := leftInDigest(d, msg); where != "" {
							t.Fatalf("%s over %d bytes left a piece of the message in the digest's %s", op.name, n, where)
						}
					}
				}
			})
		}
	}
}
