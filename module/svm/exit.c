// SPDX-License-Identifier: GPL-2.0
/*
 * SVM exits: one table maps the VMCB's exit code (APM Vol. 2, "SVM
 * Intercept Exit Codes") to a handler, and each handler turns the exit
 * information into a call to a vendor-neutral handler in core/.
 *
 * Without NRIPS (QEMU's software emulation has none) the VMCB does not say
 * where the next instruction starts, so the length of the instructions
 * kvisor skips is known here: the encodings without prefixes.
 * kvisor_skip_insn() moves RIP past them, and owes the single-step trap
 * the instruction would have raised.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <asm/debugreg.h>
#include <asm/trapnr.h>

#include "svm.h"

static unsigned int svm_insn_len(struct svm_vcpu *svm, unsigned int len)
{
	if (svm_has_nrips && svm->vmcb->control.next_rip)
		return svm->vmcb->control.next_rip - svm->vmcb->save.rip;
	return len;
}

static int svm_exit_intr(struct svm_vcpu *svm)
{
	/* The host took the interrupt when GIF was set again. */
	svm->vcpu.exits[KVISOR_EXIT_INTR]++;
	return 1;
}

static int svm_exit_vintr(struct svm_vcpu *svm)
{
	return kvisor_handle_irq_window(&svm->vcpu);
}

/*
 * The IRET of an NMI handler: it has not run yet (the exit comes first),
 * so the NMI stays masked until the guest is seen past it
 * (svm_save_guest()); an NMI that waits steps over it
 * (svm_set_nmi_window()).
 */
static int svm_exit_iret(struct svm_vcpu *svm)
{
	svm->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT1_IRET;
	svm->awaiting_iret = true;
	svm->iret_rip = svm->vcpu.rip;
	return kvisor_handle_nmi_window(&svm->vcpu);
}

static int svm_exit_cpuid(struct svm_vcpu *svm)
{
	return kvisor_handle_cpuid(&svm->vcpu, svm_insn_len(svm, 2));
}

static int svm_exit_hlt(struct svm_vcpu *svm)
{
	return kvisor_handle_hlt(&svm->vcpu, svm_insn_len(svm, 1));
}

static int svm_exit_invd(struct svm_vcpu *svm)
{
	/* Guest caches are the host's: dropping them would lose host data. */
	kvisor_skip_insn(&svm->vcpu, svm_insn_len(svm, 2));
	return 1;
}

static int svm_exit_ioio(struct svm_vcpu *svm)
{
	u64 info = svm->vmcb->control.exit_info_1;
	u8 size = (info >> SVM_IOIO_SIZE_SHIFT) & 7;

	/* exit_info_2 holds the next RIP for IOIO, NRIPS or not. */
	return kvisor_handle_io(&svm->vcpu, info >> SVM_IOIO_PORT_SHIFT, size,
				info & SVM_IOIO_IN, info & SVM_IOIO_STR,
				info & SVM_IOIO_REP,
				svm->vmcb->control.exit_info_2);
}

/*
 * exit_info_1 is a #PF error code (bit 1: the access was a write) with two
 * more bits above it (APM "Nested versus Guest Page Faults, Fault
 * Ordering"): bit 32 when the fault was on the final guest-physical
 * address, bit 33 when it was on a guest page-table entry.
 */
static int svm_exit_npf(struct svm_vcpu *svm)
{
	u64 info = svm->vmcb->control.exit_info_1;

	return kvisor_handle_tdp_fault(&svm->vcpu,
				       svm->vmcb->control.exit_info_2,
				       (info & BIT(1) ? KVISOR_TDP_WRITE : 0) |
				       (info & BIT_ULL(32) ? KVISOR_TDP_FINAL : 0));
}

static int svm_exit_shutdown(struct svm_vcpu *svm)
{
	/* After a shutdown the VMCB's contents are undefined: start over. */
	svm_reset_vmcb(svm);
	return kvisor_handle_shutdown(&svm->vcpu);
}

static int svm_exit_msr(struct svm_vcpu *svm)
{
	return kvisor_handle_msr(&svm->vcpu, svm->vmcb->control.exit_info_1,
				 svm_insn_len(svm, 2));
}

/*
 * PAUSE filtering (svm.c): the intercept comes before the PAUSE that
 * took the count to 0, which is then skipped, as KVM does, where NRIPS
 * gives its length (else it runs again).  A spin that
 * lasted so long may find no one to yield to: the next count is larger,
 * as KVM's grow_ple_window() makes it, so that a vCPU that really does
 * wait alone for a while exits less often.
 */
