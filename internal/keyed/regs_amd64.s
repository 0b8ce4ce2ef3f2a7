#include "textflag.h"
#include "go_asm.h"

// func growStack()
// No NOSPLIT: the assembler adds the stack check for the frame size, and
// morestack grows the stack when it fails. The frame itself is not used.
TEXT ·growStack(SB), 0, $const_growSize-0
	RET

// func growStackDeep()
TEXT ·growStackDeep(SB), 0, $const_growDeepSize-0
	RET

// The wipes: each zeroes its whole frame (see erase.go) with zeroFrame.
// Their frames are their depths and 32 bytes, so that the aligned stores
// over the depth stay inside.

// func wipeStack()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStack(SB), 0, $const_wipeFrame-0
	MOVQ	SP, DI
	MOVQ	$const_wipeFrame, CX
	CALL	zeroFrame<>(SB)
	RET

// func wipeStackMAC()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackMAC(SB), 0, $const_wipeFrameMAC-0
	MOVQ	SP, DI
	MOVQ	$const_wipeFrameMAC, CX
	CALL	zeroFrame<>(SB)
	RET

// func wipeStackHash()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackHash(SB), 0, $const_wipeFrameHash-0
	MOVQ	SP, DI
	MOVQ	$const_wipeFrameHash, CX
	CALL	zeroFrame<>(SB)
	RET

// func wipeStackSlow()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackSlow(SB), 0, $const_wipeFrameSlow-0
	MOVQ	SP, DI
	MOVQ	$const_wipeFrameSlow, CX
	CALL	zeroFrame<>(SB)
	RET

// func wipeStackMACSlow()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackMACSlow(SB), 0, $const_wipeFrameMACSlow-0
	MOVQ	SP, DI
	MOVQ	$const_wipeFrameMACSlow, CX
	CALL	zeroFrame<>(SB)
	RET

// func wipeStackDeep()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackDeep(SB), 0, $const_wipeFrameDeep-0
	MOVQ	SP, DI
	MOVQ	$const_wipeFrameDeep, CX
	CALL	zeroFrame<>(SB)
	RET

// zeroFrame zeroes the CX bytes from DI, both multiples of 8, CX at least
// 96: 8-byte stores up to a 32-byte boundary, then 32-byte aligned AVX
// stores (16-byte SSE stores from a 16-byte boundary without AVX), then
// 8-byte stores. Aligned, no store straddles two cache lines; and wide,
// the stores drain from the store buffer sooner, which an atomic
// operation after the wipe waits for: a 1,152-byte wipe and an atomic add
// cost 16 ns of CPU time with AVX stores, 21 with SSE, 23 to 33.5 with
// the compiler's unaligned 16-byte stores, 8.5 the add alone.
TEXT zeroFrame<>(SB), NOSPLIT|NOFRAME, $0-0
	CMPB	·hasAVX(SB), $1
	JNE	sse
avxhead:
	TESTQ	$31, DI
	JZ	avxbody
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	SUBQ	$8, CX
	JMP	avxhead
avxbody:
	VPXOR	Y0, Y0, Y0
avxloop:
	CMPQ	CX, $64
	JB	avxdone
	VMOVDQA	Y0, 0(DI)
	VMOVDQA	Y0, 32(DI)
	ADDQ	$64, DI
	SUBQ	$64, CX
	JMP	avxloop
avxdone:
	VZEROUPPER
	JMP	tail
sse:
	TESTQ	$8, DI
	JZ	ssebody
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	SUBQ	$8, CX
ssebody:
	PXOR	X0, X0
sseloop:
	CMPQ	CX, $64
	JB	tail
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	SUBQ	$64, CX
	JMP	sseloop
tail:
	TESTQ	CX, CX
	JZ	done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	SUBQ	$8, CX
	JMP	tail
done:
	RET

// func hasSHANI() bool
TEXT ·hasSHANI(SB), NOSPLIT, $0-1
	MOVL	$7, AX
	XORL	CX, CX
	CPUID
	SHRL	$29, BX
	ANDL	$1, BX
	MOVB	BX, ret+0(FP)
	RET

// func wipeRegisters()
TEXT ·wipeRegisters(SB), NOSPLIT, $0-0
	XORL	AX, AX
	XORL	BX, BX
	XORL	CX, CX
	XORL	DX, DX
	XORL	SI, SI
	XORL	DI, DI
	XORL	R8, R8
	XORL	R9, R9
	XORL	R10, R10
	XORL	R11, R11
	XORL	R12, R12
	XORL	R13, R13
	CMPB	·hasAVX(SB), $1
	JNE	sse
	// Zeroes Y0-Y15, and Z0-Z15 to their full width. Z16-Z31 are left:
	// no code this package runs uses them (Go's hash, copy and compare
	// assembly stays below Z16; only the runtime's preemption and
	// runtime/secret touch them).
	VZEROALL
	JMP	done
