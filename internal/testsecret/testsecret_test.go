package testsecret

import (
	"bytes"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

func TestCellCopiesAStringOrBytesAndDiesWithTheTest(t *testing.T) {
	var fromString, fromBytes secret.Value
	src := []byte("key-bytes")
	t.Run("a test", func(t *testing.T) {
		fromString = Cell(t, "a string")
		fromBytes = Cell(t, src)
		if !fromString.Equal([]byte("a string")) || !fromBytes.Equal([]byte("key-bytes")) {
			t.Fatal("a cell does not hold what it was given")
		}
	})
	if !bytes.Equal(src, []byte("key-bytes")) {
		t.Error("the bytes given were changed; Cell must copy them")
	}
	if fromString.Alive() || fromBytes.Alive() {
		t.Error("a cell outlived its test")
	}
}
