package middleware

import (
	"testing"
	"unsafe"
)

// RequireJWT's one allocation per request (scope, claims and request) is
// a 1024-byte object only while it fits in 1016 bytes: the allocator
// puts an 8-byte header before objects over 512 bytes that hold pointers,
// and 1032 bytes would take the 1152-byte class. A new field here, in
// jwt.Claims or in http.Request (a Go release) fails this.
func TestJWTScopeFitsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are counted for 64-bit platforms")
	}
	if n := unsafe.Sizeof(jwtScope{}); n > 1016 {
		t.Errorf("jwtScope is %d bytes, over 1016", n)
	}
}
