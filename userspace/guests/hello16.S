/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hello16.S - a real-mode flat binary: print a line on COM1, then halt.
 *
 * kvisor-run loads a flat binary at 0x7c00 and starts it with CS = DS =
 * ES = SS = 0x07c0 and IP = 0, so it is linked at 0: every label is an
 * offset from the start of that segment.
 *
 * The line goes out with one REP OUTSB.  That is a single KVM_EXIT_IO with
 * io.count = the length of the line, instead of one exit per byte.  (The
 * runner's UART never fills up, so there is no status to poll here; see
 * hello32.S and hello64.c for the polite way.)
 */
	.code16
	.text
	.globl	_start
_start:
	cld				/* OUTSB walks SI upwards */
	mov	$msg, %si		/* DS:SI: the bytes */
	mov	$msg_len, %cx		/* CX: how many */
	mov	$0x3f8, %dx		/* DX: COM1's transmit register */
	rep outsb
	/* Without an irqchip, HLT goes to userspace: the run ends here. */
1:	hlt
	jmp	1b

msg:
	.ascii	"Hello from real mode\n"
	msg_len = . - msg
