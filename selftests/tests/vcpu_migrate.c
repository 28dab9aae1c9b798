// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_migrate: the thread running a vCPU moves between host CPUs, both
 * between KVM_RUN calls and while the guest runs (another thread keeps
 * changing its CPU affinity, so the scheduler migrates it out of the
 * hypervisor's run loop).  The guest's computation and its registers must
 * come through intact: per-CPU hypervisor state (the loaded VMCS, the
 * ASID) has to follow the vCPU.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "kvm_util.h"

#define ROUNDS		200
#define SPIN		20000

static volatile bool done;
static pid_t vcpu_tid;
static int nr_cpus;

static void guest_code(void)
{
	uint64_t round, i, x;

	for (round = 0; round < ROUNDS; round++) {
		/* Long enough that a migration lands in the middle of it. */
		for (i = 0, x = round; i < SPIN; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		GUEST_SYNC2(round, x);
	}
	GUEST_DONE();
}

static uint64_t expected(uint64_t round)
{
	uint64_t i, x = round;

	for (i = 0; i < SPIN; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

/* Move the vCPU thread around while it is inside KVM_RUN. */
static void *mover(void *arg)
{
	int cpu = 0;

	(void)arg;
	while (!done) {
		pin_thread(vcpu_tid, cpu++ % nr_cpus);
		usleep(500);
	}
	return NULL;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	pthread_t thread;
	uint64_t round;
	int seen[64] = { 0 };
	int cpus_seen = 0;

	nr_cpus = get_nprocs();
	if (nr_cpus < 2)
		ksft_exit_skip("the host has %d CPU: nothing to migrate to\n",
			       nr_cpus);
	if (nr_cpus > 64)
		nr_cpus = 64;
	vcpu_tid = gettid();

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	TEST_ASSERT(!pthread_create(&thread, NULL, mover, NULL),
		    "pthread_create");
	for (round = 0; round < ROUNDS; round++) {
		int cpu;

		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), round);
		TEST_ASSERT(uc.args[1] == expected(round),
			    "round %lu: the guest computed %#lx, not %#lx",
			    (unsigned long)round, (unsigned long)uc.args[1],
			    (unsigned long)expected(round));
		cpu = sched_getcpu();
		if (cpu >= 0 && cpu < 64 && !seen[cpu]++)
			cpus_seen++;
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	done = true;
	pthread_join(thread, NULL);
	TEST_ASSERT(cpus_seen >= 2, "the vCPU thread never left CPU %d",
		    sched_getcpu());
	ksft_print_msg("%d rounds correct, the vCPU thread ran on %d CPUs\n",
		       ROUNDS, cpus_seen);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
