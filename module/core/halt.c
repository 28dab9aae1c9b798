// SPDX-License-Identifier: GPL-2.0
/*
 * HLT with an in-kernel LAPIC: poll a while, then sleep.
 *
 * Putting a thread to sleep and waking it again costs far more than a
 * short wait, and a halted guest is often woken within microseconds (an
 * IPI answered, a short timer).  So, as KVM's kvm_vcpu_halt() does, a
 * halted vCPU first watches its requests for up to vcpu->halt_poll_ns,
 * and only then sleeps.  That window adapts per vCPU: it grows while the
 * halts end soon after it closes, and shrinks after a halt longer than
 * the maximum.  The maximum is the module parameter halt_poll_ns, or the
 * VM's own from KVM_ENABLE_CAP(KVM_CAP_HALT_POLL).  The parameters,
 * their defaults and the statistics are KVM's, so tuning advice for KVM
 * applies unchanged.
 *
 * The poll gives way at once to anything else: it stops when the CPU is
 * wanted by another task (need_resched(), or another task runnable here),
 * when a signal is pending, and at the end of its window; it only ever
 * reads vcpu->requests, which every wake-up source sets before its kick
 * (core/request.c), so it sees every event the sleep would see.
 */
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/rcuwait.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>

#include "core/kvisor.h"

/* KVM's KVM_HALT_POLL_NS_DEFAULT on x86: 200 us. */
static unsigned int kvisor_halt_poll_ns = 200000;
module_param_named(halt_poll_ns, kvisor_halt_poll_ns, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns,
		 "longest a halted vCPU polls before it sleeps, in ns (0: never poll)");

static unsigned int kvisor_halt_poll_ns_grow = 2;
module_param_named(halt_poll_ns_grow, kvisor_halt_poll_ns_grow, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns_grow,
		 "factor by which a vCPU's poll window grows (0: it never grows)");

static unsigned int kvisor_halt_poll_ns_grow_start = 10000;
module_param_named(halt_poll_ns_grow_start, kvisor_halt_poll_ns_grow_start,
		   uint, 0644);
MODULE_PARM_DESC(halt_poll_ns_grow_start,
		 "the first poll window, in ns, and the smallest one kept");

static unsigned int kvisor_halt_poll_ns_shrink;
module_param_named(halt_poll_ns_shrink, kvisor_halt_poll_ns_shrink, uint,
		   0644);
MODULE_PARM_DESC(halt_poll_ns_shrink,
		 "divisor by which a vCPU's poll window shrinks (0: back to none)");

/* The VM's maximum if userspace set one (KVM_CAP_HALT_POLL), else ours. */
static unsigned int kvisor_max_halt_poll_ns(struct kvisor_vm *vm)
{
	if (READ_ONCE(vm->override_halt_poll_ns)) {
		/* Pairs with smp_wmb() in kvisor_vm_enable_halt_poll(). */
		smp_rmb();
		return READ_ONCE(vm->max_halt_poll_ns);
	}
	return READ_ONCE(kvisor_halt_poll_ns);
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_HALT_POLL): this VM's maximum poll, in place of
 * the module parameter, from now on; 0 turns polling off.  As KVM, any
 * number of times, and a value beyond 32 bits is -EINVAL.
 */
int kvisor_vm_enable_halt_poll(struct kvisor_vm *vm, u64 max_ns)
{
	if (max_ns != (unsigned int)max_ns)
		return -EINVAL;
	WRITE_ONCE(vm->max_halt_poll_ns, max_ns);
	/* The value before the flag: smp_rmb() in kvisor_max_halt_poll_ns(). */
	smp_wmb();
	WRITE_ONCE(vm->override_halt_poll_ns, true);
	return 0;
}

static void kvisor_halt_poll_grow(struct kvisor_vcpu *vcpu)
{
	unsigned int grow = READ_ONCE(kvisor_halt_poll_ns_grow);
	unsigned int start = READ_ONCE(kvisor_halt_poll_ns_grow_start);
	u64 val;

	if (!grow)
		return;
	val = max_t(u64, (u64)vcpu->halt_poll_ns * grow, start);
	/* Past the maximum it is cut back at the next halt. */
	vcpu->halt_poll_ns = min_t(u64, val, UINT_MAX);
}

static void kvisor_halt_poll_shrink(struct kvisor_vcpu *vcpu)
{
	unsigned int shrink = READ_ONCE(kvisor_halt_poll_ns_shrink);
	unsigned int val = shrink ? vcpu->halt_poll_ns / shrink : 0;

	if (val < READ_ONCE(kvisor_halt_poll_ns_grow_start))
		val = 0;
	vcpu->halt_poll_ns = val;
}

/*
 * After a halt of @halt_ns, KVM's rule: a halt the window covered leaves
 * it; one longer than the maximum shrinks it (polling would not have
 * helped); one shorter than the maximum but longer than the window grows
 * it, so that the next such halt ends while polling.
 */
