package vault

import "runtime"

// scrubRegisters overwrites the vector registers a copy of secret bytes
// leaves them in. The runtime's memmove moves up to 256 bytes through
// X0-X15 and larger blocks through the AVX registers (then VZEROUPPER),
// and a thread keeps whatever its registers last held until it runs
// something else: an idle thread's registers end up in a core dump (the
// thread's saved state in the core's notes) with the last request body
// or secret it copied. Copying zeros of the sizes that use those same
// registers replaces them.
//
// It is called right after each copy of secret bytes this package makes
// or causes (request bodies and the token into net/http's buffers,
// response bytes into protected memory, values into cells), on the same
// goroutine. Best effort: a goroutine moved to another thread between
// the copy and the scrub leaves the old thread as it was. Built with
// GOEXPERIMENT=runtimesecret, the runtime can erase registers itself.
func scrubRegisters() {
	var dst [scrubLarge]byte
	copy(dst[:scrubSizes[0]], zeros[:scrubSizes[0]])
	copy(dst[:scrubSizes[1]], zeros[:scrubSizes[1]])
	runtime.KeepAlive(&dst)
}

const scrubLarge = 1024

var (
	zeros = make([]byte, scrubLarge)
	// Variables, not constants: a copy of a length known at compile time
	// may be inlined with other registers instead of calling memmove.
	scrubSizes = []int{256, scrubLarge}
)
