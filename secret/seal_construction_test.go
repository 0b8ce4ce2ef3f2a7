package secret_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/secretmem/secretmem/secret"
)

// The reference construction, built from x/crypto's AEAD: what sealed.go
// documents, written the obvious way.

func refAD(id, count uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, id), count)
}

// refOpen checks and decrypts a cell sealed under pre as the count-th
// seal of cell id.
func refOpen(pre, cell []byte, id, count uint64) ([]byte, bool) {
	key := sha256.Sum256(pre)
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, false
	}
	nonce, tag, ct := cell[:24], cell[24:40], cell[40:]
	pt, err := aead.Open(nil, nonce, append(bytes.Clone(ct), tag...), refAD(id, count))
	return pt, err == nil
}

// The known answer was computed independently, by libsodium
// (crypto_aead_xchacha20poly1305_ietf_encrypt through PyNaCl 1.5) with
// Python's hashlib, from the construction in sealed.go.
func TestSealingHasAKnownAnswer(t *testing.T) {
	pre := make([]byte, secret.PrekeySizeForTest)
	for i := range pre {
		pre[i] = byte(i % 251)
	}
	var nonce [24]byte
	for i := range nonce {
		nonce[i] = 0x10 + byte(i)
	}
	const id, count = 0x0102030405060708, 3
	pt := []byte("a known answer of 70 bytes crosses a ChaCha20 block boundary, and more")
	const want = "101112131415161718191a1b1c1d1e1f2021222324252627" + // nonce
		"eaa101f12eb576a546399d96aa4e43a8" + // tag
		"b261ef316839197e4d526890a4759174dba997a297276f9920f3bd7b54ed8210" + // ciphertext
		"b3ce7f4507d526e1fd1e0d5ada8ba5d8b98391e97e17b54ee0efeb695d66d99f" +
		"73ada71fc187"
	cell := secret.SealForTest(pre, nonce[:], id, count, pt)
	if got := hex.EncodeToString(cell); got != want {
		t.Fatalf("sealed cell\n got %s\nwant %s", got, want)
	}
	if out, err := secret.OpenForTest(pre, cell, id, count); err != nil || !bytes.Equal(out, pt) {
		t.Fatalf("the known answer does not open: %v", err)
	}
	for i := range cell {
		bad := bytes.Clone(cell)
		bad[i] ^= 1
		if _, err := secret.OpenForTest(pre, bad, id, count); !errors.Is(err, secret.ErrCorrupted) {
			t.Fatalf("a flipped bit in byte %d: %v, want ErrCorrupted", i, err)
		}
	}
	for _, other := range [][2]uint64{{id + 1, count}, {id, count - 1}, {id, count + 1}} {
		if _, err := secret.OpenForTest(pre, cell, other[0], other[1]); !errors.Is(err, secret.ErrCorrupted) {
			t.Fatalf("opened as the seal %d of cell %#x: %v, want ErrCorrupted", other[1], other[0], err)
		}
	}
	pre[len(pre)-1] ^= 1 // every bit of the pre-key counts
	if _, err := secret.OpenForTest(pre, cell, id, count); !errors.Is(err, secret.ErrCorrupted) {
		t.Fatalf("a pre-key differing in its last bit opened the cell: %v", err)
	}
}

// A cell sealed by the real path, under its pre-key, opens with the
// reference, and only with its own identity.
func TestLiveSealedCellsOpenWithTheReference(t *testing.T) {
	m := marker(t)
	v := mustNew(t, m, secret.Sealed())
	var key [28]byte
	copy(key[:], m)
	b, err := secret.NewBox(key, secret.Sealed(), secret.Guarded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	if err := b.Update(func(*[28]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]secret.Value{"Value": v, "Box": secret.BoxValueForTest(b)} {
		pre, err := secret.PrekeyForTest(c).Reveal()
		if err != nil {
			t.Fatal(err)
		}
		cell := secret.SealedCellForTest(t, c)
		if len(cell) != secret.SealOverheadForTest+len(m) {
			t.Errorf("%s: the cell holds %d bytes, want %d", name, len(cell), secret.SealOverheadForTest+len(m))
		}
		id, count := secret.CellIdentityForTest(c)
		pt, ok := refOpen(pre, cell, id, count)
		if !ok || string(pt) != m {
			t.Errorf("%s: the reference cannot open the cell (tag ok %v)", name, ok)
		}
		if _, ok := refOpen(pre, cell, id, count+1); ok {
			t.Errorf("%s: the reference opened the cell as a later seal", name)
		}
		secret.Wipe(pt)
		secret.Wipe(pre)
	}
}
