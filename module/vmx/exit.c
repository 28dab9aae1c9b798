// SPDX-License-Identifier: GPL-2.0
/*
 * VMX exits: one table maps the basic exit reason (SDM Vol. 3, "VMX Basic
 * Exit Reasons") to a handler, and each handler turns the exit
 * information (read in vmx_run() while the VMCS was current; SDM Vol. 3,
 * "Exit Qualification for Control-Register Accesses" and its sibling
 * tables) into a call to a vendor-neutral handler in core/.
 *
 * VMX always reports the length of the instruction that exited, so
 * skipping one is exact, prefixes included; kvisor_skip_insn() does it,
 * and owes the single-step trap the instruction would have raised.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/nospec.h>
#include <asm/trapnr.h>

#include "vmx.h"

/* VMCALL, Intel's hypercall instruction (core/hypercall.c) */
static const u8 vmx_vmcall[KVISOR_HYPERCALL_LEN] = { 0x0f, 0x01, 0xc1 };

static int vmx_exit_nmi_exception(struct vmx_vcpu *vmx)
{
	u32 vector = vmx->exit.intr_info & VMX_INTR_INFO_VECTOR_MASK;

	/* NMIs went to the host's handler in vmx_run(). */
	if ((vmx->exit.intr_info & VMX_INTR_TYPE_MASK) == VMX_INTR_TYPE_NMI)
		return 1;
	switch (vector) {
	case X86_TRAP_MC:
		/* The host's handler ran right after the exit (vmx_run()). */
		return 1;
	case X86_TRAP_DB:
		/*
		 * The CPU left DR6 alone and put the new bits in the
		 * qualification.  INT1 (ICEBP) is a trap the handler must
		 * return past, so RIP moves past it here, by hand: the #DB
		 * about to be reinjected is that instruction's own trap.
		 * kvisor_skip_insn() would owe a single-step trap on top:
		 * DR6.BS added to this #DB in the guest, and a debugger that
		 * single-steps the guest told of the instruction twice.
		 */
		if ((vmx->exit.intr_info & VMX_INTR_TYPE_MASK) ==
		    VMX_INTR_TYPE_PRIV_SW_EXCEPTION)
			vmx->vcpu.rip += vmx->exit.insn_len;
		return kvisor_handle_db(&vmx->vcpu, vmx->exit.qualification);
	case X86_TRAP_BP:
		return kvisor_handle_bp(&vmx->vcpu);
	case X86_TRAP_AC:
		vmx_queue_exception(&vmx->vcpu, X86_TRAP_AC, true,
				    vmx->exit.intr_error);
		return 1;
	case X86_TRAP_UD:
		/* AMD's VMMCALL, from a guest migrated from an AMD host */
		return kvisor_handle_ud(&vmx->vcpu, vmx_vmcall);
	}
	return kvisor_handle_internal_error(&vmx->vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			EXIT_REASON_EXCEPTION_NMI, vmx->exit.intr_info);
}

static int vmx_exit_interrupt(struct vmx_vcpu *vmx)
{
	/* The host took the interrupt when interrupts were enabled again. */
	vmx->vcpu.exits[KVISOR_EXIT_INTR]++;
	return 1;
}

static int vmx_exit_nmi_window(struct vmx_vcpu *vmx)
{
	return kvisor_handle_nmi_window(&vmx->vcpu);
}

static int vmx_exit_irq_window(struct vmx_vcpu *vmx)
{
	return kvisor_handle_irq_window(&vmx->vcpu);
}

static int vmx_exit_triple_fault(struct vmx_vcpu *vmx)
{
	return kvisor_handle_shutdown(&vmx->vcpu);
}

static int vmx_exit_cpuid(struct vmx_vcpu *vmx)
{
	return kvisor_handle_cpuid(&vmx->vcpu, vmx->exit.insn_len);
}

static int vmx_exit_hlt(struct vmx_vcpu *vmx)
{
	return kvisor_handle_hlt(&vmx->vcpu, vmx->exit.insn_len);
}

static int vmx_exit_invd(struct vmx_vcpu *vmx)
{
	/* Guest caches are the host's: dropping them would lose host data. */
	kvisor_skip_insn(&vmx->vcpu, vmx->exit.insn_len);
	return 1;
}

/* No PMU is offered: RDPMC faults as on a CPU without counters. */
static int vmx_exit_gp(struct vmx_vcpu *vmx)
{
	vmx_queue_exception(&vmx->vcpu, X86_TRAP_GP, true, 0);
	return 1;
}

