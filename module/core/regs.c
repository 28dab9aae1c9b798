// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU's register state as userspace reads and writes it:
 * KVM_GET/SET_REGS and KVM_GET/SET_SREGS (with KVM's consistency rules,
 * and the architectural CR0/CR4 rules a guest's MOV to CR obeys too),
 * KVM_GET/SET_VCPU_EVENTS, and the register sets KVM_CAP_SYNC_REGS
 * copies through kvm_run around each KVM_RUN.
 *
 * The general-purpose registers, RIP and RFLAGS live in struct
 * kvisor_vcpu; segments and control registers in the VMCS or VMCB, which
 * the backend reads and writes (get_sregs, set_sregs).
 *
 * kvisor keeps at most one event on its way into the guest (an exception
 * a handler raised, an interrupt or NMI picked for injection, or one cut
 * short by an exit and due again), in the backend; KVM's ABI splits that
 * one slot into exception, interrupt and NMI parts.  NMIs still waiting
 * to be picked, and the last SIPI's vector, are the core's.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"

/* kvm_regs names the registers in another order than the hardware. */
void kvisor_get_regs(struct kvisor_vcpu *vcpu, struct kvm_regs *r)
{
	const u64 *g = vcpu->regs;

	r->rax = g[EMU_RAX]; r->rbx = g[EMU_RBX]; r->rcx = g[EMU_RCX];
	r->rdx = g[EMU_RDX]; r->rsi = g[EMU_RSI]; r->rdi = g[EMU_RDI];
	r->rsp = g[EMU_RSP]; r->rbp = g[EMU_RBP];
	r->r8 = g[EMU_R8]; r->r9 = g[EMU_R9]; r->r10 = g[EMU_R10];
	r->r11 = g[EMU_R11]; r->r12 = g[EMU_R12]; r->r13 = g[EMU_R13];
	r->r14 = g[EMU_R14]; r->r15 = g[EMU_R15];
	r->rip = vcpu->rip;
	r->rflags = kvisor_debug_user_rflags(vcpu);
}

void kvisor_set_regs(struct kvisor_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	g[EMU_RAX] = r->rax; g[EMU_RBX] = r->rbx; g[EMU_RCX] = r->rcx;
	g[EMU_RDX] = r->rdx; g[EMU_RSI] = r->rsi; g[EMU_RDI] = r->rdi;
	g[EMU_RSP] = r->rsp; g[EMU_RBP] = r->rbp;
	g[EMU_R8] = r->r8; g[EMU_R9] = r->r9; g[EMU_R10] = r->r10;
	g[EMU_R11] = r->r11; g[EMU_R12] = r->r12; g[EMU_R13] = r->r13;
	g[EMU_R14] = r->r14; g[EMU_R15] = r->r15;
	vcpu->rip = r->rip;
	/* Bit 1 of RFLAGS always reads as 1. */
	vcpu->rflags = r->rflags | X86_EFLAGS_FIXED;
}

/*
 * The architectural rules for a CR0 value (SDM Vol. 3, "Control
 * Registers"; APM Vol. 2, "CR0 Register"): bits 63:32 are reserved,
 * paging needs protection, and not-write-through needs cache-disable.
 */
bool kvisor_cr0_valid(u64 cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	return !((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD));
}

/*
 * A CR4 value may set only the bits of features the vCPU's CPUID offers
 * (and kvisor supports): reserved and unoffered bits raise #GP, as in
 * KVM's kvm_is_valid_cr4().
 */
bool kvisor_cr4_valid(struct kvisor_vcpu *vcpu, u64 cr4)
{
	return !(cr4 & ~kvisor_cpuid_cr4_allowed(vcpu));
}

/*
 * A guest's MOV to CR4, from @old to @val, by kvm_set_cr4()'s rules: a
 * valid CR4 (above), PAE kept and LA57 unchanged in long mode, PCIDE
 * turned on only in long mode with CR3[11:0] clear.  False means #GP.
 */
bool kvisor_cr4_write_valid(struct kvisor_vcpu *vcpu, u64 old, u64 val,
			    u64 efer, u64 cr3)
{
	bool lma = efer & EFER_LMA;

	if (!kvisor_cr4_valid(vcpu, val))
		return false;
	if (lma && (!(val & X86_CR4_PAE) || ((val ^ old) & X86_CR4_LA57)))
		return false;
	return !((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
		 (!lma || (cr3 & 0xfff)));
}

/*
 * The consistency rules KVM applies to KVM_SET_SREGS, vendor-neutral: long
 * mode needs PAE, EFER.LMA and a CR3 below the guest's MAXPHYADDR, and
 * neither LMA nor a 64-bit code segment exists without it.  Rules only
 * the hardware checks give FAIL_ENTRY.
 */
static bool kvisor_sregs_valid(struct kvisor_vcpu *vcpu,
			       const struct kvm_sregs *sregs)
{
	/* In long mode CR3 holds a physical address the guest can have. */
	if ((sregs->efer & EFER_LME) && (sregs->cr0 & X86_CR0_PG))
		return (sregs->cr4 & X86_CR4_PAE) && (sregs->efer & EFER_LMA) &&
		       !(sregs->cr3 >> kvisor_cpuid_maxphyaddr(vcpu));
	return !(sregs->efer & EFER_LMA) && !sregs->cs.l;
}

void kvisor_vcpu_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs)
{
	kvisor_ops->get_sregs(vcpu, sregs);
	if (vcpu->apic)
		sregs->cr8 = kvisor_lapic_get_cr8(vcpu);
	/* An interrupt KVM_INTERRUPT queued is part of the state. */
	memset(sregs->interrupt_bitmap, 0, sizeof(sregs->interrupt_bitmap));
	if (vcpu->irq >= 0)
		__set_bit(vcpu->irq, (unsigned long *)sregs->interrupt_bitmap);
}

int kvisor_vcpu_set_sregs(struct kvisor_vcpu *vcpu,
			  const struct kvm_sregs *sregs)
{
	int bit, r;

	if (!kvisor_sregs_valid(vcpu, sregs) || !kvisor_cr0_valid(sregs->cr0) ||
	    !kvisor_cr4_valid(vcpu, sregs->cr4))
		return -EINVAL;
	/* The LAPIC's checks first: a refused base changes nothing. */
	if (vcpu->apic) {
		r = kvisor_lapic_set_msr(vcpu, MSR_IA32_APICBASE,
					 sregs->apic_base, true);
		if (r)
			return r;
	}
	if (vcpu->apic) {
		u64 base = vcpu->apic_base;

		r = kvisor_ops->set_sregs(vcpu, sregs);
		vcpu->apic_base = base;
		kvisor_lapic_set_cr8(vcpu, sregs->cr8);
	} else {
		r = kvisor_ops->set_sregs(vcpu, sregs);
	}
	if (r)
		return r;
	bit = find_first_bit((unsigned long *)sregs->interrupt_bitmap, 256);
	vcpu->irq = bit < 256 ? bit : -1;
	return 0;
}

void kvisor_get_vcpu_events(struct kvisor_vcpu *vcpu,
			    struct kvm_vcpu_events *ev)
{
	struct kvisor_event_state st;
	u32 type;

	/* NMIs sent meanwhile count, as many as the CPU would keep. */
	kvisor_process_nmi(vcpu);
	kvisor_ops->get_event_state(vcpu, &st);
	memset(ev, 0, sizeof(*ev));
	type = KVISOR_EVT_TYPE(st.event);
	if (st.event & KVISOR_EVT_VALID) {
		switch (type) {
		case KVISOR_EVT_EXCEPTION:
			ev->exception.injected = 1;
			ev->exception.nr = st.event & 0xff;
			ev->exception.has_error_code =
				!!(st.event & KVISOR_EVT_ERROR);
			ev->exception.error_code = st.error;
			break;
		case KVISOR_EVT_NMI:
			ev->nmi.injected = 1;
			break;
		case KVISOR_EVT_EXTINT:
		case KVISOR_EVT_SOFTINT:
			ev->interrupt.injected = 1;
			ev->interrupt.nr = st.event & 0xff;
			ev->interrupt.soft = type == KVISOR_EVT_SOFTINT;
			break;
		}
	}
	ev->interrupt.shadow = st.shadow;
	ev->nmi.pending = atomic_read(&vcpu->nmi_pending) > 0;
	ev->nmi.masked = st.nmi_masked;
	ev->sipi_vector = vcpu->sipi_vector;
	/* kvisor has no SMM: smi stays all zeros, which is "not in SMM". */
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM;
}

/*
 * KVM's checks, then one event for the backend's slot: an exception wins
 * over an NMI, an NMI over an interrupt (the order the CPU would deliver
 * them in; KVM keeps all three, kvisor the first).
 */
int kvisor_set_vcpu_events(struct kvisor_vcpu *vcpu,
			   const struct kvm_vcpu_events *ev)
{
	struct kvisor_event_state st, old;

	if (ev->flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
			  KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			  KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM))
		return -EINVAL;
	if (ev->exception.injected &&
	    (ev->exception.nr > 31 || ev->exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	/* No SMM: only "outside SMM, nothing pending" can be restored. */
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (ev->smi.smm || ev->smi.pending || ev->smi.smm_inside_nmi))
		return -EINVAL;

	/* As KVM: what was sent before is folded in, then overwritten. */
	kvisor_process_nmi(vcpu);
	kvisor_ops->get_event_state(vcpu, &old);
	st = (struct kvisor_event_state) {
		.shadow = (ev->flags & KVM_VCPUEVENT_VALID_SHADOW) ?
			  ev->interrupt.shadow : old.shadow,
		.nmi_masked = ev->nmi.masked,
	};
	if (ev->exception.injected) {
		st.event = KVISOR_EVT_VALID | (KVISOR_EVT_EXCEPTION << 8) |
			   ev->exception.nr |
			   (ev->exception.has_error_code ? KVISOR_EVT_ERROR : 0);
		st.error = ev->exception.error_code;
	} else if (ev->nmi.injected) {
		st.event = KVISOR_EVT_VALID | (KVISOR_EVT_NMI << 8) |
			   X86_TRAP_NMI;
	} else if (ev->interrupt.injected) {
		st.event = KVISOR_EVT_VALID | ev->interrupt.nr |
			   ((ev->interrupt.soft ? KVISOR_EVT_SOFTINT :
						  KVISOR_EVT_EXTINT) << 8);
	}
	kvisor_ops->set_event_state(vcpu, &st);
	if (ev->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		atomic_set(&vcpu->nmi_pending, !!ev->nmi.pending);
	if ((ev->flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) && vcpu->apic)
		vcpu->sipi_vector = ev->sipi_vector;
	set_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	return 0;
}

/* KVM_CAP_SYNC_REGS ----------------------------------------------------- */

#define KVISOR_SYNC_FIELDS	(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | \
				 KVM_SYNC_X86_EVENTS)

/*
 * Before the entry: take what userspace marked dirty, in KVM's order
 * (registers, special registers, events), clearing each mark as it is
 * taken.  -EINVAL for fields kvisor does not know or a refused state.
 */
int kvisor_sync_regs_in(struct kvisor_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 valid = READ_ONCE(run->kvm_valid_regs);
	u64 dirty = READ_ONCE(run->kvm_dirty_regs);
	struct kvm_sync_regs *s;
	int r = 0;

	if ((valid | dirty) & ~KVISOR_SYNC_FIELDS)
		return -EINVAL;
	if (!dirty)
		return 0;
	/*
	 * Userspace shares the page and may write it while this runs: copy
	 * it once, so that what is checked is what is used (finding 8).
	 */
	s = kmemdup(&run->s.regs, sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	if (dirty & KVM_SYNC_X86_REGS) {
		kvisor_set_regs(vcpu, &s->regs);
		dirty &= ~KVM_SYNC_X86_REGS;
	}
	if ((dirty & KVM_SYNC_X86_SREGS) &&
	    kvisor_vcpu_set_sregs(vcpu, &s->sregs))
		goto fail;
	dirty &= ~KVM_SYNC_X86_SREGS;
	if ((dirty & KVM_SYNC_X86_EVENTS) &&
	    kvisor_set_vcpu_events(vcpu, &s->events))
		goto fail;
	dirty &= ~KVM_SYNC_X86_EVENTS;
	goto out;
fail:
	r = -EINVAL;
out:
	/* As KVM: each set that was taken is no longer dirty. */
	WRITE_ONCE(run->kvm_dirty_regs, dirty);
	kfree(s);
	return r;
}

/* On the way out to userspace: what it asked to see. */
void kvisor_sync_regs_out(struct kvisor_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sync_regs *s = &run->s.regs;

	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		kvisor_get_regs(vcpu, &s->regs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		kvisor_vcpu_get_sregs(vcpu, &s->sregs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_EVENTS)
		kvisor_get_vcpu_events(vcpu, &s->events);
}
