package middleware

import (
	"net/http"
	"runtime/debug"
	"unsafe"
)

// scrubbable reports whether r's header strings are fresh heap copies
// owned by r alone: true for HTTP/1.x requests parsed by net/http's
// server (which sets RequestURI). HTTP/2 header strings may be shared with
// the connection's HPACK table, and writing into them would corrupt later
// requests on that connection.
func scrubbable(r *http.Request) bool {
	return r.ProtoMajor == 1 && r.RequestURI != ""
}

// scrubString overwrites the bytes of s with zeros, unless they lie in the
// executable's image (string literals) or turn out not to be writable. It
// reports whether it wrote.
func scrubString(s string) bool {
	if len(s) == 0 {
		return false
	}
	p := unsafe.StringData(s)
	if !outsideImage(uintptr(unsafe.Pointer(p)), len(s)) {
		return false
	}
	return zeroTolerant(unsafe.Slice(p, len(s)))
}

// zeroTolerant clears b and recovers if the memory faults, as read-only
// memory does; it reports whether the clear completed.
func zeroTolerant(b []byte) (ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	clear(b)
	return true
}