sse:
	// Without AVX there are no upper halves to clear.
	PXOR	X0, X0
	PXOR	X1, X1
	PXOR	X2, X2
	PXOR	X3, X3
	PXOR	X4, X4
	PXOR	X5, X5
	PXOR	X6, X6
	PXOR	X7, X7
	PXOR	X8, X8
	PXOR	X9, X9
	PXOR	X10, X10
	PXOR	X11, X11
	PXOR	X12, X12
	PXOR	X13, X13
	PXOR	X14, X14
	PXOR	X15, X15
done:
	RET

// func SpillRegistersForTest(p *[RegisterFileSize]byte)
TEXT ·SpillRegistersForTest(SB), NOSPLIT, $0-8
	// The first thing done, before AX is overwritten by the argument.
	MOVQ	AX, R15
	MOVQ	p+0(FP), AX
	MOVQ	R15, 0(AX)
	MOVQ	BX, 8(AX)
	MOVQ	CX, 16(AX)
	MOVQ	DX, 24(AX)
	MOVQ	SI, 32(AX)
	MOVQ	DI, 40(AX)
	MOVQ	R8, 48(AX)
	MOVQ	R9, 56(AX)
	MOVQ	R10, 64(AX)
	MOVQ	R11, 72(AX)
	MOVQ	R12, 80(AX)
	MOVQ	R13, 88(AX)
	MOVQ	R14, 96(AX)
	MOVQ	BP, 104(AX)
	ADDQ	$112, AX
	CMPB	·hasAVX512(SB), $1
	JNE	noz
	VMOVDQU64	Z0, 0(AX)
	VMOVDQU64	Z1, 64(AX)
	VMOVDQU64	Z2, 128(AX)
	VMOVDQU64	Z3, 192(AX)
	VMOVDQU64	Z4, 256(AX)
	VMOVDQU64	Z5, 320(AX)
	VMOVDQU64	Z6, 384(AX)
	VMOVDQU64	Z7, 448(AX)
	VMOVDQU64	Z8, 512(AX)
	VMOVDQU64	Z9, 576(AX)
	VMOVDQU64	Z10, 640(AX)
	VMOVDQU64	Z11, 704(AX)
	VMOVDQU64	Z12, 768(AX)
	VMOVDQU64	Z13, 832(AX)
	VMOVDQU64	Z14, 896(AX)
	VMOVDQU64	Z15, 960(AX)
	VMOVDQU64	Z16, 1024(AX)
	VMOVDQU64	Z17, 1088(AX)
	VMOVDQU64	Z18, 1152(AX)
	VMOVDQU64	Z19, 1216(AX)
	VMOVDQU64	Z20, 1280(AX)
	VMOVDQU64	Z21, 1344(AX)
	VMOVDQU64	Z22, 1408(AX)
	VMOVDQU64	Z23, 1472(AX)
	VMOVDQU64	Z24, 1536(AX)
	VMOVDQU64	Z25, 1600(AX)
	VMOVDQU64	Z26, 1664(AX)
	VMOVDQU64	Z27, 1728(AX)
	VMOVDQU64	Z28, 1792(AX)
	VMOVDQU64	Z29, 1856(AX)
	VMOVDQU64	Z30, 1920(AX)
	VMOVDQU64	Z31, 1984(AX)
	RET
noz:
	CMPB	·hasAVX(SB), $1
	JNE	noy
	VMOVDQU	Y0, 0(AX)
	VMOVDQU	Y1, 64(AX)
	VMOVDQU	Y2, 128(AX)
	VMOVDQU	Y3, 192(AX)
	VMOVDQU	Y4, 256(AX)
	VMOVDQU	Y5, 320(AX)
	VMOVDQU	Y6, 384(AX)
	VMOVDQU	Y7, 448(AX)
	VMOVDQU	Y8, 512(AX)
	VMOVDQU	Y9, 576(AX)
	VMOVDQU	Y10, 640(AX)
	VMOVDQU	Y11, 704(AX)
	VMOVDQU	Y12, 768(AX)
	VMOVDQU	Y13, 832(AX)
	VMOVDQU	Y14, 896(AX)
	VMOVDQU	Y15, 960(AX)
	RET
noy:
	MOVOU	X0, 0(AX)
	MOVOU	X1, 64(AX)
	MOVOU	X2, 128(AX)
	MOVOU	X3, 192(AX)
	MOVOU	X4, 256(AX)
	MOVOU	X5, 320(AX)
	MOVOU	X6, 384(AX)
	MOVOU	X7, 448(AX)
	MOVOU	X8, 512(AX)
	MOVOU	X9, 576(AX)
	MOVOU	X10, 640(AX)
	MOVOU	X11, 704(AX)
	MOVOU	X12, 768(AX)
	MOVOU	X13, 832(AX)
	MOVOU	X14, 896(AX)
	MOVOU	X15, 960(AX)
	RET
