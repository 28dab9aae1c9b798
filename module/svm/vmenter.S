/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SVM world switch (APM Vol. 2, "VMRUN Instruction" and "#VMEXIT").
 *
 * void kv_svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_save_pa,
 *		     unsigned long spec_flags, u64 *spec_ctrl)
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
 * @spec_flags (KV_SPEC_*, core/spec.h) say what to do for speculative
 * execution, as KVM 6.1's __svm_vcpu_run(): load the guest's
 * IA32_SPEC_CTRL (*@spec_ctrl) while the host's GS still reaches its
 * per-CPU x86_spec_ctrl_current, VERW last before VMRUN, and after
 * #VMEXIT, once the host's GS is back and before any RET, fill the RSB,
 * read the guest's SPEC_CTRL back if it owns the MSR and put the host's
 * value back; then untrain the return predictor and IBPB where the host
 * asks (Retbleed, SRSO).
 *
 * Called with GIF clear (so nothing interrupts the host half-switched)
 * and IF set (so a physical interrupt exits the guest).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include "core/spec.h"
#include "core/spec_asm.S"

#define REG(n)	(n * 8)

/* Stack slots after the pushes below. */
#define S_VMCB		0
#define S_REGS		8
#define S_HOST_SAVE	16
#define S_FLAGS		24
#define S_SPEC_CTRL	32

	.section .noinstr.text, "ax"

SYM_FUNC_START(kv_svm_vmrun)
	push	%rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* Kept for after the exit: the S_* slots above. */
	push	%r8
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi

	/* The guest's SPEC_CTRL; no RET from here to VMRUN (core/spec_asm.S). */
	LOAD_GUEST_SPEC_CTRL S_FLAGS, S_SPEC_CTRL
	/* Host FS/GS/TR/LDTR/syscall MSRs out, the guest's in. */
	mov	S_HOST_SAVE(%rsp), %rax
.Lvmsave_host:
	vmsave	%rax
.Lvmsave_host_end:
	mov	S_VMCB(%rsp), %rax
.Lvmload_guest:
	vmload	%rax
.Lvmload_guest_end:
	mov	S_REGS(%rsp), %rsi

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

	/*
	 * Clear the CPU's buffers where the host asks (TSA): last,
	 * so that no host data reaches them after it.
	 */
	testb	$KV_SPEC_VERW, S_FLAGS(%rsp)
	jz	2f
	verw	x86_verw_sel(%rip)
2:
	/* RAX = VMCB address, as VMRUN wants; RSP is still ours. */
	mov	S_VMCB(%rsp), %rax
.Lvmrun:
	vmrun	%rax
.Lvmrun_end:

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
	mov	S_VMCB(%rsp), %rax
.Lvmsave_guest:
	vmsave	%rax
.Lvmsave_guest_end:
	mov	S_HOST_SAVE(%rsp), %rax
.Lvmload_host:
	vmload	%rax
.Lvmload_host_end:

	/*
	 * Before any RET: overwrite the return predictions the guest may
	 * have planted (where the host runs retpolines), then the host's
	 * SPEC_CTRL, after reading the guest's if it wrote the MSR freely.
	 */
	testb	$KV_SPEC_RSB, S_FLAGS(%rsp)
	jz	3f
	__FILL_RETURN_BUFFER(%rax, RSB_CLEAR_LOOPS)
3:
	RESTORE_HOST_SPEC_CTRL S_FLAGS, S_SPEC_CTRL, 1

	/*
	 * Retbleed and SRSO on AMD: untrain the return predictions the
	 * guest may have planted, before interrupts are on again (their
	 * handlers return to the kernel without untraining), with the
	 * kernel's own sequence for the mode it chose (patched in like
	 * KVM's UNTRAIN_RET; nothing where it is off).
	 */
	CALL_UNTRAIN_RET
	/*
	 * IBPB after every exit where the host's SRSO or Retbleed mode is
	 * "IBPB on VMEXIT" (X86_FEATURE_IBPB_ON_VMEXIT).  entry_ibpb()
	 * clobbers RAX, RCX, RDX.
	 */
	testl	$KV_SPEC_IBPB_EXIT, S_FLAGS(%rsp)
	jz	4f
	call	entry_ibpb
4:
	/* BHI: no AMD CPU needs it, but the host's word counts here too. */
	CLEAR_BHB_AFTER_EXIT S_FLAGS

	/* Leave no guest value in a register for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$40, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

/*
 * An SVM instruction faulted: EFER.SVME is off in this CPU, which only a
 * reboot may do under a vCPU (kvisor_virt_fault()).  Then it is skipped;
 * otherwise the oops, with this address.
 */
.macro SVM_FIXUP insn:req
.L\insn\()_fixup:
	cmpb	$0, kvisor_rebooting(%rip)
	jne	.L\insn\()_end
	ud2
	_ASM_EXTABLE(.L\insn, .L\insn\()_fixup)
.endm
	SVM_FIXUP vmsave_host
	SVM_FIXUP vmload_guest
	SVM_FIXUP vmrun
	SVM_FIXUP vmsave_guest
	SVM_FIXUP vmload_host
SYM_FUNC_END(kv_svm_vmrun)
