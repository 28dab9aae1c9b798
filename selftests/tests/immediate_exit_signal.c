// SPDX-License-Identifier: GPL-2.0
/*
 * immediate_exit_signal: the two ways out of KVM_RUN that are not exits of
 * the guest.
 *  - run->immediate_exit = 1: KVM_RUN fails with EINTR at once, before and
 *    after the first real run, and the guest does not execute anything.
 *    (KVM leaves run->exit_reason alone then; it is only printed.)
 *  - a signal for the vCPU thread while the guest spins (SIGUSR1 with a
 *    handler that does nothing, from another thread): KVM_RUN fails with
 *    EINTR and run->exit_reason is KVM_EXIT_INTR; the guest ran meanwhile
 *    and can go on.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "kvm_util.h"

#define SIGNAL_ROUNDS	3

volatile uint64_t spins;		/* guest: loop counter */
volatile uint64_t stop;			/* guest: the host says stop */

static pthread_t vcpu_tid;
static volatile bool vcpu_returned;

static void guest_code(void)
{
	GUEST_SYNC(0);
	while (!stop)
		spins++;
	GUEST_DONE();
}

static void sigusr1(int sig)
{
	(void)sig;
}

static void sigalrm(int sig)
{
	(void)sig;
	ksft_print_msg("timeout: KVM_RUN did not return\n");
	_exit(KSFT_FAIL);
}

/* Signal the vCPU thread until KVM_RUN returned. */
static void *kicker(void *arg)
{
	(void)arg;
	usleep(20000);		/* let the guest spin first */
	while (!vcpu_returned) {
		pthread_kill(vcpu_tid, SIGUSR1);
		usleep(10000);
	}
	return NULL;
}

static uint64_t guest_u64(struct kvm_vm *vm, volatile uint64_t *var)
{
	return *(volatile uint64_t *)addr_gva2hva(vm, (uint64_t)var);
}

/* KVM_RUN with immediate_exit must not enter the guest. */
static void test_immediate_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_regs before, after;
	int ret;

	vcpu_regs_get(vcpu, &before);
	vcpu->run->immediate_exit = 1;
	ret = __vcpu_run(vcpu);
	vcpu->run->immediate_exit = 0;
	TEST_ASSERT(ret == -1 && errno == EINTR,
		    "KVM_RUN with immediate_exit: %d errno %d, expected EINTR",
		    ret, errno);
	vcpu_regs_get(vcpu, &after);
	TEST_ASSERT(!memcmp(&before, &after, sizeof(before)),
		    "the guest ran: rip %#llx -> %#llx", before.rip, after.rip);
	ksft_print_msg("immediate_exit: EINTR, guest not entered (exit_reason %u): ok\n",
		       vcpu->run->exit_reason);
}

static void test_signal(struct kvm_vcpu *vcpu, int round)
{
	uint64_t spins_before = guest_u64(vcpu->vm, &spins);
	pthread_t thread;
	int ret;

	vcpu_returned = false;
	TEST_ASSERT(!pthread_create(&thread, NULL, kicker, NULL),
		    "pthread_create");
	ret = __vcpu_run(vcpu);
	vcpu_returned = true;
	TEST_ASSERT(!pthread_join(thread, NULL), "pthread_join");

	TEST_ASSERT(ret == -1 && errno == EINTR,
		    "KVM_RUN interrupted by a signal: %d errno %d, expected EINTR",
		    ret, errno);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_INTR);
	TEST_ASSERT(guest_u64(vcpu->vm, &spins) > spins_before,
		    "the guest did not run before the signal");
	ksft_print_msg("signal %d: EINTR, KVM_EXIT_INTR after %lu guest loops: ok\n",
		       round, (unsigned long)(guest_u64(vcpu->vm, &spins) -
					      spins_before));
}

int main(void)
{
	struct sigaction sa = { .sa_handler = sigusr1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int i;

	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	signal(SIGALRM, sigalrm);
	alarm(120);
	vcpu_tid = pthread_self();

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_DEFAULT);
	test_immediate_exit(vcpu);		/* before the first run */
	vcpu_run_ucall(vcpu, UCALL_SYNC, NULL);
	test_immediate_exit(vcpu);		/* with a guest under way */

	for (i = 0; i < SIGNAL_ROUNDS; i++)
		test_signal(vcpu, i);

	*(uint64_t *)addr_gva2hva(vm, (uint64_t)&stop) = 1;
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("the guest went on after the signals: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
