// Package rotvalue is the format of the secrets the rotation soak writes
// and its server checks: each value says how long it is, which key and
// generation it belongs to, and ends with a checksum, so a reader can
// tell a value written in full from a cut-off one or a mix of two.
//
//	R0057-00000042-vol.k017-<run>-1a2b3c4d
//
// The checksum is FNV-1a over everything before it, computed byte by byte
// in a register: checking a value leaves no copy of it in memory.
package rotvalue

import "fmt"

// Verdicts of Check.
const (
	Whole   = iota // a value written in full, for this key
	Partial        // empty, or shorter than it says: cut off
	Wrong          // a mix of two values, another key's, or not a value at all
)

// Value is key's value in generation gen, carrying run (a marker that
// lets a core dump be searched for every value at once).
func Value(key string, gen int, run string) []byte {
	body := fmt.Sprintf("-%08d-%s-%s", gen, key, run)
	n := 1 + 4 + len(body) + 9
	head := fmt.Appendf(nil, "R%04d%s", n, body)
	return fmt.Appendf(head, "-%08x", fnv(head))
}

// Check says whether b is a value of key written in full, and its
// generation.
func Check(b []byte, key string) (gen, verdict int) {
	if len(b) < 6 {
		return 0, Partial
	}
	if b[0] != 'R' {
		return 0, Wrong
	}
	n, ok := digits(b[1:5])
	switch {
	case !ok:
		return 0, Wrong
	case len(b) < n:
		return 0, Partial
	case len(b) > n || n < 15+len(key)+10:
		return 0, Wrong
	}
	var want [8]byte
	sum := fnv(b[:n-9])
	for i := 7; i >= 0; i-- {
		want[i] = "0123456789abcdef"[sum&0xf]
		sum >>= 4
	}
	if b[n-9] != '-' || string(b[n-8:]) != string(want[:]) {
		return 0, Wrong
	}
	gen, ok = digits(b[6:14])
	if !ok || b[5] != '-' || b[14] != '-' || string(b[15:15+len(key)]) != key || b[15+len(key)] != '-' {
		return 0, Wrong
	}
	return gen, Whole
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func fnv(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
