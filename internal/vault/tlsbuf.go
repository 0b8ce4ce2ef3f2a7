package vault

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"sync"
	"unsafe"
)

// crypto/tls decrypts each record in place in a buffer of its own
// (Conn.rawInput) and hands the plaintext out from there (Conn.input),
// keeping it until a later record overwrites it: over TLS, the last
// response on every connection (a renewal's token, a secret's value)
// would stay on the heap. crypto/tls has no API to clear it, so this file
// reaches into those two fields, the one place the package does so. A
// crypto/tls that no longer has them (by name and type) is detected
// once, the clearing is skipped, and TestTLSInternalsAreWhereExpected
// fails: the proof's TLS run would then count the copies again.
//
// The fields are looked up at the first TLS connection, not in a package
// initializer: reflecting on tls.Conn at init made the linker keep the
// whole TLS client and X.509 verification (1.3 MB) in every program that
// imports package config, Vault or not (see config's
// TestConfigWithoutVaultLinksNoTLSClient).
var (
	tlsFieldsOnce sync.Once
	tlsFieldsAt   struct {
		raw, input uintptr
		ok         bool
	}
)

func tlsFields() (raw, input uintptr, ok bool) {
	tlsFieldsOnce.Do(func() {
		t := reflect.TypeFor[tls.Conn]()
		r, ok1 := t.FieldByName("rawInput")
		in, ok2 := t.FieldByName("input")
		if ok1 && ok2 && r.Type == reflect.TypeFor[bytes.Buffer]() && in.Type == reflect.TypeFor[bytes.Reader]() {
			tlsFieldsAt.raw, tlsFieldsAt.input, tlsFieldsAt.ok = r.Offset, in.Offset, true
		}
	})
	return tlsFieldsAt.raw, tlsFieldsAt.input, tlsFieldsAt.ok
}

// tlsInput is a tls.Conn's record buffer.
type tlsInput struct {
	raw   *bytes.Buffer
	input *bytes.Reader
}

func tlsInputOf(c *tls.Conn) tlsInput {
	raw, input, ok := tlsFields()
	if !ok {
		return tlsInput{}
	}
	p := unsafe.Pointer(c)
	return tlsInput{raw: (*bytes.Buffer)(unsafe.Add(p, raw)), input: (*bytes.Reader)(unsafe.Add(p, input))}
}

// clear wipes the record buffer once everything decrypted into it has
// been read. It must run on the goroutine that reads the connection,
// between two Reads (wipingConn.Read does), when nothing else uses it.
func (t tlsInput) clear() {
	if t.raw == nil || t.raw.Len() != 0 || t.input.Len() != 0 {
		return
	}
	t.wipe()
}

// wipe clears the record buffer whatever it still holds: the connection
// is closed, nothing will read it.
func (t tlsInput) wipe() {
	if t.raw == nil {
		return
	}
	t.input.Reset(nil)
	t.raw.Reset()
	clear(t.records())
}

// records is the whole of the record buffer's memory.
func (t tlsInput) records() []byte {
	b := t.raw.AvailableBuffer()
	return b[:cap(b)]
}
