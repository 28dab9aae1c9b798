// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_delete: delete a memslot (memory_size 0) while a vCPU thread
 * keeps the guest spinning on a value in it: reads become MMIO exits and a
 * write is an MMIO write exit.  A new slot at the same address brings
 * fresh (zero) memory.  Last, delete slot 0 with the guest's code and page
 * tables: the vCPU cannot go on, KVM reports KVM_EXIT_SHUTDOWN or
 * KVM_EXIT_INTERNAL_ERROR, as upstream's set_memory_region_test expects.
 */
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define SLOT_PAGES	16
#define GPA		0x10000000ULL
#define MEM_VAL		0x1122334455667788ULL	/* in the memslot */
#define MMIO_VAL	0xbeefbeefbeefbeefULL	/* what MMIO reads return */
#define GUEST_VAL	0x5a5a5a5a5a5a5a5aULL	/* what the guest writes */

static sem_t guest_synced;
static unsigned long mmio_reads, mmio_writes;

static uint64_t read_gpa(uint64_t gpa)
{
	return *(volatile uint64_t *)gpa;	/* identity mapped */
}

static uint64_t spin_while(uint64_t gpa, uint64_t val)
{
	uint64_t v;

	while ((v = read_gpa(gpa)) == val)
		cpu_relax();
	return v;
}

static void guest_code(void)
{
	GUEST_ASSERT_EQ(read_gpa(GPA), MEM_VAL);
	GUEST_SYNC(1);

	/* the host deletes the slot */
	GUEST_ASSERT_EQ(spin_while(GPA, MEM_VAL), MMIO_VAL);
	*(volatile uint64_t *)(GPA + 8) = GUEST_VAL;
	GUEST_SYNC(2);

	/* the host adds a new slot there */
	GUEST_ASSERT_EQ(spin_while(GPA, MMIO_VAL), 0);
	GUEST_SYNC(3);

	/* the host deletes slot 0, under our feet */
	for (;;)
		cpu_relax();
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	uint64_t mmio_val = MMIO_VAL;

	for (;;) {
		vcpu_run(vcpu);
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			TEST_ASSERT(run->mmio.len == 8 &&
				    run->mmio.phys_addr ==
				    GPA + (run->mmio.is_write ? 8 : 0),
				    "unexpected MMIO %s of %u at %#llx",
				    run->mmio.is_write ? "write" : "read",
				    run->mmio.len,
				    (unsigned long long)run->mmio.phys_addr);
			if (run->mmio.is_write) {
				TEST_ASSERT(!memcmp(run->mmio.data,
						    &(uint64_t){ GUEST_VAL }, 8),
					    "MMIO write of wrong data");
				mmio_writes++;
			} else {
				memcpy(run->mmio.data, &mmio_val, 8);
				mmio_reads++;
			}
			continue;
		case KVM_EXIT_IO:
			TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);
			sem_post(&guest_synced);
			continue;
		}
		/* anything else is for main() to judge */
		sem_post(&guest_synced);
		return NULL;
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
	uint32_t reason;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT, GPA, SLOT_PAGES, 0);
	virt_map(vm, GPA, GPA, SLOT_PAGES * PAGE_SIZE_4K);
	mem = memslot2region(vm, SLOT)->host_mem;
	mem[0] = MEM_VAL;

	TEST_ASSERT(!sem_init(&guest_synced, 0, 0), "sem_init");
	TEST_ASSERT(!pthread_create(&thread, NULL, vcpu_thread, vcpu),
		    "pthread_create");

	wait_for_guest();
	usleep(10000);		/* let it spin on the slot a little */
	vm_mem_region_delete(vm, SLOT);
	wait_for_guest();
	TEST_ASSERT(mmio_reads >= 1 && mmio_writes == 1,
		    "%lu MMIO reads, %lu writes after the delete",
		    mmio_reads, mmio_writes);
	ksft_print_msg("deleted: MMIO read and write exits: ok\n");

	usleep(10000);
	vm_userspace_mem_region_add(vm, SLOT, GPA, SLOT_PAGES, 0);
	wait_for_guest();
	ksft_print_msg("added again: fresh memory: ok\n");

	usleep(10000);
	vm_mem_region_delete(vm, 0);
	wait_for_guest();	/* the vCPU thread's last exit */
	TEST_ASSERT(!pthread_join(thread, NULL), "pthread_join");
	reason = vcpu->run->exit_reason;
	TEST_ASSERT(reason == KVM_EXIT_SHUTDOWN ||
		    reason == KVM_EXIT_INTERNAL_ERROR,
		    "exit reason %u (%s) after deleting slot 0, expected SHUTDOWN or INTERNAL_ERROR",
		    reason, exit_reason_str(reason));
	ksft_print_msg("deleted slot 0: %s: ok\n", exit_reason_str(reason));

	kvm_vm_free(vm);
	ksft_exit_pass();
}
