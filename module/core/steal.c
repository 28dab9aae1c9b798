// SPDX-License-Identifier: GPL-2.0
/*
 * Steal time and the paravirtual TLB flush (KVM_FEATURE_STEAL_TIME,
 * KVM_FEATURE_PV_TLB_FLUSH), as KVM gives them.
 *
 * A guest writes the guest-physical address of a 64-byte aligned struct
 * kvm_steal_time, with KVM_MSR_ENABLED, to MSR_KVM_STEAL_TIME.  Before the
 * vCPU next runs after its thread was scheduled in, or at the start of a
 * KVM_RUN, kvisor adds to its @steal the time the thread spent waiting on
 * a run queue since the last update (the scheduler's run_delay, which
 * also counts the waits between two KVM_RUNs), with @version odd while
 * it writes.
 *
 * While KVM_RUN runs, a preempt notifier watches the thread.  When the
 * scheduler takes the CPU from it while it could run on, right after the
 * guest stopped for a host interrupt (so between two guest instructions),
 * the @preempted byte gets KVM_VCPU_PREEMPTED: the guest's other vCPUs
 * then know it holds no CPU (Linux's vcpu_is_preempted()), and instead of
 * an IPI for a TLB shootdown they set KVM_VCPU_FLUSH_TLB there.  The next
 * update takes the byte, leaving 0, and flushes the vCPU's translations
 * when asked to.
 *
 * The structure is read and written through the VMM's own mapping of
 * guest memory, with the user-access helpers, nothing pinned.  From the
 * notifier, with interrupts off, only a write that cannot fault is tried.
 *
 * The same notifier, and the end of KVM_RUN, are where the backend puts
 * back the host state it switched once for many entries (the vcpu_put
 * op, KVM's vcpu_put(); design.rst, "Host state switched once a
 * KVM_RUN"): before the scheduler saves the task's segments, and before
 * the thread returns to userspace.
 */
#include <linux/kvm_para.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/preempt.h>

#include "core/kvisor.h"

#ifndef CONFIG_PREEMPT_NOTIFIERS
#error "kvisor needs CONFIG_PREEMPT_NOTIFIERS (every kernel with KVM has it)"
#endif

/* The guest's structure, where the VMM maps it; NULL: none, or not now. */
static struct kvm_steal_time __user *
kvisor_steal_hva(struct kvisor_vcpu *vcpu, struct kvisor_memslot **slot)
{
	/* 64-byte aligned and 64 bytes long: never across a page. */
	u64 gpa = vcpu->st.msr & KVM_STEAL_VALID_BITS;

	BUILD_BUG_ON(sizeof(struct kvm_steal_time) != 64);
	if (!(vcpu->st.msr & KVM_MSR_ENABLED))
		return NULL;
	/* The VMM's own address space only: not at exit, from another mm. */
	if (current->mm != vcpu->vm->mm)
		return NULL;
	return kvisor_gpa_to_hva(vcpu->vm, gpa, true, slot);
}

/*
 * Take the @preempted byte, leaving 0: as an exchange, because another
 * vCPU may set KVM_VCPU_FLUSH_TLB in it meanwhile (Linux does with a
 * cmpxchg) and that request must not be lost.  A guest that keeps
 * changing the byte under the exchange gets 0 written and a flush.
 * The old byte, or -EFAULT.
 */
static int kvisor_steal_take_preempted(u8 __user *p)
{
	u8 old;
	int i;

	if (!user_access_begin(p, sizeof(*p)))
		return -EFAULT;
	unsafe_get_user(old, p, fault);
	for (i = 0; i < 8; i++)
		if (unsafe_try_cmpxchg_user(p, &old, 0, fault))
			goto out;
	unsafe_put_user(0, p, fault);
	old = KVM_VCPU_FLUSH_TLB;
out:
	user_access_end();
	return old;
fault:
	user_access_end();
	return -EFAULT;
}

/* The version and steal fields: odd version while @steal changes. */
static void kvisor_steal_add(struct kvisor_vcpu *vcpu,
			     struct kvm_steal_time __user *st)
{
	u64 delay = READ_ONCE(current->sched_info.run_delay), steal;
	u32 version;

	if (!user_access_begin(st, sizeof(*st)))
		return;
	unsafe_get_user(version, &st->version, out);
	/* Odd before the first update (the guest's own junk): even it. */
	version += (version & 1) + 1;
	unsafe_put_user(version, &st->version, out);
	/* The odd version first: pairs with the guest's read barriers. */
	smp_wmb();
	unsafe_get_user(steal, &st->steal, out);
	steal += delay - vcpu->st.last_steal;
	vcpu->st.last_steal = delay;
	unsafe_put_user(steal, &st->steal, out);
	/* The new steal before the even version. */
	smp_wmb();
	unsafe_put_user(version + 1, &st->version, out);
out:
	user_access_end();
}

/*
 * Before an entry, when an update is due: clear @preempted (doing the
 * TLB flush it may ask for) and add the steal since the last update.
 * Preemptible: the structure's page may have to be faulted in.
 */