static int svm_exit_pause(struct svm_vcpu *svm)
{
	svm->pause_filter_count =
		kvisor_pause_window_grow(svm->pause_filter_count,
					 pause_filter_count,
					 pause_filter_count_grow,
					 pause_filter_count_max);
	return kvisor_handle_pause(&svm->vcpu, svm_insn_len(svm, 0));
}

static int svm_exit_xsetbv(struct svm_vcpu *svm)
{
	return kvisor_handle_xsetbv(&svm->vcpu, svm_insn_len(svm, 3));
}

/*
 * kvisor offers no nested SVM: the SVM instructions do not exist.  Nor
 * does RDPRU, as in KVM: it would read the host's APERF and MPERF.
 */
static int svm_exit_ud(struct svm_vcpu *svm)
{
	svm_queue_exception(&svm->vcpu, X86_TRAP_UD, false, 0);
	return 1;
}

/* VMMCALL, AMD's hypercall instruction (core/hypercall.c) */
static const u8 svm_vmmcall[KVISOR_HYPERCALL_LEN] = { 0x0f, 0x01, 0xd9 };

static int svm_exit_vmmcall(struct svm_vcpu *svm)
{
	return kvisor_handle_hypercall(&svm->vcpu, svm_get_cpl(&svm->vcpu),
				       svm_insn_len(svm, KVISOR_HYPERCALL_LEN));
}

/*
 * #UD, intercepted to find Intel's VMCALL, which a guest migrated from
 * an Intel host may run: core/hypercall.c rewrites it into VMMCALL.
 */
static int svm_exit_ud_fault(struct svm_vcpu *svm)
{
	return kvisor_handle_ud(&svm->vcpu, svm_vmmcall);
}

/* MONITOR and MWAIT: three bytes each, no prefixes. */
static int svm_exit_monitor_mwait(struct svm_vcpu *svm)
{
	return kvisor_handle_monitor_mwait(&svm->vcpu, svm_insn_len(svm, 3));
}

/*
 * #DB: the CPU put its new bits in the VMCB's DR6 (reset before each
 * entry), and in the real DR6, which goes back to its idle value for the
 * host's next #DB.
 */
static int svm_exit_db(struct svm_vcpu *svm)
{
	u64 bits = svm->vmcb->save.dr6 & 0xe00f;
	u8 why;

	set_debugreg(DR6_RESERVED, 6);
	/* The step after an IRET or a shadow, for an NMI or IRQ that waits. */
	why = svm_step_trap(svm, &bits);
	if (why & SVM_STEP_NMI)
		kvisor_handle_nmi_window(&svm->vcpu);
	if (why & SVM_STEP_IRQ)
		kvisor_handle_irq_window(&svm->vcpu);
	if (why)
		return 1;
	return kvisor_handle_db(&svm->vcpu, bits);
}

/* #BP, intercepted for KVM_GUESTDBG_USE_SW_BP: RIP is at the INT3. */
static int svm_exit_bp(struct svm_vcpu *svm)
{
	return kvisor_handle_bp(&svm->vcpu);
}

/* MOV DR: exit codes 0x20-0x2f read DR0-15, 0x30-0x3f write them. */
static int svm_exit_dr(struct svm_vcpu *svm)
{
	u64 code = svm->vmcb->control.exit_code;

	return kvisor_handle_dr_decode(&svm->vcpu, code & 15,
				       code >= SVM_EXIT_WRITE_DR0);
}

/*
 * A MOV to CRn the CPU intercepted, decoded at RIP (without decode assists
 * the exit does not name the register): the CR it names, the value (32
 * bits outside 64-bit mode) and the length, or -EFAULT.
 */
static int svm_cr_write_value(struct kvisor_vcpu *vcpu, int *cr, u64 *val,
			      unsigned int *len)
{
	struct emu_ctxt ctxt;
	int gpr;

	if (kvisor_decode_mov_crdr(vcpu, 0x22, cr, &gpr, len, &ctxt))
		return -EFAULT;
	*val = vcpu->regs[gpr];
	if (ctxt.mode != EMU_MODE_LONG64)
		*val = (u32)*val;
	return 0;
}

