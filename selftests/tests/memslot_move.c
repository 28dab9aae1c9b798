// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_move: move a memslot (KVM_SET_USER_MEMORY_REGION with a new
 * guest_phys_addr) while a vCPU thread keeps the guest spinning on a value
 * in it.  Once moved, reads of the old address are MMIO exits and the same
 * data, same host memory, is at the new address.  Then move it back.
 * After upstream's set_memory_region_test, simpler.
 */
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define SLOT_PAGES	16
#define GPA_A		0x10000000ULL
#define GPA_B		0x20000000ULL
#define MEM_VAL		0x1122334455667788ULL	/* in the memslot */
#define MMIO_VAL	0xbeefbeefbeefbeefULL	/* what MMIO reads return */
#define GUEST_VAL	0x5a5a5a5a5a5a5a5aULL	/* what the guest writes */

static sem_t guest_synced;
static unsigned long mmio_reads[2];	/* at GPA_A, at GPA_B */

static uint64_t read_gpa(uint64_t gpa)
{
	return *(volatile uint64_t *)gpa;	/* identity mapped */
}

/* Spin while the value at @gpa is @val, return the new one. */
static uint64_t spin_while(uint64_t gpa, uint64_t val)
{
	uint64_t v;

	while ((v = read_gpa(gpa)) == val)
		cpu_relax();
	return v;
}

static void guest_code(void)
{
	GUEST_ASSERT_EQ(read_gpa(GPA_A), MEM_VAL);
	GUEST_SYNC(1);

	/* the host moves the slot from A to B */
	GUEST_ASSERT_EQ(spin_while(GPA_A, MEM_VAL), MMIO_VAL);
	GUEST_ASSERT_EQ(spin_while(GPA_B, MMIO_VAL), MEM_VAL);
	*(volatile uint64_t *)(GPA_B + 8) = GUEST_VAL;
	GUEST_SYNC(2);

	/* the host moves it back */
	GUEST_ASSERT_EQ(spin_while(GPA_B, MEM_VAL), MMIO_VAL);
	GUEST_ASSERT_EQ(spin_while(GPA_A, MMIO_VAL), MEM_VAL);
	GUEST_ASSERT_EQ(read_gpa(GPA_A + 8), GUEST_VAL);
	GUEST_DONE();
}

/* Run the guest; answer MMIO reads of A or B (no memory) with MMIO_VAL. */
static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	uint64_t mmio_val = MMIO_VAL;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			TEST_ASSERT(!run->mmio.is_write && run->mmio.len == 8 &&
				    (run->mmio.phys_addr == GPA_A ||
				     run->mmio.phys_addr == GPA_B),
				    "unexpected MMIO %s of %u at %#llx",
				    run->mmio.is_write ? "write" : "read",
				    run->mmio.len,
				    (unsigned long long)run->mmio.phys_addr);
			memcpy(run->mmio.data, &mmio_val, 8);
			mmio_reads[run->mmio.phys_addr == GPA_B]++;
			continue;
		}
		switch (get_ucall(vcpu, NULL)) {
		case UCALL_SYNC:
			sem_post(&guest_synced);
			continue;
		case UCALL_DONE:
			sem_post(&guest_synced);
			return NULL;
		default:
			TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
		}
	}
}

static void wait_for_guest(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	TEST_ASSERT(!sem_timedwait(&guest_synced, &ts),
		    "the guest made no progress in 60 seconds");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *mem;
	pthread_t thread;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT, GPA_A, SLOT_PAGES, 0);
	virt_map(vm, GPA_A, GPA_A, SLOT_PAGES * PAGE_SIZE_4K);
	virt_map(vm, GPA_B, GPA_B, SLOT_PAGES * PAGE_SIZE_4K);
	mem = memslot2region(vm, SLOT)->host_mem;
	mem[0] = MEM_VAL;

	TEST_ASSERT(!sem_init(&guest_synced, 0, 0), "sem_init");
	TEST_ASSERT(!pthread_create(&thread, NULL, vcpu_thread, vcpu),
		    "pthread_create");

	wait_for_guest();
	usleep(10000);		/* let it spin on A a little */
	vm_mem_region_move(vm, SLOT, GPA_B);
	wait_for_guest();
	TEST_ASSERT_EQ(mem[1], GUEST_VAL);
	ksft_print_msg("moved A -> B: MMIO at A, data at B: ok\n");

	usleep(10000);
	vm_mem_region_move(vm, SLOT, GPA_A);
	wait_for_guest();	/* GUEST_DONE */
	TEST_ASSERT(!pthread_join(thread, NULL), "pthread_join");
	ksft_print_msg("moved B -> A: MMIO at B, data at A: ok\n");
	ksft_print_msg("MMIO reads: %lu at A, %lu at B\n", mmio_reads[0],
		       mmio_reads[1]);
	TEST_ASSERT(mmio_reads[0] && mmio_reads[1], "no MMIO exit at A or B");

	kvm_vm_free(vm);
	ksft_exit_pass();
}
