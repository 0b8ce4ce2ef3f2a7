package fingerprint

import "testing"

// BenchmarkAddRemove is what registering a 32-byte secret costs, with
// every spelling.
func BenchmarkAddRemove(b *testing.B) {
	c := &cell{b: []byte(marker(b, 32))}
	b.ReportAllocs()
	for b.Loop() {
		Remove(Add(c.b, c.confirm))
	}
}