/*
 * MOV to CR4.  The intercept comes before the CPU's own checks (APM Vol.
 * 2, "Instruction Intercepts"), so kvisor_cr4_write_valid() makes them
 * all, with those of the vCPU's CPUID; a failure is #GP.  A change of a
 * bit that shapes translations flushes what the guest's ASID cached, as
 * the instruction would have.
 */
static int svm_exit_write_cr4(struct svm_vcpu *svm)
{
	struct kvisor_vcpu *vcpu = &svm->vcpu;
	struct vmcb_save *s = &svm->vmcb->save;
	unsigned int len;
	int cr;
	u64 val;

	if (svm_cr_write_value(vcpu, &cr, &val, &len) || cr != 4)
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION, vcpu->rip,
				SVM_EXIT_WRITE_CR4);
	if (!kvisor_cr4_write_valid(vcpu, s->cr4, val, s->efer, s->cr3)) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	if ((val ^ s->cr4) & KVISOR_CR4_TLB_BITS)
		svm_request_tlb_flush(vcpu);
	s->cr4 = val;
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/*
 * MOV to CR8, intercepted only for a while (svm_update_cr8_intercept()).
 * The new TPR goes where the guest's write would have put it, V_TPR and
 * the in-kernel LAPIC, and the next entry delivers what it unmasked.
 * Bits 63:4 are reserved (#GP).  The exit code names CR8, so the AltMovCr8
 * form of 32-bit code (LOCK MOV CR0, AMD's CR8_LEGACY) decodes as CR0.
 */
static int svm_exit_write_cr8(struct svm_vcpu *svm)
{
	struct kvisor_vcpu *vcpu = &svm->vcpu;
	struct vmcb_control *c = &svm->vmcb->control;
	unsigned int len;
	int cr;
	u64 val;

	if (svm_cr_write_value(vcpu, &cr, &val, &len) || (cr != 8 && cr != 0))
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION, vcpu->rip,
				SVM_EXIT_WRITE_CR8);
	if (val > 15) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	c->int_ctl = (c->int_ctl & ~0xf) | val;
	kvisor_lapic_set_cr8(vcpu, val);
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/*
 * INTn, intercepted with #BP because QEMU's SVM takes INT3 for a software
 * interrupt (exit 0x75) rather than a #BP exception.  INT3 is the
 * breakpoint; any other INT n is given back to the guest as the software
 * interrupt it is, returning after its two bytes.
 */
static int svm_exit_swint(struct svm_vcpu *svm)
{
	struct kvisor_vcpu *vcpu = &svm->vcpu;
	struct emu_ctxt ctxt;
	u8 insn[2] = { 0 };
	u32 pf_error;
	u64 gpa;

	svm_get_cpu_mode(vcpu, &ctxt);
	if (kvisor_gva_to_gpa(vcpu, ctxt.seg_base[EMU_SEG_CS] + vcpu->rip,
			      false, true, &gpa, &pf_error) ||
	    kvisor_read_guest(vcpu->vm, gpa, insn,
			      min_t(u64, 2, PAGE_SIZE - offset_in_page(gpa))))
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION, vcpu->rip, 0);
	if (insn[0] == 0xcc)
		return kvisor_handle_bp(vcpu);
	if (insn[0] != 0xcd)
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION, vcpu->rip, insn[0]);
	/*
	 * The INT n is not completed here but delivered at the next entry,
	 * as the software interrupt it is, which pushes RIP as the return
	 * address: RIP moves past it by hand.  Delivery clears TF, so no
	 * single-step trap is owed; kvisor_skip_insn() would queue a #DB
	 * that replaces the interrupt.
	 */
	vcpu->rip += 2;
	svm->event = SVM_EVT_VALID | SVM_EVT_TYPE_SOFT_INTR | insn[1];
	svm->event_err = 0;
	return 1;
}

static int svm_exit_ac(struct svm_vcpu *svm)
{
	svm_queue_exception(&svm->vcpu, X86_TRAP_AC, true, 0);
	return 1;
}

/* No PMU is offered: RDPMC faults as on a CPU without counters. */
static int svm_exit_rdpmc(struct svm_vcpu *svm)
{
	svm_queue_exception(&svm->vcpu, X86_TRAP_GP, true, 0);
	return 1;
}

