package secret_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// The reference construction, built from crypto/hmac: what sealed.go
// documents, written the obvious way.

func refHMAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func refKeys(master, salt []byte) (enc, mac []byte) {
	return refHMAC(master, []byte("enc"), salt), refHMAC(master, []byte("mac"), salt)
}

func refKeyStream(kEnc, salt []byte, n int) []byte {
	var out []byte
	for i := uint64(0); len(out) < n; i++ {
		out = append(out, refHMAC(kEnc, salt, binary.BigEndian.AppendUint64(nil, i))...)
	}
	return out[:n]
}

// refOpen checks and decrypts a cell sealed under pre.
func refOpen(pre, cell []byte) ([]byte, bool) {
	master := sha256.Sum256(pre)
	salt, tag, ct := cell[:16], cell[16:48], cell[48:]
	enc, mac := refKeys(master[:], salt)
	if !hmac.Equal(tag, refHMAC(mac, salt, ct)) {
		return nil, false
	}
	pt := refKeyStream(enc, salt, len(ct))
	for i := range pt {
		pt[i] ^= ct[i]
	}
	return pt, true
}

func filled(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestTheHMACHelperMatchesCryptoHMAC(t *testing.T) {
	// Key lengths around the block size, where HMAC pads or hashes the key.
	for _, kl := range []int{0, 1, 31, 32, 33, 63, 64, 65, 100, 128, 200} {
		key := filled(kl, byte(kl))
		for n := 0; n <= 300; n++ {
			msg := filled(n, 0x5a)
			got := secret.HMACForTest(key, msg)
			if !bytes.Equal(got[:], refHMAC(key, msg)) {
				t.Fatalf("HMAC with a %d-byte key over %d bytes differs from crypto/hmac", kl, n)
			}
		}
	}
}

func TestTheKeyDerivationAndKeyStreamMatchHMACReferences(t *testing.T) {
	var master [32]byte
	salt := make([]byte, 16)
	if _, err := rand.Read(master[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	enc, mac := secret.KeysForTest(master, salt)
	wantEnc, wantMac := refKeys(master[:], salt)
	if !bytes.Equal(enc[:], wantEnc) || !bytes.Equal(mac[:], wantMac) {
		t.Fatal("the derived keys are not HMAC-SHA256(master, label || salt)")
	}
	for _, n := range []int{0, 1, 31, 32, 33, 64, 65, 100, 1000, 4099} {
		if !bytes.Equal(secret.KeyStreamForTest(enc, salt, n), refKeyStream(enc[:], salt, n)) {
			t.Fatalf("the %d-byte key stream is not HMAC-SHA256(kEnc, salt || uint64be(i))", n)
		}
	}
}

// The known answer was computed independently, with Python's hmac and
// hashlib, from the construction in sealed.go.
func TestSealingHasAKnownAnswer(t *testing.T) {
	pre := make([]byte, secret.PrekeySizeForTest)
	for i := range pre {
		pre[i] = byte(i % 251)
	}
	salt := []byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}
	pt := []byte("a known answer of 69 bytes crosses two key stream block boundaries...")
	const want = "101112131415161718191a1b1c1d1e1f" + // salt
		"3d4bf17d979ff4eea03b422db11c229d8a099dd82618ec5ce246b10f7e404b40" + // tag
		"4d8ab61326fa9bf85e51c078d4fff507e79f1433909a829cde1d7f514cdcf3cb" + // ciphertext
		"6605a23ed5e793825f145909cb16d32c9ec3e26e3cc9f3841652ec1d491b9312" +
		"c0248862fe"
	cell := secret.SealForTest(pre, salt, pt)
	if got := hex.EncodeToString(cell); got != want {
		t.Fatalf("sealed cell\n got %s\nwant %s", got, want)
	}
	if out, err := secret.OpenForTest(pre, cell); err != nil || !bytes.Equal(out, pt) {
		t.Fatalf("the known answer does not open: %v", err)
	}
	for i := range cell {
		bad := bytes.Clone(cell)
		bad[i] ^= 1
		if _, err := secret.OpenForTest(pre, bad); !errors.Is(err, secret.ErrCorrupted) {
			t.Fatalf("a flipped bit in byte %d: %v, want ErrCorrupted", i, err)
		}
	}
	pre[len(pre)-1] ^= 1 // every bit of the pre-key counts
	if _, err := secret.OpenForTest(pre, cell); !errors.Is(err, secret.ErrCorrupted) {
		t.Fatalf("a pre-key differing in its last bit opened the cell: %v", err)
	}
}

// A cell sealed by the real path, under the process pre-key, opens with
// the reference.
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
	pre, err := secret.PrekeyForTest(t).Reveal()
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Wipe(pre)
	for name, c := range map[string]secret.Value{"Value": v, "Box": secret.BoxValueForTest(b)} {
		cell := secret.SealedCellForTest(t, c)
		if len(cell) != secret.SealOverheadForTest+len(m) {
			t.Errorf("%s: the cell holds %d bytes, want %d", name, len(cell), secret.SealOverheadForTest+len(m))
		}
		pt, ok := refOpen(pre, cell)
		if !ok || string(pt) != m {
			t.Errorf("%s: the reference cannot open the cell (tag ok %v)", name, ok)
		}
		secret.Wipe(pt)
	}
}
