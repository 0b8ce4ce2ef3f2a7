package keyed

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"reflect"
	"sync"
	"unsafe"
)

// Restoring a digest by copying its memory.
//
// An HMAC restores a saved hash state twice and reads a hash out of the
// digest twice per message. Through encoding.BinaryUnmarshaler and
// BinaryAppender that is a parse and a serialisation of 108 bytes each
// time (204 for SHA-512), about a tenth of HMAC-SHA256 on a 32-byte
// message. The standard library's digests are small structs without
// pointers whose first field is the chaining value, so a copy of their
// memory is a complete saved state, and the hash is that first field.
//
// This package does not rely on that blindly: rawLayoutOf accepts a hash
// object only if reflection shows a pointer to a pointer-free struct whose
// fields start with h, eight words of the hash's word size, the block
// buffer x and an int nx, each right after the other, and if a state
// copied out of one digest into another computes the same hash as the
// digest it came from. (An HMAC restores a key's state by copying h and
// what follows nx, and clears x: a field between them would be missed.) Otherwise (a FIPS or BoringCrypto
// build with another hash object, a future layout) digests save and
// restore through the marshaling interfaces as before. A Key records
// which form it holds, and a digest refuses the other (ErrState).

// rawLayout says how to use a hash object's memory as its state.
type rawLayout struct {
	size  uintptr // the struct's size; 0: restore by unmarshaling
	nxOff uintptr // the offset of nx, the bytes buffered (< the block size)
}

// rawMax bounds a struct this package copies: SHA-512's is 216 bytes.
const rawMax = 256

var rawLayouts struct {
	once           sync.Once
	sha256, sha512 rawLayout
}

// rawLayoutFor returns the layout of h's hash objects, probed once.
func rawLayoutFor(h Hash) rawLayout {
	rawLayouts.once.Do(func() {
		rawLayouts.sha256 = rawLayoutOf(SHA256, sha256.New, reflect.Uint32)
		rawLayouts.sha512 = rawLayoutOf(SHA512, sha512.New, reflect.Uint64)
	})
	if h == SHA256 {
		return rawLayouts.sha256
	}
	return rawLayouts.sha512
}

// rawLayoutOf checks the hash objects newHash returns, as described above,
// and returns their layout, or the zero rawLayout if they do not pass.
func rawLayoutOf(h Hash, newHash func() hash.Hash, word reflect.Kind) rawLayout {
	t := reflect.TypeOf(newHash())
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return rawLayout{}
	}
	st := t.Elem()
	if st.Size() > rawMax || !pointerFree(st) || st.NumField() == 0 {
		return rawLayout{}
	}
	f0 := st.Field(0)
	if f0.Name != "h" || f0.Offset != 0 || f0.Type.Kind() != reflect.Array ||
		f0.Type.Len() != 8 || f0.Type.Elem().Kind() != word {
		return rawLayout{}
	}
	// Between h and nx lies the block buffer x and nothing else: an HMAC
	// restores and wipes h and what follows nx from the saved states and
	// clears x, so a field anywhere else (another form of the chaining
	// value, say) would be neither restored nor wiped.
	if st.NumField() < 3 {
		return rawLayout{}
	}
	x, nx := st.Field(1), st.Field(2)
	if x.Name != "x" || x.Offset != f0.Type.Size() || x.Type.Kind() != reflect.Array ||
		x.Type.Len() != h.BlockSize() || x.Type.Elem().Kind() != reflect.Uint8 ||
		nx.Name != "nx" || nx.Offset != x.Offset+x.Type.Size() || nx.Type.Kind() != reflect.Int {
		return rawLayout{}
	}
	l := rawLayout{size: st.Size(), nxOff: nx.Offset}
	if !l.works(h, newHash) {
		return rawLayout{}
	}
	return l
}

// pointerFree reports whether values of t hold no pointers.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// works checks the layout on real digests: a state copied out of a digest
// that has hashed part of a message, into a fresh digest, must finish the
// message with the same hash, and the hash read from the first field
// after the padding must be Sum's.
func (l rawLayout) works(h Hash, newHash func() hash.Hash) bool {
	msg := []byte("secretmem probes the digest layout: a message longer than one block of SHA-256 and of SHA-512, so that the copy carries a chaining value and buffered bytes.")
	a, b := newHash(), newHash()
	a.Write(msg[:100])
	copy(rawBytes(b, l), rawBytes(a, l))
	a.Write(msg[100:])
	b.Write(msg[100:])
	want := a.Sum(nil)
	if !bytes.Equal(b.Sum(nil), want) {
		return false
	}
	var pad [tailSize]byte
	b.Write(pad[:h.padding(pad[:], uint64(len(msg)))])
	var out [MaxSize]byte
	return bytes.Equal(rawAppend(out[:0], rawBytes(b, l), h), want)
}

// rawBytes returns the memory of the struct hh points to.
func rawBytes(hh hash.Hash, l rawLayout) []byte {
	return unsafe.Slice((*byte)(reflect.ValueOf(hh).UnsafePointer()), l.size)
}

// rawAppend appends the hash in a digest's memory, whose message is
// complete and padded, to b as Sum would give it. b grows once and the
// words are stored unrolled: eight appends, each checking b's capacity
// again, cost half as much as the rest of the HMAC's own code.
func rawAppend(b, raw []byte, h Hash) []byte {
	n := len(b)
	p := unsafe.Pointer(unsafe.SliceData(raw))
	if h == SHA256 {
		b = grow(b, sha256.Size)
		o, w := (*[sha256.Size]byte)(b[n:]), (*[8]uint32)(p)
		be := binary.BigEndian
		be.PutUint32(o[0:], w[0])
		be.PutUint32(o[4:], w[1])
		be.PutUint32(o[8:], w[2])
		be.PutUint32(o[12:], w[3])
		be.PutUint32(o[16:], w[4])
		be.PutUint32(o[20:], w[5])
		be.PutUint32(o[24:], w[6])
		be.PutUint32(o[28:], w[7])
		return b
	}
	b = grow(b, sha512.Size)
	o, w := (*[sha512.Size]byte)(b[n:]), (*[8]uint64)(p)
	be := binary.BigEndian
	be.PutUint64(o[0:], w[0])
	be.PutUint64(o[8:], w[1])
	be.PutUint64(o[16:], w[2])
	be.PutUint64(o[24:], w[3])
	be.PutUint64(o[32:], w[4])
	be.PutUint64(o[40:], w[5])
	be.PutUint64(o[48:], w[6])
	be.PutUint64(o[56:], w[7])
	return b
}

// grow extends b by n bytes, reallocating only if its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	return append(b, make([]byte, n)...)
}
