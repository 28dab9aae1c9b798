// SPDX-License-Identifier: GPL-2.0
/*
 * multi_vm: concurrency.
 *  - NR_VMS threads each create a VM and, all at once, run it: every guest
 *    computes a sequence of its own and reports each step with a ucall; the
 *    VMs' memories are separate (each has its own copy of vm_tag).
 *  - Two vCPUs of one VM run in two threads and play ping-pong through a
 *    variable in guest memory: neither can finish unless both run.
 */
#include <pthread.h>

#include "kvm_util.h"

#define NR_VMS		4
#define ROUNDS		200
#define PINGPONG_ROUNDS	50

uint64_t vm_tag;			/* each VM's copy gets its own */
volatile uint64_t pingpong;		/* shared by the two vCPUs */

static pthread_barrier_t start;

static uint64_t step(uint64_t acc, uint64_t round, uint64_t id)
{
	return acc * 31 + (round ^ (id << 8));
}

static void guest_vm(uint64_t id)
{
	uint64_t acc = id, r;

	for (r = 0; r < ROUNDS; r++) {
		acc = step(acc, r, id);
		GUEST_SYNC2(r, acc);
	}
	vm_tag = id + 1;
	GUEST_DONE();
}

/* Check the ucalls of a guest running guest_vm() or guest_pingpong(). */
static void run_sequence(struct kvm_vcpu *vcpu, uint64_t id, uint64_t rounds)
{
	uint64_t acc = id, r;
	struct ucall uc;

	for (r = 0; r < rounds; r++) {
		acc = step(acc, r, id);
		vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
		TEST_ASSERT(uc.args[0] == r && uc.args[1] == acc,
			    "guest %lu: round %lu value %#lx, expected %lu %#lx",
			    (unsigned long)id, (unsigned long)uc.args[0],
			    (unsigned long)uc.args[1], (unsigned long)r,
			    (unsigned long)acc);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
}

static void *vm_thread(void *arg)
{
	uint64_t id = (uintptr_t)arg;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_vm, VM_MODE_DEFAULT);
	vcpu_args_set(vcpu, 1, id);
	pthread_barrier_wait(&start);

	run_sequence(vcpu, id, ROUNDS);
	TEST_ASSERT_EQ(*(uint64_t *)addr_gva2hva(vm, (uint64_t)&vm_tag),
		       id + 1);
	kvm_vm_free(vm);
	return NULL;
}

static void test_vms(void)
{
	pthread_t threads[NR_VMS];
	uintptr_t i;

	pthread_barrier_init(&start, NULL, NR_VMS);
	for (i = 0; i < NR_VMS; i++)
		TEST_ASSERT(!pthread_create(&threads[i], NULL, vm_thread,
					    (void *)i), "pthread_create");
	for (i = 0; i < NR_VMS; i++)
		TEST_ASSERT(!pthread_join(threads[i], NULL), "pthread_join");
	pthread_barrier_destroy(&start);
	TEST_ASSERT_EQ(vm_tag, 0);	/* the host's own copy: untouched */
	ksft_print_msg("%d VMs in %d threads, %d rounds each: ok\n", NR_VMS,
		       NR_VMS, ROUNDS);
}

/* vCPU @id takes its turn when pingpong is even (0) or odd (1) */
static void guest_pingpong(uint64_t id)
{
	uint64_t acc = id, r;

	for (r = 0; r < PINGPONG_ROUNDS; r++) {
		while (pingpong % 2 != id)
			cpu_relax();
		acc = step(acc, r, id);
		pingpong++;
		GUEST_SYNC2(r, acc);
	}
	GUEST_DONE();
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	pthread_barrier_wait(&start);
	run_sequence(vcpu, vcpu->id, PINGPONG_ROUNDS);
	return NULL;
}

static void test_vcpus(void)
{
	struct kvm_vcpu *vcpus[2];
	pthread_t threads[2];
	struct kvm_vm *vm;
	int i;

	vm = vm_create(VM_MODE_DEFAULT);
	pthread_barrier_init(&start, NULL, 2);
	for (i = 0; i < 2; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, guest_pingpong);
		vcpu_args_set(vcpus[i], 1, (uint64_t)i);
	}
	for (i = 0; i < 2; i++)
		TEST_ASSERT(!pthread_create(&threads[i], NULL, vcpu_thread,
					    vcpus[i]), "pthread_create");
	for (i = 0; i < 2; i++)
		TEST_ASSERT(!pthread_join(threads[i], NULL), "pthread_join");
	pthread_barrier_destroy(&start);

	TEST_ASSERT_EQ(*(uint64_t *)addr_gva2hva(vm, (uint64_t)&pingpong),
		       2 * PINGPONG_ROUNDS);
	kvm_vm_free(vm);
	ksft_print_msg("2 vCPUs of one VM in 2 threads, %d turns each: ok\n",
		       PINGPONG_ROUNDS);
}

int main(void)
{
	test_vms();
	test_vcpus();
	ksft_exit_pass();
}