/* kvisor offers no nested VMX: VMX instructions raise #UD. */
static int vmx_exit_ud(struct vmx_vcpu *vmx)
{
	vmx_queue_exception(&vmx->vcpu, X86_TRAP_UD, false, 0);
	return 1;
}

static int vmx_exit_vmcall(struct vmx_vcpu *vmx)
{
	return kvisor_handle_hypercall(&vmx->vcpu, vmx_get_cpl(&vmx->vcpu),
				       vmx->exit.insn_len);
}

static int vmx_exit_monitor_mwait(struct vmx_vcpu *vmx)
{
	return kvisor_handle_monitor_mwait(&vmx->vcpu, vmx->exit.insn_len);
}

static int vmx_exit_io(struct vmx_vcpu *vmx)
{
	unsigned long q = vmx->exit.qualification;

	/* Bits 2:0 size - 1, bit 3 IN, bit 4 string, bit 5 REP, 31:16 port */
	return kvisor_handle_io(&vmx->vcpu, q >> 16, (q & 7) + 1, q & BIT(3),
				q & BIT(4), q & BIT(5),
				vmx->vcpu.rip + vmx->exit.insn_len);
}

/*
 * The exit qualification (SDM "Exit Qualification for EPT Violations"):
 * bit 1, the access was a data write; bit 7, the guest linear address is
 * valid, and then bit 8 says whether the access was to the translated
 * address itself rather than to a guest paging-structure entry.
 */
static int vmx_exit_ept_violation(struct vmx_vcpu *vmx)
{
	unsigned long q = vmx->exit.qualification;
	bool final = (q & BIT(7)) && (q & BIT(8));

	return kvisor_handle_tdp_fault(&vmx->vcpu, vmx->exit.gpa,
				       (q & BIT(1) ? KVISOR_TDP_WRITE : 0) |
				       (final ? KVISOR_TDP_FINAL : 0));
}

static int vmx_exit_ept_misconfig(struct vmx_vcpu *vmx)
{
	/* kvisor writes no such entry: a bug worth reporting, not a crash. */
	pr_warn_ratelimited("EPT misconfiguration at GPA %#llx\n",
			    vmx->exit.gpa);
	return kvisor_handle_internal_error(&vmx->vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			EXIT_REASON_EPT_MISCONFIG, vmx->exit.gpa);
}

/*
 * MOV to or from CR8, which always exits: the guest's CR8 is kvisor's
 * copy (the real one is the host's TPR), or with an in-kernel LAPIC its
 * TPR.
 */