static int svm_exit_mc(struct svm_vcpu *svm)
{
	/*
	 * A machine check in the guest is the host's: its handler ran right
	 * after the exit (svm_run()); the guest goes on.  One the guest
	 * caused through erratum 383 shuts the guest down, as in KVM.
	 */
	if (svm->erratum_383) {
		svm->erratum_383 = false;
		pr_err_ratelimited("guest triggered AMD erratum 383\n");
		return kvisor_handle_shutdown(&svm->vcpu);
	}
	return 1;
}

static int (*const svm_exit_handlers[])(struct svm_vcpu *svm) = {
	[SVM_EXIT_WRITE_CR4]	= svm_exit_write_cr4,
	[SVM_EXIT_WRITE_CR8]	= svm_exit_write_cr8,
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_WRITE_DR0 + 15] = svm_exit_dr,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_DB] = svm_exit_db,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_BP] = svm_exit_bp,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_UD] = svm_exit_ud_fault,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_AC] = svm_exit_ac,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_MC] = svm_exit_mc,
	[SVM_EXIT_RDPMC]	= svm_exit_rdpmc,
	[SVM_EXIT_WBINVD]	= svm_exit_invd,
	[SVM_EXIT_INTR]		= svm_exit_intr,
	[SVM_EXIT_NMI]		= svm_exit_intr,
	[SVM_EXIT_VINTR]	= svm_exit_vintr,
	[SVM_EXIT_IRET]		= svm_exit_iret,
	[SVM_EXIT_SWINT]	= svm_exit_swint,
	[SVM_EXIT_CPUID]	= svm_exit_cpuid,
	[SVM_EXIT_INVD]		= svm_exit_invd,
	[SVM_EXIT_PAUSE]	= svm_exit_pause,
	[SVM_EXIT_HLT]		= svm_exit_hlt,
	[SVM_EXIT_INVLPGA]	= svm_exit_ud,
	[SVM_EXIT_IOIO]		= svm_exit_ioio,
	[SVM_EXIT_MSR]		= svm_exit_msr,
	[SVM_EXIT_SHUTDOWN]	= svm_exit_shutdown,
	[SVM_EXIT_VMRUN]	= svm_exit_ud,
	[SVM_EXIT_VMMCALL]	= svm_exit_vmmcall,
	[SVM_EXIT_VMLOAD]	= svm_exit_ud,
	[SVM_EXIT_VMSAVE]	= svm_exit_ud,
	[SVM_EXIT_STGI]		= svm_exit_ud,
	[SVM_EXIT_CLGI]		= svm_exit_ud,
	[SVM_EXIT_SKINIT]	= svm_exit_ud,
	[SVM_EXIT_MONITOR]	= svm_exit_monitor_mwait,
	[SVM_EXIT_MWAIT]	= svm_exit_monitor_mwait,
	[SVM_EXIT_XSETBV]	= svm_exit_xsetbv,
	[SVM_EXIT_RDPRU]	= svm_exit_ud,
	[SVM_EXIT_NPF]		= svm_exit_npf,
};

int svm_handle_exit(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 code = svm->vmcb->control.exit_code;
	int (*handler)(struct svm_vcpu *svm) = NULL;

	/*
	 * VMRUN refused the guest state: a consistency check failed.  The
	 * code is -1; some implementations (QEMU's) store only 32 bits of it.
	 */
	if ((u32)code == (u32)SVM_EXIT_INVALID)
		return kvisor_handle_fail_entry(vcpu, SVM_EXIT_INVALID);

	if (code < ARRAY_SIZE(svm_exit_handlers))
		handler = svm_exit_handlers[array_index_nospec(code,
					ARRAY_SIZE(svm_exit_handlers))];
	if (!handler) {
		pr_warn_ratelimited("unexpected SVM exit %#llx (info %#llx %#llx)\n",
				    code, svm->vmcb->control.exit_info_1,
				    svm->vmcb->control.exit_info_2);
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, code,
				svm->vmcb->control.exit_info_1);
	}
	return handler(svm);
}

/* The kvm_exit tracepoint's view of the exit, as KVM gives it. */
void svm_get_exit_info(struct kvisor_vcpu *vcpu, u32 *reason, u64 *info1,
		       u64 *info2, u32 *intr_info, u32 *error_code)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	*reason = c->exit_code;
	*info1 = c->exit_info_1;
	*info2 = c->exit_info_2;
	*intr_info = c->exit_int_info;
	*error_code = (c->exit_int_info & SVM_EVT_VALID) &&
		      (c->exit_int_info & SVM_EVT_ERROR_VALID) ?
		      c->exit_int_info_err : 0;
}
