/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included by both vmenter.S (not built on its own), after
 * <asm/msr-index.h>, <asm/percpu.h> and core/spec.h.  @flags
 * and @spec are the stack offsets of the flags and of the pointer to the
 * guest's SPEC_CTRL.  No RET and no indirect branch in either: with the
 * guest's value loaded, the host's branch predictions may be less
 * restricted.
 */

/* The guest's IA32_SPEC_CTRL in, if it differs.  Clobbers RAX, RCX, RDX, RDI. */
.macro LOAD_GUEST_SPEC_CTRL flags:req spec:req
	testb	$KV_SPEC_CTRL, \flags(%rsp)
	jz	.Lguest_spec_done_\@
	mov	\spec(%rsp), %rdi
	mov	(%rdi), %rax
	cmp	PER_CPU_VAR(x86_spec_ctrl_current), %rax
	je	.Lguest_spec_done_\@
	mov	%rax, %rdx
	shr	$32, %rdx
	mov	$MSR_IA32_SPEC_CTRL, %ecx
	wrmsr
.Lguest_spec_done_\@:
.endm

/*
 * The host's IA32_SPEC_CTRL back after the guest ran (or failed to
 * enter), the guest's read first if @save and it owns the MSR.  Clobbers
 * RAX, RCX, RDX, RDI.
 */
.macro RESTORE_HOST_SPEC_CTRL flags:req spec:req save:req
	testb	$KV_SPEC_CTRL, \flags(%rsp)
	jz	.Lspec_done_\@
	mov	\spec(%rsp), %rdi
	mov	$MSR_IA32_SPEC_CTRL, %ecx
.if \save
	testb	$KV_SPEC_CTRL_SAVE, \flags(%rsp)
	jz	.Lspec_saved_\@
	rdmsr
	mov	%eax, (%rdi)
	mov	%edx, 4(%rdi)
.Lspec_saved_\@:
.endif
	mov	PER_CPU_VAR(x86_spec_ctrl_current), %rax
	/* legacy IBRS must be set again after a less privileged mode */
	testb	$KV_SPEC_CTRL_ALWAYS, \flags(%rsp)
	jnz	.Lspec_write_\@
	cmp	(%rdi), %rax
	je	.Lspec_fence_\@
.Lspec_write_\@:
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
.Lspec_fence_\@:
	/*
	 * No speculation past a skipped WRMSR with the guest's value still
	 * in force (KVM's barrier_nospec() on VMX; the hazard is the same
	 * on SVM).
	 */
	lfence
.Lspec_done_\@:
.endm

/*
 * After the exit, once the host's SPEC_CTRL is back: the branch history
 * the guest left cleared where the host asks (KVM's
 * CLEAR_BRANCH_HISTORY_VMEXIT; clear_bhb_loop() is the kernel's own
 * loop, the one its syscall entry uses).  Its CALL and RET are safe only
 * now, with the RSB filled and the host's SPEC_CTRL loaded.  Clobbers
 * RAX, RCX.
 */
.macro CLEAR_BHB_AFTER_EXIT flags:req
	testb	$KV_SPEC_BHB, \flags(%rsp)
	jz	.Lbhb_done_\@
	call	clear_bhb_loop
.Lbhb_done_\@:
.endm
