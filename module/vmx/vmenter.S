/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX world switch (SDM Vol. 3, "VM Entries" and "VM Exits").
 *
 * int kv_vmx_vmenter(u64 *regs, unsigned long flags, u64 *spec_ctrl)
 *
 * VM entry loads the guest's RSP, RIP, RFLAGS, control registers and
 * segments from the VMCS, and VM exit loads the host's from it: HOST_RSP,
 * written here just before entry, and HOST_RIP, which points at
 * kv_vmx_vmexit below.  So a VM exit "returns" into the middle of this
 * function, with the stack exactly as it was at VMLAUNCH/VMRESUME.
 *
 * The general-purpose registers are switched by hand, from and to @regs,
 * indexed like the hardware's register numbers (RAX 0, RCX 1, RDX 2,
 * RBX 3, RSP 4, RBP 5, RSI 6, RDI 7, R8..R15 8..15); RSP lives in the VMCS.
 *
 * @flags are KV_SPEC_* (core/spec.h): VMRESUME rather than VMLAUNCH, and
 * what to do for speculative execution, as KVM 6.1's __vmx_vcpu_run():
 * load the guest's IA32_SPEC_CTRL (*@spec_ctrl) if it differs from the
 * host's, VERW just before the entry, and after the exit, before the
 * first RET, fill the RSB, read the guest's SPEC_CTRL back if it owns the
 * MSR, put the host's value back and clear the branch history (BHI).
 *
 * Returns 0 after a VM exit, 1 when VMLAUNCH/VMRESUME failed (the VMCS's
 * VM-instruction error field says why).  Called with interrupts disabled.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include "core/spec.h"
#include "core/spec_asm.S"

#define REG(n)		(n * 8)
#define HOST_RSP	0x6c14


	.section .noinstr.text, "ax"

SYM_FUNC_START(kv_vmx_vmenter)
	push	%rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* @spec_ctrl, @regs and @flags, for the inner function and the exit */
	push	%rdx
	push	%rdi
	push	%rsi

	call	kv_vmx_enter_guest

	/* Back from a VM exit (RAX = 0) or a failed entry (RAX = 1). */
	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(kv_vmx_vmenter)

/*
 * Entered by CALL, so the return address is on the stack when HOST_RSP is
 * recorded: kv_vmx_vmexit's RET then comes back to kv_vmx_vmenter.
 */
SYM_FUNC_START_LOCAL(kv_vmx_enter_guest)
	mov	$HOST_RSP, %eax
.Lvmwrite_rsp:
	vmwrite	%rsp, %rax
	jbe	.Lfail_early

	/* The guest's SPEC_CTRL (@flags at 8, @spec_ctrl at 24); no RET after. */
	LOAD_GUEST_SPEC_CTRL 8, 24
	mov	16(%rsp), %rdi		/* @regs */
	mov	REG(0)(%rdi), %rax
	mov	REG(1)(%rdi), %rcx
	mov	REG(2)(%rdi), %rdx
	mov	REG(3)(%rdi), %rbx
	mov	REG(5)(%rdi), %rbp
	mov	REG(6)(%rdi), %rsi
	mov	REG(8)(%rdi), %r8
	mov	REG(9)(%rdi), %r9
	mov	REG(10)(%rdi), %r10
	mov	REG(11)(%rdi), %r11
	mov	REG(12)(%rdi), %r12
	mov	REG(13)(%rdi), %r13
	mov	REG(14)(%rdi), %r14
	mov	REG(15)(%rdi), %r15
	mov	REG(7)(%rdi), %rdi

	/*
	 * Clear the CPU's buffers where the host asks (MDS, MMIO stale
	 * data, RFDS): last, so that no host data reaches them after it.
	 */
	testb	$KV_SPEC_VERW, 8(%rsp)
	jz	2f
	verw	x86_verw_sel(%rip)
2:
	/*
	 * IF stays clear: external interrupts exit the guest whatever it
	 * says.  (Bochs misses that for a guest that runs with IF clear too;
	 * the VMX-preemption timer makes such a guest exit anyway.)
	 */
	testb	$KV_SPEC_RESUME, 8(%rsp)
	jnz	.Lresume
.Lvmlaunch:
	vmlaunch
	jmp	.Lfail
.Lresume:
.Lvmresume:
	vmresume
	/*
	 * Entry failed, with the guest's SPEC_CTRL loaded: the host's back.
	 * The caller restores its callee-saved registers.
	 */
.Lfail:
	RESTORE_HOST_SPEC_CTRL 8, 24, 0
.Lfail_early:
	mov	$1, %eax
	RET

	/*
	 * A VMX instruction faulted: VMX is off in this CPU, which only a
	 * reboot may do under a vCPU (kvisor_virt_fault()).  Then the entry
	 * "failed"; otherwise the oops, with this address.
	 */
.Lfault_early:
	cmpb	$0, kvisor_rebooting(%rip)
	jne	.Lfail_early
	ud2
.Lfault:
	cmpb	$0, kvisor_rebooting(%rip)
	jne	.Lfail
	ud2

	_ASM_EXTABLE(.Lvmwrite_rsp, .Lfault_early)
	_ASM_EXTABLE(.Lvmlaunch, .Lfault)
	_ASM_EXTABLE(.Lvmresume, .Lfault)
SYM_FUNC_END(kv_vmx_enter_guest)

/*
 * HOST_RIP: a VM exit lands here with the host's RSP (the return address
 * into kv_vmx_vmenter on top, then @flags, @regs and @spec_ctrl) and
 * every other register still holding the guest's value.
 */
SYM_FUNC_START(kv_vmx_vmexit)
	push	%rdi
	mov	24(%rsp), %rdi		/* @regs */
	mov	%rax, REG(0)(%rdi)
	mov	%rcx, REG(1)(%rdi)
	mov	%rdx, REG(2)(%rdi)
	mov	%rbx, REG(3)(%rdi)
	mov	%rbp, REG(5)(%rdi)
	mov	%rsi, REG(6)(%rdi)
	mov	%r8, REG(8)(%rdi)
	mov	%r9, REG(9)(%rdi)
	mov	%r10, REG(10)(%rdi)
	mov	%r11, REG(11)(%rdi)
	mov	%r12, REG(12)(%rdi)
	mov	%r13, REG(13)(%rdi)
	mov	%r14, REG(14)(%rdi)
	mov	%r15, REG(15)(%rdi)
	popq	REG(7)(%rdi)

	/*
	 * Before the first RET, which returns into kv_vmx_vmenter without
	 * its CALL: overwrite the return predictions the guest may have
	 * planted, where the host asks for it, then the host's SPEC_CTRL.
	 */
	testb	$KV_SPEC_RSB, 8(%rsp)
	jz	1f
	__FILL_RETURN_BUFFER(%rcx, RSB_CLEAR_LOOPS)
	jmp	2f
1:
	testb	$KV_SPEC_RSB_ONE, 8(%rsp)
	jz	2f
	__FILL_ONE_RETURN
2:
	RESTORE_HOST_SPEC_CTRL 8, 24, 1
	CLEAR_BHB_AFTER_EXIT 8

	/* Leave no guest value in a register for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%eax, %eax
	RET
SYM_FUNC_END(kv_vmx_vmexit)
