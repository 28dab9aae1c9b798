/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hello32.S - an ELF32 guest for prot32 mode: print a line on COM1, halt.
 *
 * kvisor-run starts an ELF32 executable in 32-bit protected mode with
 * flat 4 GiB segments and paging off, at e_entry.  Each byte waits until
 * the UART's line status register says the transmitter is empty, as a
 * driver for a real 16550 must; every IN and OUT is a KVM_EXIT_IO.
 */
#define COM1_THR	0x3f8		/* transmit holding register */
#define COM1_LSR	0x3fd		/* line status register */
#define LSR_THRE	0x20		/* transmit holding register empty */

	.code32
	.text
	.globl	_start
_start:
	mov	$msg, %esi
next:
	movb	(%esi), %bl
	test	%bl, %bl
	jz	done
	mov	$COM1_LSR, %dx
wait:
	inb	%dx, %al
	test	$LSR_THRE, %al
	jz	wait
	mov	$COM1_THR, %dx
	mov	%bl, %al
	outb	%al, %dx
	inc	%esi
	jmp	next
done:
	hlt
	jmp	done

	.section .rodata
msg:
	.asciz	"Hello from 32-bit protected mode\n"
