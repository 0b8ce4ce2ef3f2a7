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

// The wipes: each zeroes its whole frame, the first 8 bytes with one
// store if the frame is not 16-byte aligned, then 16 bytes at a time at
// aligned addresses (see erase.go), then the rest. The depths are
// multiples of 64.

// func wipeStack()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStack(SB), 0, $const_wipeFrame-0
	MOVQ	SP, DI
	TESTQ	$8, DI
	JZ	wipeStack_aligned
	MOVQ	$0, (DI)
	ADDQ	$8, DI
wipeStack_aligned:
	PXOR	X0, X0
	MOVQ	$(const_wipeDepth/64), CX
wipeStack_loop:
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	DECQ	CX
	JNZ	wipeStack_loop
	// What is left of the frame: 8 or 16 bytes.
	LEAQ	const_wipeFrame(SP), CX
wipeStack_tail:
	CMPQ	DI, CX
	JAE	wipeStack_done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	JMP	wipeStack_tail
wipeStack_done:
	RET

// func wipeStackMAC()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackMAC(SB), 0, $const_wipeFrameMAC-0
	MOVQ	SP, DI
	TESTQ	$8, DI
	JZ	wipeStackMAC_aligned
	MOVQ	$0, (DI)
	ADDQ	$8, DI
wipeStackMAC_aligned:
	PXOR	X0, X0
	MOVQ	$(const_macWipeDepth/64), CX
wipeStackMAC_loop:
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	DECQ	CX
	JNZ	wipeStackMAC_loop
	// What is left of the frame: 8 or 16 bytes.
	LEAQ	const_wipeFrameMAC(SP), CX
wipeStackMAC_tail:
	CMPQ	DI, CX
	JAE	wipeStackMAC_done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	JMP	wipeStackMAC_tail
wipeStackMAC_done:
	RET

// func wipeStackHash()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackHash(SB), 0, $const_wipeFrameHash-0
	MOVQ	SP, DI
	TESTQ	$8, DI
	JZ	wipeStackHash_aligned
	MOVQ	$0, (DI)
	ADDQ	$8, DI
wipeStackHash_aligned:
	PXOR	X0, X0
	MOVQ	$(const_hashWipeDepth/64), CX
wipeStackHash_loop:
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	DECQ	CX
	JNZ	wipeStackHash_loop
	// What is left of the frame: 8 or 16 bytes.
	LEAQ	const_wipeFrameHash(SP), CX
wipeStackHash_tail:
	CMPQ	DI, CX
	JAE	wipeStackHash_done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	JMP	wipeStackHash_tail
wipeStackHash_done:
	RET

// func wipeStackSlow()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackSlow(SB), 0, $const_wipeFrameSlow-0
	MOVQ	SP, DI
	TESTQ	$8, DI
	JZ	wipeStackSlow_aligned
	MOVQ	$0, (DI)
	ADDQ	$8, DI
wipeStackSlow_aligned:
	PXOR	X0, X0
	MOVQ	$(const_wipeDepthSlow/64), CX
wipeStackSlow_loop:
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	DECQ	CX
	JNZ	wipeStackSlow_loop
	// What is left of the frame: 8 or 16 bytes.
	LEAQ	const_wipeFrameSlow(SP), CX
wipeStackSlow_tail:
	CMPQ	DI, CX
	JAE	wipeStackSlow_done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	JMP	wipeStackSlow_tail
wipeStackSlow_done:
	RET

// func wipeStackMACSlow()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackMACSlow(SB), 0, $const_wipeFrameMACSlow-0
	MOVQ	SP, DI
	TESTQ	$8, DI
	JZ	wipeStackMACSlow_aligned
	MOVQ	$0, (DI)
	ADDQ	$8, DI
wipeStackMACSlow_aligned:
	PXOR	X0, X0
	MOVQ	$(const_macWipeDepthSlow/64), CX
wipeStackMACSlow_loop:
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	DECQ	CX
	JNZ	wipeStackMACSlow_loop
	// What is left of the frame: 8 or 16 bytes.
	LEAQ	const_wipeFrameMACSlow(SP), CX
wipeStackMACSlow_tail:
	CMPQ	DI, CX
	JAE	wipeStackMACSlow_done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	JMP	wipeStackMACSlow_tail
wipeStackMACSlow_done:
	RET

// func wipeStackDeep()
// No NOSPLIT: the stack check for the frame stays (growStack made room).
TEXT ·wipeStackDeep(SB), 0, $const_wipeFrameDeep-0
	MOVQ	SP, DI
	TESTQ	$8, DI
	JZ	wipeStackDeep_aligned
	MOVQ	$0, (DI)
	ADDQ	$8, DI
wipeStackDeep_aligned:
	PXOR	X0, X0
	MOVQ	$(const_deepWipeDepth/64), CX
wipeStackDeep_loop:
	MOVAPS	X0, 0(DI)
	MOVAPS	X0, 16(DI)
	MOVAPS	X0, 32(DI)
	MOVAPS	X0, 48(DI)
	ADDQ	$64, DI
	DECQ	CX
	JNZ	wipeStackDeep_loop
	// What is left of the frame: 8 or 16 bytes.
	LEAQ	const_wipeFrameDeep(SP), CX
wipeStackDeep_tail:
	CMPQ	DI, CX
	JAE	wipeStackDeep_done
	MOVQ	$0, (DI)
	ADDQ	$8, DI
	JMP	wipeStackDeep_tail
wipeStackDeep_done:
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