static void kvisor_halt_poll_adapt(struct kvisor_vcpu *vcpu, u64 halt_ns)
{
	unsigned int max_ns = kvisor_max_halt_poll_ns(vcpu->vm);

	if (!max_ns)
		vcpu->halt_poll_ns = 0;
	else if (halt_ns <= vcpu->halt_poll_ns)
		return;
	else if (vcpu->halt_poll_ns && halt_ns > max_ns)
		kvisor_halt_poll_shrink(vcpu);
	else if (vcpu->halt_poll_ns < max_ns && halt_ns < max_ns)
		kvisor_halt_poll_grow(vcpu);
}

/* KVM's logarithmic histograms: bucket fls64(ns), the last one open. */
static void kvisor_hist_add(u64 *hist, u64 ns)
{
	hist[min_t(unsigned int, fls64(ns), KVISOR_HALT_HIST - 1)]++;
}

/*
 * Sleep until a request arrives (0) or a signal (-EINTR); *@waited says
 * whether the thread really slept.  The kick's rcuwait_wake_up() pairs
 * with set_current_state() here, as in rcuwait_wait_event(), which this
 * is but for @waited.
 */
static int __kvisor_vcpu_block(struct kvisor_vcpu *vcpu, bool *waited)
{
	int r = 0;

	WRITE_ONCE(vcpu->stat.blocking, 1);
	prepare_to_rcuwait(&vcpu->wait);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (READ_ONCE(vcpu->requests))
			break;
		if (signal_pending(current)) {
			r = -EINTR;
			break;
		}
		*waited = true;
		schedule();
	}
	finish_rcuwait(&vcpu->wait);
	WRITE_ONCE(vcpu->stat.blocking, 0);
	return r;
}

int kvisor_vcpu_block(struct kvisor_vcpu *vcpu)
{
	bool waited = false;

	return __kvisor_vcpu_block(vcpu, &waited);
}

/*
 * Poll for the vCPU's window, stopping early when a request comes (0), a
 * signal (-EINTR) or the CPU is wanted; 1 when the poll ended with
 * nothing.  *@end is when it last looked.
 */
static int kvisor_halt_poll(struct kvisor_vcpu *vcpu, ktime_t start,
			    ktime_t *end)
{
	ktime_t stop = ktime_add_ns(start, vcpu->halt_poll_ns);
	ktime_t cur;

	do {
		if (READ_ONCE(vcpu->requests))
			return 0;
		if (signal_pending(current))
			return -EINTR;
		cpu_relax();
		cur = ktime_get();
		*end = cur;
	} while (single_task_running() && !need_resched() &&
		 ktime_before(cur, stop));
	return 1;
}

static void kvisor_halt_poll_stats(struct kvisor_vcpu *vcpu, u64 poll_ns,
				   bool success)
{
	struct kvisor_vcpu_stat *st = &vcpu->stat;

	st->halt_attempted_poll++;
	if (success) {
		st->halt_successful_poll++;
		st->halt_poll_success_ns += poll_ns;
		kvisor_hist_add(st->halt_poll_success_hist, poll_ns);
	} else {
		st->halt_poll_fail_ns += poll_ns;
		kvisor_hist_add(st->halt_poll_fail_hist, poll_ns);
	}
}

/*
 * The vCPU is halted with nothing to wake it: poll, then sleep.  As in
 * KVM, a poll counts as successful when the thread never slept, also when
 * the wake-up came between the end of the poll and the sleep.
 */
int kvisor_vcpu_halt(struct kvisor_vcpu *vcpu)
{
	unsigned int max_ns = kvisor_max_halt_poll_ns(vcpu->vm);
	/* MSR_KVM_POLL_CONTROL: the guest polls itself (haltpoll cpuidle). */
	bool allowed = vcpu->poll_control & 1;
	ktime_t start, cur, poll_end;
	bool waited = false, polled;
	int r = 1;

	if (vcpu->halt_poll_ns > max_ns)
		vcpu->halt_poll_ns = max_ns;
	polled = allowed && vcpu->halt_poll_ns;

	start = ktime_get();
	cur = start;
	poll_end = start;
	if (polled)
		r = kvisor_halt_poll(vcpu, start, &poll_end);
	if (r > 0) {
		r = __kvisor_vcpu_block(vcpu, &waited);
		cur = ktime_get();
		if (waited) {
			u64 ns = ktime_to_ns(ktime_sub(cur, poll_end));

			vcpu->stat.halt_wait_ns += ns;
			kvisor_hist_add(vcpu->stat.halt_wait_hist, ns);
		}
	} else {
		cur = poll_end;
	}
	if (polled)
		kvisor_halt_poll_stats(vcpu,
				       ktime_to_ns(ktime_sub(poll_end, start)),
				       !waited);
	if (allowed)
		kvisor_halt_poll_adapt(vcpu, ktime_to_ns(ktime_sub(cur, start)));
	return r;
}
