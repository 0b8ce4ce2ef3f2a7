package keyed

import "golang.org/x/sys/cpu"

// Read by the assembly: which register files exist to be wiped.
var (
	hasAVX    = cpu.X86.HasAVX     //lint:ignore U1000 read by regs_amd64.s
	hasAVX512 = cpu.X86.HasAVX512F //lint:ignore U1000 read by regs_amd64.s (SpillRegistersForTest)
)

// archDepth is how much deeper this architecture's calls go than the
// wipe depths in erase.go, which were measured here: none.
const archDepth = 0

// archDeepDepth is how much deeper EraseDeep wipes here than on amd64:
// none.
const archDeepDepth = 0

// slowHashDepth is how much further the wipes reach where deepHashes is
// set: the generic SHA-512 goes 576 bytes deeper than AVX2 in an HMAC
// and 712 in Key.Set, SHA-256's AVX2 code 544 deeper than SHA-NI.
const slowHashDepth = 768

// fastHashCPU reports whether crypto/sha256 runs its SHA-NI code here and
// crypto/sha512 its AVX2 code: the features the standard library checks
// for them (crypto/internal/fips140/sha256 and sha512, Go 1.24 to 1.26),
// and BMI1 besides.
func fastHashCPU() bool {
	x := cpu.X86
	return x.HasAVX && x.HasAVX2 && x.HasBMI1 && x.HasBMI2 && x.HasSSE41 && x.HasSSSE3 && hasSHANI()
}

// hasSHANI reports the SHA extensions (CPUID leaf 7, EBX bit 29), which
// golang.org/x/sys/cpu does not.
func hasSHANI() bool

// growStack makes sure the goroutine's stack has wipeDepth+growHeadroom
// free bytes below the caller's frame, growing (copying) it now if not,
// before any key material is on it. Its frame is that large and left
// uninitialised: the stack check in its prologue is the whole point.
func growStack()

// growStackDeep is growStack for EraseDeep: deepWipeDepth+growHeadroom.
func growStackDeep()

// wipeRegisters zeroes the general-purpose registers a Go function may
// clobber and the vector registers X/Y/Z0-15.
func wipeRegisters()

// RegisterFileSize is the size of what SpillRegistersForTest writes.
const RegisterFileSize = 14*8 + 32*64

// SpillRegistersForTest stores the general-purpose and vector registers
// into p, as they are when it is called. Tests use it to search registers
// for key material.
func SpillRegistersForTest(p *[RegisterFileSize]byte)

// The wipes' frames (the assembly reads them from go_asm.h): the depth
// and 32 bytes, so that the aligned stores that cover the depth stay
// inside the frame, which is zeroed whole.
const (
	wipeFrame        = wipeDepth + 32        //lint:ignore U1000 read by regs_amd64.s
	wipeFrameMAC     = macWipeDepth + 32     //lint:ignore U1000 read by regs_amd64.s
	wipeFrameHash    = hashWipeDepth + 32    //lint:ignore U1000 read by regs_amd64.s
	wipeFrameSlow    = wipeDepthSlow + 32    //lint:ignore U1000 read by regs_amd64.s
	wipeFrameMACSlow = macWipeDepthSlow + 32 //lint:ignore U1000 read by regs_amd64.s
	wipeFrameDeep    = deepWipeDepth + 32    //lint:ignore U1000 read by regs_amd64.s
)

// wipeStack zeroes the wipeDepth bytes of stack below its caller's frame
// (see erase.go); the others likewise for their depths.
func wipeStack()

func wipeStackMAC()

func wipeStackHash()

func wipeStackSlow()

func wipeStackMACSlow()

func wipeStackDeep()
