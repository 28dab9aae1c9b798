/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SVM world switch (APM Vol. 2, "VMRUN Instruction" and "#VMEXIT").
 *
 * void kv_svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_save_pa)
 *
 * VMRUN itself saves and restores only part of the host's state (RIP, RSP,
 * RAX, RFLAGS, CR0/3/4, EFER, GDTR/IDTR, and the ES/CS/SS/DS selectors),
 * and loads the same part of the guest's from the VMCB.  The rest is
 * switched here: FS, GS, TR, LDTR and the SYSCALL/SYSENTER MSRs with
 * VMSAVE/VMLOAD, and the general-purpose registers by hand, from and to
 * @regs, which is indexed like the hardware's register numbers (RAX 0,
 * RCX 1, RDX 2, RBX 3, RSP 4, RBP 5, RSI 6, RDI 7, R8..R15 8..15).  RAX and
 * RSP of the guest live in the VMCB; the C caller copies them.
 *
 * Called with GIF clear (so nothing interrupts the host half-switched)
 * and IF set (so a physical interrupt exits the guest).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define REG(n)	(n * 8)

	.section .noinstr.text, "ax"

SYM_FUNC_START(kv_svm_vmrun)
	push	%rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* Kept for after the exit: host save area, @regs, VMCB address. */
	push	%rdx
	push	%rsi
	push	%rdi

	/* Host FS/GS/TR/LDTR/syscall MSRs out, the guest's in. */
	mov	%rdx, %rax
	vmsave	%rax
	mov	%rdi, %rax
	vmload	%rax

	/* Guest registers in; RSI (our pointer) goes last. */
	mov	REG(1)(%rsi), %rcx
	mov	REG(2)(%rsi), %rdx
	mov	REG(3)(%rsi), %rbx
	mov	REG(5)(%rsi), %rbp
	mov	REG(7)(%rsi), %rdi
	mov	REG(8)(%rsi), %r8
	mov	REG(9)(%rsi), %r9
	mov	REG(10)(%rsi), %r10
	mov	REG(11)(%rsi), %r11
	mov	REG(12)(%rsi), %r12
	mov	REG(13)(%rsi), %r13
	mov	REG(14)(%rsi), %r14
	mov	REG(15)(%rsi), %r15
	mov	REG(6)(%rsi), %rsi

	/* RAX = VMCB address, as VMRUN wants; RSP is still ours. */
	mov	(%rsp), %rax
	vmrun	%rax

	/* #VMEXIT: host RSP and RAX are back; the rest is the guest's. */
	push	%rsi
	mov	16(%rsp), %rsi		/* @regs */
	mov	%rcx, REG(1)(%rsi)
	mov	%rdx, REG(2)(%rsi)
	mov	%rbx, REG(3)(%rsi)
	mov	%rbp, REG(5)(%rsi)
	mov	%rdi, REG(7)(%rsi)
	mov	%r8, REG(8)(%rsi)
	mov	%r9, REG(9)(%rsi)
	mov	%r10, REG(10)(%rsi)
	mov	%r11, REG(11)(%rsi)
	mov	%r12, REG(12)(%rsi)
	mov	%r13, REG(13)(%rsi)
	mov	%r14, REG(14)(%rsi)
	mov	%r15, REG(15)(%rsi)
	popq	REG(6)(%rsi)

	/* The guest's FS/GS/TR/... back into its VMCB, the host's in. */
	mov	(%rsp), %rax
	vmsave	%rax
	mov	16(%rsp), %rax
	vmload	%rax

	/* Leave no guest value in a register for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(kv_svm_vmrun)