static int vmx_exit_cr8(struct vmx_vcpu *vmx, bool write, int gpr)
{
	struct kvisor_vcpu *vcpu = &vmx->vcpu;
	u64 val = vcpu->regs[gpr];

	if (write && val > 15) {
		vmx_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	if (!write)
		vcpu->regs[gpr] = vcpu->apic ? kvisor_lapic_get_cr8(vcpu) :
					       vmx->cr8;
	else if (vcpu->apic)
		kvisor_lapic_set_cr8(vcpu, val);
	else
		vmx->cr8 = val;
	kvisor_skip_insn(vcpu, vmx->exit.insn_len);
	return 1;
}

/* MOV to or from CR3 exits only on CPUs that force CR3-load/store exiting. */
static int vmx_exit_cr3(struct vmx_vcpu *vmx, bool write, int gpr)
{
	struct kvisor_vcpu *vcpu = &vmx->vcpu;

	vmx_load(vmx);
	if (write)
		vmcs_writel(VMCS_GUEST_CR3, vcpu->regs[gpr]);
	else
		vcpu->regs[gpr] = vmcs_readl(VMCS_GUEST_CR3);
	vmx_put(vmx);
	kvisor_skip_insn(vcpu, vmx->exit.insn_len);
	return 1;
}

/*
 * MOV to CR0 or CR4, and LMSW (@lmsw: its operand in bits 31:16 of the
 * qualification), exit only when they touch a bit kvisor owns (see
 * state.c).  The value must pass the architectural rules the guest's
 * CPU would apply (kvisor_cr0_valid(), kvisor_cr4_write_valid(): no CR4
 * bit the vCPU's CPUID does not offer) or the guest gets #GP.  What VMX forces on
 * or cannot hold is vmx_set_cr0()/vmx_set_cr4()'s business: the hardware
 * register gets the fixed bits, the read shadow what the guest wrote.
 */
static int vmx_exit_cr0_cr4(struct vmx_vcpu *vmx, int cr, bool lmsw, int gpr)
{
	struct kvisor_vcpu *vcpu = &vmx->vcpu;
	u64 cr0, cr3, cr4, efer, val, pdptrs[4];
	bool pae;

	vmx_get_paging(vcpu, &cr0, &cr3, &cr4, &efer);
	val = vcpu->regs[gpr];
	if (lmsw)	/* the low 4 bits; PE cannot be cleared */
		val = (cr0 & ~0xeULL) | ((vmx->exit.qualification >> 16) & 0xf);
	if (cr == 0 ? !kvisor_cr0_valid(val) :
		      !kvisor_cr4_write_valid(vcpu, cr4, val, efer, cr3)) {
		vmx_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	/* The flush the instruction would have made, done at entry. */
	if (cr == 4 && ((val ^ cr4) & KVISOR_CR4_TLB_BITS))
		vmx->flush = true;

	/* Entering PAE paging: its top entries come from guest memory. */
	pae = vmx_read_pdptrs(vcpu, cr == 0 ? val : cr0, cr3,
			      cr == 4 ? val : cr4, efer, pdptrs);
	vmx_load(vmx);
	if (pae)
		vmx_write_pdptrs(pdptrs);
	if (cr == 0)
		vmx_set_cr0(vmx, val);
	else
		vmx_set_cr4(vmx, val);
	vmx_put(vmx);
	kvisor_skip_insn(vcpu, vmx->exit.insn_len);
	return 1;
}

/*
 * Control-register accesses: bits 3:0 of the qualification name the CR,
 * 5:4 the access type (0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW), 11:8
 * the general-purpose register.
 */
static int vmx_exit_cr(struct vmx_vcpu *vmx)
{
	unsigned long q = vmx->exit.qualification;
	int cr = q & 15, type = (q >> 4) & 3, gpr = (q >> 8) & 15;

	if (cr == 8 && type <= 1)
		return vmx_exit_cr8(vmx, type == 0, gpr);
	if (cr == 3 && type <= 1)
		return vmx_exit_cr3(vmx, type == 0, gpr);
	if ((cr == 0 || cr == 4) && (type == 0 || type == 3))
		return vmx_exit_cr0_cr4(vmx, cr, type == 3, gpr);
	return kvisor_handle_internal_error(&vmx->vcpu,
			KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
			EXIT_REASON_CR_ACCESS, q);
}

/*
 * MOV to or from a debug register: bits 2:0 of the qualification name the
 * DR, bit 4 is set for MOV from DR, bits 11:8 name the GPR.
 */
static int vmx_exit_dr(struct vmx_vcpu *vmx)
{
	unsigned long q = vmx->exit.qualification;

	return kvisor_handle_dr(&vmx->vcpu, q & 7, !(q & BIT(4)),
				(q >> 8) & 15, vmx->exit.insn_len);
}

static int vmx_exit_msr(struct vmx_vcpu *vmx)
{
	bool write = (vmx->exit.reason & 0xffff) == EXIT_REASON_MSR_WRITE;

	return kvisor_handle_msr(&vmx->vcpu, write, vmx->exit.insn_len);
}

/*
 * PAUSE-loop exiting (vmx.c): the exit comes after the PAUSE that ended
 * the window.  A spin that lasted so long may find no one to yield to:
 * the next window is longer, as KVM's grow_ple_window() makes it, so that
 * a vCPU that really does wait alone for a while exits less often.
 */
static int vmx_exit_pause(struct vmx_vcpu *vmx)
{
	u32 old = vmx->ple_window;

	vmx->ple_window = kvisor_pause_window_grow(old, ple_window,
						   ple_window_grow,
						   ple_window_max);
	vmx->ple_window_dirty |= vmx->ple_window != old;
	return kvisor_handle_pause(&vmx->vcpu, vmx->exit.insn_len);
}

static int vmx_exit_xsetbv(struct vmx_vcpu *vmx)
{
	return kvisor_handle_xsetbv(&vmx->vcpu, vmx->exit.insn_len);
}

static int (*const vmx_exit_handlers[EXIT_REASON_NR])(struct vmx_vcpu *) = {
	[EXIT_REASON_EXCEPTION_NMI]	= vmx_exit_nmi_exception,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = vmx_exit_interrupt,
	[EXIT_REASON_TRIPLE_FAULT]	= vmx_exit_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW]	= vmx_exit_irq_window,
	[EXIT_REASON_NMI_WINDOW]	= vmx_exit_nmi_window,
	[EXIT_REASON_CPUID]		= vmx_exit_cpuid,
	[EXIT_REASON_HLT]		= vmx_exit_hlt,
	[EXIT_REASON_INVD]		= vmx_exit_invd,
	[EXIT_REASON_RDPMC]		= vmx_exit_gp,
	[EXIT_REASON_WBINVD]		= vmx_exit_invd,
	[EXIT_REASON_VMCALL]		= vmx_exit_vmcall,
	[EXIT_REASON_VMCLEAR]		= vmx_exit_ud,
	[EXIT_REASON_VMLAUNCH]		= vmx_exit_ud,
	[EXIT_REASON_VMPTRLD]		= vmx_exit_ud,
	[EXIT_REASON_VMPTRST]		= vmx_exit_ud,
	[EXIT_REASON_VMREAD]		= vmx_exit_ud,
	[EXIT_REASON_VMRESUME]		= vmx_exit_ud,
	[EXIT_REASON_VMWRITE]		= vmx_exit_ud,
	[EXIT_REASON_VMXOFF]		= vmx_exit_ud,
	[EXIT_REASON_VMXON]		= vmx_exit_ud,
	[EXIT_REASON_CR_ACCESS]		= vmx_exit_cr,
	[EXIT_REASON_DR_ACCESS]		= vmx_exit_dr,
	[EXIT_REASON_IO_INSTRUCTION]	= vmx_exit_io,
	[EXIT_REASON_MSR_READ]		= vmx_exit_msr,
	[EXIT_REASON_MSR_WRITE]		= vmx_exit_msr,
	[EXIT_REASON_MWAIT]		= vmx_exit_monitor_mwait,
	[EXIT_REASON_MONITOR]		= vmx_exit_monitor_mwait,
	[EXIT_REASON_PAUSE]		= vmx_exit_pause,
	[EXIT_REASON_EPT_VIOLATION]	= vmx_exit_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]	= vmx_exit_ept_misconfig,
	[EXIT_REASON_INVEPT]		= vmx_exit_ud,
	[EXIT_REASON_INVVPID]		= vmx_exit_ud,
	[EXIT_REASON_PREEMPTION_TIMER]	= vmx_exit_interrupt,
	[EXIT_REASON_XSETBV]		= vmx_exit_xsetbv,
};

