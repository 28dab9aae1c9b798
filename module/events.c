// SPDX-License-Identifier: GPL-2.0
/*
 * The events a vCPU carries between two entries, as userspace saves and
 * restores them (KVM_GET/SET_VCPU_EVENTS), and the register sets that
 * KVM_CAP_SYNC_REGS copies through kvm_run around each KVM_RUN.
 *
 * kvisor keeps at most one event on its way into the guest (an exception
 * a handler raised, an interrupt or NMI picked for injection, or one cut
 * short by an exit and due again), in the backend; KVM's ABI splits that
 * one slot into exception, interrupt and NMI parts.  NMIs still waiting
 * to be picked, and the last SIPI's vector, are the core's.
 */
#include <linux/kvm.h>
#include <asm/trapnr.h>

#include "kvisor.h"

void kvisor_get_vcpu_events(struct kvisor_vcpu *vcpu,
			    struct kvm_vcpu_events *ev)
{
	struct kvisor_event_state st;
	u32 type;

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
	struct kvm_sync_regs *s = &run->s.regs;
	int r;

	if ((run->kvm_valid_regs & ~KVISOR_SYNC_FIELDS) ||
	    (run->kvm_dirty_regs & ~KVISOR_SYNC_FIELDS))
		return -EINVAL;
	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		kvisor_set_regs(vcpu, &s->regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		r = kvisor_vcpu_set_sregs(vcpu, &s->sregs);
		if (r)
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) {
		r = kvisor_set_vcpu_events(vcpu, &s->events);
		if (r)
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
	return 0;
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
