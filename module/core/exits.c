// SPDX-License-Identifier: GPL-2.0
/*
 * The small vendor-neutral exit handlers, and the helpers every handler
 * shares: advancing RIP past a completed instruction, raising a #PF.
 *
 * A backend decodes its hardware exit (a VMX exit reason, an SVM exit
 * code) and calls one of the kvisor_handle_*() functions with plain
 * arguments.  Each returns 1 to go back into the guest, 0 to return to
 * userspace with vcpu->run filled in, or a negative errno for KVM_RUN to
 * return.  The larger handlers have files of their own: port I/O in
 * pio.c, nested page faults and MMIO in mmio.c, RDMSR/WRMSR in msrs.c,
 * XSETBV in fpu.c, debug registers and exceptions in debug.c.
 *
 * Exits that need userspace to supply data (a port read, an MMIO read)
 * leave vcpu->pending set; the next KVM_RUN finishes the instruction
 * first (run.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/smp.h>
#include <asm/trapnr.h>

#include <linux/kvisor.h>

#include "core/kvisor.h"

/* A #PF the emulation found, with the address the guest will see in CR2. */
void kvisor_queue_pf(struct kvisor_vcpu *vcpu, u64 addr, u32 error)
{
	kvisor_ops->set_cr2(vcpu, addr);
	kvisor_ops->queue_exception(vcpu, X86_TRAP_PF, true, error);
}

/*
 * An instruction of @len bytes completed here, emulated by kvisor rather
 * than run by the CPU: move RIP past it, and owe the single-step trap the
 * CPU would have raised after it (debug.c raises it before the next
 * entry).  Every handler that completes an instruction comes through
 * here; a backend never moves RIP on its own.
 */
void kvisor_skip_insn(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->rip += len;
	vcpu->step_done = true;
}

int kvisor_handle_hlt(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->exits[KVISOR_EXIT_HLT]++;
	kvisor_skip_insn(vcpu, len);
	/*
	 * With an in-kernel LAPIC the vCPU sleeps in the kernel until an
	 * interrupt arrives (run.c); without, userspace decides.
	 */
	if (vcpu->apic) {
		vcpu->mp_state = KVM_MP_STATE_HALTED;
		return 1;
	}
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/* Answered from the vCPU's KVM_SET_CPUID2 table (cpuid.c). */
int kvisor_handle_cpuid(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->exits[KVISOR_EXIT_CPUID]++;
	kvisor_cpuid(vcpu);
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/* The guest can take an interrupt now: the run loop injects it. */
int kvisor_handle_irq_window(struct kvisor_vcpu *vcpu)
{
	vcpu->exits[KVISOR_EXIT_IRQ_WINDOW]++;
	kvisor_ops->set_irq_window(vcpu, false);
	return 1;
}

/* An NMI can be delivered now: the run loop injects it. */
int kvisor_handle_nmi_window(struct kvisor_vcpu *vcpu)
{
	vcpu->exits[KVISOR_EXIT_NMI_WINDOW]++;
	kvisor_ops->set_nmi_window(vcpu, false);
	return 1;
}

int kvisor_handle_shutdown(struct kvisor_vcpu *vcpu)
{
	vcpu->exits[KVISOR_EXIT_SHUTDOWN]++;
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

/* kvisor names the rule after KVM's fields: see <uapi/linux/kvisor.h>. */
static_assert(sizeof(struct kvisor_fail_entry) <=
	      sizeof(((struct kvm_run *)0)->padding));
static_assert(offsetof(struct kvisor_fail_entry, cpu) ==
	      offsetof(struct kvm_run, fail_entry.cpu) -
	      offsetof(struct kvm_run, fail_entry));

int kvisor_handle_fail_entry(struct kvisor_vcpu *vcpu, u64 reason)
{
	/* the exit union, of which fail_entry is one member */
	struct kvisor_fail_entry *fe = (void *)vcpu->run->padding;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	memset(fe, 0, sizeof(*fe));
	fe->hardware_entry_failure_reason = reason;
	fe->cpu = raw_smp_processor_id();
	if (kvisor_ops->explain_fail_entry) {
		kvisor_ops->explain_fail_entry(vcpu, fe->rule, sizeof(fe->rule));
		fe->magic = KVISOR_FAIL_ENTRY_MAGIC;
		pr_info_ratelimited("vCPU %d: VM entry failed (%#llx): %s\n",
				    vcpu->id, reason, fe->rule);
	}
	return 0;
}

int kvisor_handle_internal_error(struct kvisor_vcpu *vcpu, u32 suberror,
				 u64 info0, u64 info1)
{
	struct kvm_run *run = vcpu->run;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = info0;
	run->internal.data[1] = info1;
	return 0;
}