int vmx_handle_exit(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 reason = vmx->exit.reason;
	int (*handler)(struct vmx_vcpu *vmx) = NULL;

	/* VMLAUNCH/VMRESUME failed: the VM-instruction error says why. */
	if (vmx->exit.vmfail)
		return kvisor_handle_fail_entry(vcpu, vmx->exit.insn_error);
	/* Entry checked the guest state and found it invalid. */
	if (reason & EXIT_REASON_FAILED_ENTRY)
		return kvisor_handle_fail_entry(vcpu, reason);

	reason &= 0xffff;
	if (reason < EXIT_REASON_NR)
		handler = vmx_exit_handlers[array_index_nospec(reason,
							       EXIT_REASON_NR)];
	if (!handler) {
		pr_warn_ratelimited("unexpected VMX exit %u (qualification %#lx)\n",
				    reason, vmx->exit.qualification);
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				reason, vmx->exit.qualification);
	}
	return handler(vmx);
}

/*
 * The kvm_exit tracepoint's view of the exit, as KVM gives it: a
 * VMLAUNCH/VMRESUME that failed outright has no exit reason, and KVM's
 * marker 0xdead stands in, with the VM-instruction error in info1; a
 * failed entry leaves only its reason and qualification meaningful.
 */
void vmx_get_exit_info(struct kvisor_vcpu *vcpu, u32 *reason, u64 *info1,
		       u64 *info2, u32 *intr_info, u32 *error_code)
{
	struct vmx_exit_info *e = &to_vmx(vcpu)->exit;

	*info2 = 0;
	*intr_info = 0;
	*error_code = 0;
	if (e->vmfail) {
		*reason = 0xdead;
		*info1 = e->insn_error;
		return;
	}
	*reason = e->reason;
	*info1 = e->qualification;
	if (e->reason & EXIT_REASON_FAILED_ENTRY)
		return;
	*info2 = e->idt_vectoring;
	*intr_info = e->intr_info;
	if ((e->intr_info & VMX_INTR_INFO_VALID) &&
	    (e->intr_info & VMX_INTR_INFO_ERROR_VALID))
		*error_code = e->intr_error;
}