void kvisor_steal_record(struct kvisor_vcpu *vcpu)
{
	struct kvisor_vm *vm = vcpu->vm;
	struct kvm_steal_time __user *st;
	struct kvisor_memslot *s;
	int idx, old;

	WRITE_ONCE(vcpu->st.update, false);
	idx = srcu_read_lock(&vm->srcu);
	st = kvisor_steal_hva(vcpu, &s);
	if (!st)
		goto out;
	if (kvisor_pv_has(vcpu, KVM_FEATURE_PV_TLB_FLUSH)) {
		old = kvisor_steal_take_preempted(&st->preempted);
		if (old < 0)
			goto out;
		if (old & KVM_VCPU_FLUSH_TLB) {
			kvisor_ops->request_tlb_flush(vcpu);
			vcpu->stat.pv_tlb_flush++;
		}
	} else if (put_user(0, &st->preempted)) {
		goto out;
	}
	vcpu->st.preempted = 0;
	kvisor_steal_add(vcpu, st);
	kvisor_mark_dirty(s, (vcpu->st.msr & KVM_STEAL_VALID_BITS) >> PAGE_SHIFT);
out:
	srcu_read_unlock(&vm->srcu, idx);
}

/*
 * The scheduler took the CPU from the KVM_RUN thread while it could run
 * on.  Interrupts are off and the run queue is locked: the byte is
 * written only if that cannot fault, as KVM does.
 */
static void kvisor_steal_set_preempted(struct kvisor_vcpu *vcpu)
{
	static const u8 preempted = KVM_VCPU_PREEMPTED;
	struct kvm_steal_time __user *st;
	struct kvisor_memslot *s;
	int idx;

	/* Elsewhere the guest may be inside an instruction kvisor emulates. */
	if (!vcpu->at_boundary) {
		vcpu->stat.preemption_other++;
		return;
	}
	vcpu->stat.preemption_reported++;
	if (vcpu->st.preempted)
		return;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	st = kvisor_steal_hva(vcpu, &s);
	if (st && !copy_to_user_nofault(&st->preempted, &preempted,
					sizeof(preempted))) {
		vcpu->st.preempted = preempted;
		kvisor_mark_dirty(s, (vcpu->st.msr & KVM_STEAL_VALID_BITS) >>
				     PAGE_SHIFT);
	}
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

static struct kvisor_vcpu *kvisor_pn_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct kvisor_vcpu, preempt_notifier);
}

/* Back on a CPU: the time it waited is steal, for the next entry. */
static void kvisor_sched_in(struct preempt_notifier *pn, int cpu)
{
	WRITE_ONCE(kvisor_pn_vcpu(pn)->st.update, true);
}

/* The backend's lazily switched host state, back before anyone reads it. */
static void kvisor_vcpu_put_host(struct kvisor_vcpu *vcpu)
{
	if (kvisor_ops->vcpu_put && kvisor_ops->vcpu_put(vcpu))
		vcpu->stat.host_state_reload++;
}

static void kvisor_sched_out(struct preempt_notifier *pn,
			     struct task_struct *next)
{
	struct kvisor_vcpu *vcpu = kvisor_pn_vcpu(pn);

	/* Still on the run queue: preempted, not going to sleep. */
	if (READ_ONCE(current->on_rq))
		kvisor_steal_set_preempted(vcpu);
	/* Before switch_to() saves this task's segments and bases. */
	kvisor_vcpu_put_host(vcpu);
}

static struct preempt_ops kvisor_preempt_ops = {
	.sched_in = kvisor_sched_in,
	.sched_out = kvisor_sched_out,
};

void kvisor_steal_vcpu_init(struct kvisor_vcpu *vcpu)
{
	/* The scheduler calls notifiers only while some exist. */
	preempt_notifier_inc();
	preempt_notifier_init(&vcpu->preempt_notifier, &kvisor_preempt_ops);
}

void kvisor_steal_vcpu_uninit(struct kvisor_vcpu *vcpu)
{
	preempt_notifier_dec();
}

/*
 * Around KVM_RUN (KVM's vcpu_load() and vcpu_put()): the notifier is the
 * calling thread's, and the scheduler walks the list on this CPU, so it
 * changes with preemption off.  Each KVM_RUN brings the steal since the
 * last one.
 */
void kvisor_steal_load(struct kvisor_vcpu *vcpu)
{
	preempt_disable();
	preempt_notifier_register(&vcpu->preempt_notifier);
	WRITE_ONCE(vcpu->st.update, true);
	preempt_enable();
}

void kvisor_steal_put(struct kvisor_vcpu *vcpu)
{
	preempt_disable();
	kvisor_vcpu_put_host(vcpu);
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

/*
 * MSR_KVM_STEAL_TIME, for the guest and userspace alike: absent (#GP)
 * where KVM_CAP_ENFORCE_PV_FEATURE_CPUID hides the feature; bits 1-5
 * are reserved.  Enabling it updates the structure before the next
 * entry.  -ENOENT: not this MSR.
 */
int kvisor_steal_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write)
{
	if (msr != MSR_KVM_STEAL_TIME)
		return -ENOENT;
	if (!kvisor_pv_has(vcpu, KVM_FEATURE_STEAL_TIME))
		return -EINVAL;
	if (!write) {
		*val = vcpu->st.msr;
		return 0;
	}
	if (*val & KVM_STEAL_RESERVED_MASK)
		return -EINVAL;
	vcpu->st.msr = *val;
	if (*val & KVM_MSR_ENABLED)
		WRITE_ONCE(vcpu->st.update, true);
	return 0;
}
