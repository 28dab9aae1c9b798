/* SPDX-License-Identifier: GPL-2.0 */
/*
 * start64.S - where hello64 starts: call main(), hand its return value to
 * the debug-exit port.
 *
 * kvisor-run has done what C needs but one thing: RSP is the top of RAM,
 * which is 16-byte aligned only by luck, and the ABI wants that before a
 * call.  (.bss is already zero: the loader clears an ELF's memsz.)
 */
#define DEBUG_EXIT_PORT	0xf4

	.section .text.start, "ax"
	.globl	_start
_start:
	andq	$-16, %rsp
	call	main
	/* The value written to port 0xf4 becomes kvisor-run's exit status. */
	mov	$DEBUG_EXIT_PORT, %dx
	outl	%eax, %dx
1:	hlt
	jmp	1b
