// SPDX-License-Identifier: GPL-2.0
/*
 * sync_regs_race: KVM_CAP_SYNC_REGS hands KVM_RUN state in the shared
 * kvm_run page, which userspace can change while KVM_RUN reads it.  What
 * the kernel checks must be what it uses (host-safety finding 8): one
 * thread keeps flipping run->s.regs.events.exception.nr between 0 (#DE,
 * valid) and 255 (invalid), and run->s.regs.sregs.cr4 between the
 * vCPU's own and one with a reserved bit, with kvm_dirty_regs set, while
 * the main thread loops KVM_RUN.  Each KVM_RUN must either refuse the
 * state (EINVAL) or run the guest; never KVM_EXIT_FAIL_ENTRY, nor an
 * internal error.  Bounded by a count and a time.  The flipper pauses in
 * the valid state now and then, so that both outcomes surely happen.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define RUNS		3000
#define SECONDS		10

static atomic_int stop;

/* The injected #DE: nothing to do, return to where the guest was. */
static void de_handler(struct ex_regs *regs)
{
	(void)regs;
}

static void guest_code(void)
{
	for (;;)
		GUEST_SYNC(0);
}

struct flipper {
	struct kvm_run *run;
	struct kvm_sregs sregs;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;
	struct kvm_run *run = f->run;
	volatile struct kvm_vcpu_events *ev = &run->s.regs.events;
	volatile struct kvm_sregs *sr = &run->s.regs.sregs;
	unsigned long i;

	for (i = 0; !atomic_load(&stop); i++) {
		if (!(i & 255)) {
			memcpy((void *)sr, &f->sregs, sizeof(f->sregs));
			memset((void *)ev, 0, sizeof(*ev));
		}
		/*
		 * Now and then a pause in that valid state, so that some
		 * KVM_RUNs surely find one and run the guest: how many do
		 * while the flipping goes on depends on the scheduler (a few
		 * percent on an idle host, none seen under load).
		 */
		if (!(i & 0xffff)) {
			run->kvm_dirty_regs = KVM_SYNC_X86_EVENTS |
					      KVM_SYNC_X86_SREGS;
			usleep(100);
		}
		ev->exception.injected = 1;
		ev->exception.nr = (i & 1) ? 255 : 0;
		sr->cr4 = (i & 2) ? f->sregs.cr4 | (1ULL << 63) : f->sregs.cr4;
		run->kvm_dirty_regs = KVM_SYNC_X86_EVENTS | KVM_SYNC_X86_SREGS;
	}
	return NULL;
}

int main(void)
{
	int runs, einval = 0, io = 0, other = 0;
	struct flipper f;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thread;
	time_t end;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	if (!(kvm_check_cap(KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_EVENTS))
		ksft_exit_skip("KVM_CAP_SYNC_REGS without events\n");
	vm_install_exception_handler(vm, DE_VECTOR, de_handler);
	f.run = vcpu->run;
	vcpu_sregs_get(vcpu, &f.sregs);
	TEST_ASSERT_EQ(pthread_create(&thread, NULL, flip, &f), 0);

	end = time(NULL) + SECONDS;
	for (runs = 0; runs < RUNS && time(NULL) < end; runs++) {
		int r = __vcpu_run(vcpu);
		unsigned int reason = vcpu->run->exit_reason;

		if (r < 0) {
			TEST_ASSERT(errno == EINVAL || errno == EINTR,
				    "KVM_RUN: %s", strerror(errno));
			einval++;
			/*
			 * Let the flipper go on: on a 1-CPU host every run
			 * of a time slice would see the state it was
			 * preempted in.
			 */
			sched_yield();
			continue;
		}
		TEST_ASSERT(reason != KVM_EXIT_FAIL_ENTRY &&
			    reason != KVM_EXIT_INTERNAL_ERROR &&
			    reason != KVM_EXIT_SHUTDOWN,
			    "KVM_RUN %d: exit %s (%s)", runs,
			    exit_reason_str(reason), vcpu_exit_details(vcpu));
		if (reason == KVM_EXIT_IO)
			io++;
		else
			other++;
	}
	atomic_store(&stop, 1);
	pthread_join(thread, NULL);
	ksft_print_msg("%d runs: %d refused, %d ran to the guest's I/O, %d other exits\n",
		       runs, einval, io, other);
	TEST_ASSERT(io > 0, "the guest never ran");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
