package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"runtime/debug"
	"testing"
	"unsafe"

	"filippo.io/edwards25519"

	"github.com/secretmem/secretmem/internal/keyed"
)

// The ECDSA signature runs in EraseDeep: it must fit its wipe.
func TestECDSASigningFitsTheWipe(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var s ecdsaScalar
	var be [32]byte
	priv.D.FillBytes(be[:])
	loadWords(&s, &be)
	digest := sha256.Sum256([]byte("x"))
	limit := keyed.DeepWipeDepthForTest() - 256
	for name, f := range map[string]func(){
		"randomised":    func() { _, _ = signECDSA(&priv.PublicKey, &s, rand.Reader, digest[:], crypto.SHA256) },
		"deterministic": func() { _, _ = signECDSA(&priv.PublicKey, &s, nil, digest[:], crypto.SHA256) },
		"public key": func() {
			//lint:ignore SA1019 what newECDSA runs
			_, _ = elliptic.P256().ScalarBaseMult(be[:])
		},
	} {
		f() // warm up: first-use tables are built on the heap, not here
		var depth int
		func() {
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			keyed.GrowStackForTest(64 << 10)
			depth = keyed.StackDepthForTest(f, 48<<10)
		}()
		t.Logf("%s: %d bytes of stack", name, depth)
		if depth == 0 || depth > limit {
			t.Errorf("%s uses %d bytes of stack; EraseDeep wipes %d", name, depth, limit)
		}
	}
}

// ecdsaNeedles are the forms a P-256 scalar takes: big-endian bytes and
// machine words in either order.
func ecdsaNeedles(d *big.Int) keyed.NeedlesForTest {
	var be [32]byte
	d.FillBytes(be[:])
	n := keyed.NeedlesForTest{}
	n.Add("scalar, big-endian", be[:])
	n.AddWords("scalar words", be[:], 8)
	return n
}

// checkErased runs f and requires that neither the dead stack below the
// caller nor the registers hold a needle; with the wipes skipped, the
// scan must find one, or it cannot see.
func checkErased(t *testing.T, f func(), needles keyed.NeedlesForTest) {
	t.Helper()
	checkErasedSeeing(t, f, needles, true)
}

// checkErasedSeeing is checkErased; mustSee false waives the check that
// the scan finds something without the wipes.
func checkErasedSeeing(t *testing.T, f func(), needles keyed.NeedlesForTest, mustSee bool) {
	t.Helper()
	keyed.CheckErasedForTest(t, keyed.ErasureForTest{
		Call: f, Span: keyed.DeepWipeDepthForTest() + 4<<10, Needles: needles, ControlMayMiss: !mustSee,
	})
}

func TestNoScalarOutlivesAnECDSASignature(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	key, err := parseCell(t, pemBlock("PRIVATE KEY", der))
	if err != nil {
		t.Fatal(err)
	}
	defer key.Destroy()
	digest := sha256.Sum256([]byte("x"))
	nd := ecdsaNeedles(priv.D)
	_, _ = key.Sign(rand.Reader, digest[:], crypto.SHA256)
	t.Run("Sign", func(t *testing.T) {
		checkErasedSeeing(t, func() { _, _ = key.Sign(rand.Reader, digest[:], crypto.SHA256) }, nd, scalarOnTheStack)
	})
	t.Run("Sign, deterministic", func(t *testing.T) {
		checkErasedSeeing(t, func() { _, _ = key.Sign(nil, digest[:], crypto.SHA256) }, nd, scalarOnTheStack)
	})
}

// Parsing a PEM key decodes it four characters at a time (no 8-byte run
// of the seed or its base64 is ever on the stack) and expands it on a
// stack that is wiped: none of it is left behind.
func TestNoKeyOutlivesParsing(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	p := pemBlock("PRIVATE KEY", der)
	cell := newCell(t, p)
	nd := keyed.NeedlesForTest{}
	nd.Add("seed", priv.Seed())
	h := sha512.Sum512(priv.Seed())
	nd.Add("expanded key", h[:])
	sc, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	nd.Add("scalar (Montgomery words)", unsafe.Slice((*byte)(unsafe.Pointer(sc)), unsafe.Sizeof(*sc)))
	b64 := base64.StdEncoding.EncodeToString(der)
	nd.Add("base64 of the key", []byte(b64[24:56]))
	checkErased(t, func() {
		k, err := ParsePrivateKey(cell)
		if err != nil {
			t.Fatal(err)
		}
		k.Destroy()
	}, nd)
}
