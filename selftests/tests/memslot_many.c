// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_many: as many memory slots as KVM_CAP_NR_MEMSLOTS says, which
 * must be KVM's 32764 on x86.  Every slot but the library's slot 0 maps
 * one page; the guest writes a word into every 61st of them and the VMM
 * finds each where it belongs.  One slot number more is EINVAL, a slot
 * over another one EEXIST; then all are deleted again.  The time
 * the creation and deletion took is printed, not judged.
 */
#include <sys/mman.h>
#include <time.h>

#include "kvm_util.h"

#define BASE_GPA	0x100000000ULL
#define STRIDE		61

static void guest_code(uint64_t base, uint64_t n)
{
	uint64_t i;

	for (i = 1; i < n; i += STRIDE)
		*(volatile uint64_t *)(base + (i - 1) * 4096) = i;
	GUEST_DONE();
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct timespec t0;
	struct kvm_vm *vm;
	uint8_t *mem;
	int n, i, r;

	n = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);
	TEST_ASSERT_EQ(n, 32764);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_2M);
	mem = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; i < n; i++) {
		r = vm_set_slot(vm, i, BASE_GPA + (i - 1) * 4096ULL, 4096,
			     mem + (i - 1) * 4096ULL);
		TEST_ASSERT(!r, "slot %d: %s", i, strerror(-r));
	}
	ksft_print_msg("%d slots created in %.2f s\n", n - 1,
		       seconds_since(&t0));
	TEST_ASSERT_EQ(vm_set_slot(vm, n, BASE_GPA - 4096, 4096, mem), -EINVAL);
	/* The last slot again, first over another one, then where it was. */
	TEST_ASSERT(!vm_set_slot(vm, n - 1, 0, 0, NULL), "delete");
	TEST_ASSERT_EQ(vm_set_slot(vm, n - 1, BASE_GPA + 4096, 4096, mem), -EEXIST);
	TEST_ASSERT(!vm_set_slot(vm, n - 1, BASE_GPA + (n - 2) * 4096ULL, 4096,
			      mem + (n - 2) * 4096ULL), "recreate");

	virt_map(vm, BASE_GPA, BASE_GPA, ALIGN_UP((uint64_t)n * 4096,
						  PAGE_SIZE_2M));
	vcpu_args_set(vcpu, 2, BASE_GPA, (uint64_t)n);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	for (i = 1; i < n; i++) {
		uint64_t want = (i - 1) % STRIDE ? 0 : i;

		TEST_ASSERT_EQ(*(uint64_t *)(mem + (i - 1) * 4096ULL), want);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; i < n; i++)
		TEST_ASSERT(!vm_set_slot(vm, i, 0, 0, NULL), "delete slot %d", i);
	ksft_print_msg("and deleted in %.2f s; the guest's writes all landed\n",
		       seconds_since(&t0));
	kvm_vm_free(vm);
	ksft_exit_pass();
}
