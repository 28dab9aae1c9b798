// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU that spins in the guest: PAUSE-loop exiting on VMX (Intel SDM
 * Vol. 3, "PAUSE-Loop Exiting") and PAUSE filtering on SVM (AMD APM Vol. 2,
 * "Pause Intercept Filtering") make a guest that runs PAUSE in a tight
 * loop exit, and the backend then calls kvisor_handle_pause().  A guest
 * spins like that while it waits for a lock or a flag another vCPU will
 * release, and that other vCPU may be a thread waiting for the very host
 * CPU the spinner holds (one host CPU, or more vCPUs than CPUs).  As KVM's
 * kvm_vcpu_on_spin(), give the CPU to another vCPU of the same VM that
 * could use it.
 *
 * The directed yield of KVM_HC_SCHED_YIELD (hypercall.c) goes through
 * the same kvisor_vcpu_yield_to().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

#include "core/kvisor.h"

/*
 * Give the rest of this thread's time slice to @target's thread.
 * yield_to() itself refuses a thread that is not waiting on a run queue
 * (sleeping, in HLT or on its own CPU right now) or of another scheduling
 * class, so a refusal costs only the lookup.  > 0 when it yielded.
 */
int kvisor_vcpu_yield_to(struct kvisor_vcpu *target)
{
	struct task_struct *task;
	int r;

	rcu_read_lock();
	task = get_pid_task(rcu_dereference(target->pid), PIDTYPE_PID);
	rcu_read_unlock();
	if (!task)
		return 0;
	r = task == current ? 0 : yield_to(task, true);
	put_task_struct(task);
	return r;
}

/*
 * Worth a yield: another vCPU that is runnable and not in the guest now
 * (in the guest it already has a CPU).  KVM asks more of it (that it
 * was preempted, and in guest kernel mode when the spinner was), which
 * takes a preempt notifier kvisor does not register; yield_to() then
 * filters out a thread that is not waiting for a CPU.
 */
static bool kvisor_spin_candidate(struct kvisor_vcpu *me,
				  struct kvisor_vcpu *v)
{
	return v && v != me && !READ_ONCE(v->in_guest) &&
	       READ_ONCE(v->mp_state) == KVM_MP_STATE_RUNNABLE;
}

/*
 * KVM's kvm_vcpu_on_spin(): try the vCPUs after the one boosted last,
 * round the VM once, and yield to the first that takes it, so that
 * spinners do not all boost the same vCPU.
 */
static void kvisor_vcpu_on_spin(struct kvisor_vcpu *me)
{
	struct kvisor_vm *vm = me->vm;
	/* pairs with the release that publishes a new vCPU */
	int nr = smp_load_acquire(&vm->nr_vcpus), i, idx;
	int start = READ_ONCE(vm->last_boosted_vcpu);
	struct kvisor_vcpu *v;

	nr = min(nr, KVISOR_MAX_VCPUS);
	for (i = 1; i <= nr; i++) {
		idx = (start + i) % nr;
		v = READ_ONCE(vm->vcpus[idx]);
		if (!kvisor_spin_candidate(me, v))
			continue;
		if (kvisor_vcpu_yield_to(v) > 0) {
			WRITE_ONCE(vm->last_boosted_vcpu, idx);
			break;
		}
	}
}

/*
 * The guest ran PAUSE in a loop, as the backend's filter counts it: yield,
 * then move past the PAUSE (@len bytes), as KVM does on both vendors.
 * @len 0 (SVM without NRIPS, where the length of a PAUSE with extra
 * prefixes is unknown) leaves the guest to run it again: a PAUSE is only
 * a hint, and the filter starts counting afresh at the entry.
 */
int kvisor_handle_pause(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->exits[KVISOR_EXIT_PAUSE]++;
	kvisor_vcpu_on_spin(vcpu);
	if (len)
		kvisor_skip_insn(vcpu, len);
	return 1;
}
