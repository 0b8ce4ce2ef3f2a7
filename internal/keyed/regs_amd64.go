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
