/* SPDX-License-Identifier: GPL-2.0 */
/*
 * triple16.S - a real-mode flat binary that triple-faults on purpose.
 *
 * With an interrupt table of limit 0, no exception can be delivered: a
 * divide error (#DE, vector 0) becomes a #GP, which cannot be delivered
 * either (#DF), and neither can the #DF.  The CPU shuts down, KVM reports
 * KVM_EXIT_SHUTDOWN, and kvisor-run says "triple fault" and exits with 1.
 *
 * Two details make this hold on every host:
 * - Real-mode delivery does not check the limit everywhere (AMD CPUs just
 *   read the vector's entry), so CR0.PE is set first: protected-mode
 *   delivery always checks.  No far jump is needed for that, CS keeps its
 *   real-mode contents until something reloads it.
 * - The fault is a divide error, not INT3 or UD2: KVM may intercept those
 *   two and emulate them, and its emulator gives up (an internal error)
 *   instead of faulting.
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	lidt	empty_idt
	mov	%cr0, %eax
	or	$1, %eax		/* CR0.PE */
	mov	%eax, %cr0
	xor	%ax, %ax
	div	%ax			/* #DE */
	/* Not reached; if it were, the run would end as "halted". */
1:	hlt
	jmp	1b

empty_idt:
	.word	0			/* limit */
	.long	0			/* base */
