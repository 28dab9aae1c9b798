// SPDX-License-Identifier: GPL-2.0
/*
 * mem_coherence: the guest sees what the VMM's mapping holds now, through
 * everything the VMM may do to it between two KVM_RUNs, as under KVM:
 *  - a write by the VMM: the guest reads the new value;
 *  - MADV_DONTNEED: the guest reads zeros; the next VMM write is seen;
 *  - munmap: KVM_RUN fails with EFAULT; a new mapping at the same
 *    address is what the guest sees next;
 *  - mremap away: EFAULT again; mremap back: the data came along.
 * The guest reads one word and reports it, again and again.
 */
#include <sys/mman.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x10000000ULL
#define NPAGES		16
#define SIZE		(NPAGES * 4096UL)

static void guest_code(void)
{
	for (;;)
		GUEST_SYNC(*(volatile uint64_t *)GPA);
}

static uint64_t guest_reads(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), uc.args[0]);
	return uc.args[0];
}

static void expect_efault(struct kvm_vcpu *vcpu, const char *what)
{
	int r = __vcpu_run(vcpu);

	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "%s: KVM_RUN gave %d (%s), KVM gives EFAULT", what, r,
		    strerror(errno));
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *mem;
	void *away;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT, GPA, NPAGES, 0);
	virt_map(vm, GPA, GPA, SIZE);
	mem = memslot2region(vm, SLOT)->host_mem;

	mem[0] = 0x1111;
	TEST_ASSERT_EQ(guest_reads(vcpu), 0x1111);
	mem[0] = 0x2222;
	TEST_ASSERT_EQ(guest_reads(vcpu), 0x2222);

	TEST_ASSERT(!madvise(mem, SIZE, MADV_DONTNEED), "MADV_DONTNEED");
	TEST_ASSERT_EQ(guest_reads(vcpu), 0);
	mem[0] = 0x3333;
	TEST_ASSERT_EQ(guest_reads(vcpu), 0x3333);
	ksft_print_msg("VMM writes and MADV_DONTNEED seen by the guest\n");

	TEST_ASSERT(!munmap(mem, SIZE), "munmap");
	expect_efault(vcpu, "after munmap");
	TEST_ASSERT(mmap(mem, SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == mem,
		    "mmap again at %p", mem);
	mem[0] = 0x4444;
	TEST_ASSERT_EQ(guest_reads(vcpu), 0x4444);
	ksft_print_msg("munmap: EFAULT; a new mapping there is seen\n");

	away = mmap(NULL, SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(away != MAP_FAILED, "mmap");
	TEST_ASSERT(mremap(mem, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
			   away) == away, "mremap away");
	expect_efault(vcpu, "after mremap away");
	TEST_ASSERT(mremap(away, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
			   mem) == mem, "mremap back");
	TEST_ASSERT_EQ(guest_reads(vcpu), 0x4444);
	ksft_print_msg("mremap away: EFAULT; back: the data came along\n");

	kvm_vm_free(vm);
	ksft_exit_pass();
}
