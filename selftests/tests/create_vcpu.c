// SPDX-License-Identifier: GPL-2.0
/*
 * create_vcpu: KVM_CREATE_VCPU and what comes with a new vCPU.
 *  - ids need not be contiguous, the highest is KVM_CAP_MAX_VCPU_ID - 1;
 *    a used id fails with EEXIST, one out of range with EINVAL;
 *  - KVM_GET_VCPU_MMAP_SIZE covers struct kvm_run, in whole pages, and the
 *    vCPU fd maps it: two mappings share the same page;
 *  - KVM_SET_REGS/KVM_GET_REGS and KVM_SET_SREGS/KVM_GET_SREGS round trip
 *    before the vCPU ever ran.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

static int create_vcpu(struct kvm_vm *vm, unsigned long id)
{
	return __vm_ioctl(vm, KVM_CREATE_VCPU, (void *)id);
}

static void test_ids(void)
{
	static const unsigned long ids[] = { 0, 1, 2, 7, 100 };
	struct kvm_vm *vm = vm_create(VM_MODE_DEFAULT);
	int max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	int max_vcpus = kvm_check_cap(KVM_CAP_MAX_VCPUS);
	unsigned int i;
	int fd;

	/* KVM_CAP_MAX_VCPU_ID may be absent: then it is KVM_CAP_MAX_VCPUS */
	if (!max_id)
		max_id = max_vcpus;
	ksft_print_msg("KVM_CAP_MAX_VCPUS %d, KVM_CAP_MAX_VCPU_ID %d\n",
		       max_vcpus, max_id);
	TEST_ASSERT(max_vcpus >= 2 && max_id >= max_vcpus,
		    "want room for 2 vCPUs and ids up to KVM_CAP_MAX_VCPUS");

	for (i = 0; i < ARRAY_SIZE(ids) && ids[i] < (unsigned long)max_id; i++) {
		fd = create_vcpu(vm, ids[i]);
		TEST_ASSERT(fd >= 0, "KVM_CREATE_VCPU %lu failed", ids[i]);
		TEST_ASSERT(create_vcpu(vm, ids[i]) == -1 && errno == EEXIST,
			    "KVM_CREATE_VCPU %lu again: want EEXIST", ids[i]);
	}

	TEST_ASSERT(create_vcpu(vm, max_id) == -1 && errno == EINVAL,
		    "KVM_CREATE_VCPU %d (KVM_CAP_MAX_VCPU_ID): want EINVAL",
		    max_id);
	TEST_ASSERT(create_vcpu(vm, ~0UL) == -1 && errno == EINVAL,
		    "KVM_CREATE_VCPU ~0: want EINVAL");
	fd = create_vcpu(vm, max_id - 1);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VCPU %d (the highest id) failed",
		    max_id - 1);
	kvm_vm_free(vm);	/* the vCPU fds go with the process */
	ksft_print_msg("vCPU ids, EEXIST, EINVAL: ok\n");
}

static void test_mmap(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct kvm_vcpu *vcpu;
	struct kvm_run *run2;
	struct kvm_vm *vm;
	int size;

	vm = vm_create_with_one_vcpu(&vcpu, NULL, VM_MODE_DEFAULT);
	size = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	TEST_ASSERT(size >= (int)sizeof(struct kvm_run) && size % page == 0,
		    "KVM_GET_VCPU_MMAP_SIZE %d: want whole pages, at least %zu",
		    size, sizeof(struct kvm_run));

	run2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		    0);
	TEST_ASSERT(run2 != MAP_FAILED, "second mmap of the vCPU fd");
	vcpu->run->immediate_exit = 1;
	TEST_ASSERT_EQ(run2->immediate_exit, 1);
	run2->immediate_exit = 0;
	TEST_ASSERT_EQ(vcpu->run->immediate_exit, 0);
	munmap(run2, size);
	kvm_vm_free(vm);
	ksft_print_msg("KVM_GET_VCPU_MMAP_SIZE %d, kvm_run mapped twice: ok\n",
		       size);
}

static void test_regs(void)
{
	struct kvm_sregs sregs, sregs2;
	struct kvm_regs regs, regs2;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	__u64 *r;
	unsigned int i;

	vm = vm_create(VM_MODE_DEFAULT);
	TEST_ASSERT(create_vcpu(vm, 0) >= 0, "KVM_CREATE_VCPU");
	vcpu = &(struct kvm_vcpu){ .vm = vm, .fd = create_vcpu(vm, 1) };
	TEST_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU");

	/* every general purpose register, RIP and RFLAGS */
	for (r = &regs.rax, i = 0; r <= &regs.r15; r++, i++)
		*r = 0x0101010101010101ULL * (i + 1) ^ 0x8000000000000000ULL;
	regs.rip = 0x123456;
	regs.rflags = X86_EFLAGS_FIXED | 0x8d5;	/* arithmetic flags */
	vcpu_regs_set(vcpu, &regs);
	vcpu_regs_get(vcpu, &regs2);
	TEST_ASSERT(!memcmp(&regs, &regs2, sizeof(regs)),
		    "KVM_GET_REGS differs from KVM_SET_REGS");

	/* some special registers, checked as far as KVM checks them */
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT(!(sregs.cr0 & X86_CR0_PE) && sregs.cs.selector == 0xf000,
		    "a new vCPU is not in real mode at f000:xxxx");
	sregs.cr3 = 0x1000;
	sregs.cs.base = 0x12340000;
	sregs.ds.selector = 0x10;
	sregs.gdt.base = 0x5000;
	sregs.gdt.limit = 0x27;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_sregs_get(vcpu, &sregs2);
	TEST_ASSERT(sregs2.cr3 == sregs.cr3 &&
		    sregs2.cs.base == sregs.cs.base &&
		    sregs2.ds.selector == sregs.ds.selector &&
		    sregs2.gdt.base == sregs.gdt.base &&
		    sregs2.gdt.limit == sregs.gdt.limit,
		    "KVM_GET_SREGS differs from KVM_SET_SREGS");
	close(vcpu->fd);
	kvm_vm_free(vm);
	ksft_print_msg("KVM_SET/GET_REGS and SREGS before any run: ok\n");
}

int main(void)
{
	test_ids();
	test_mmap();
	test_regs();
	ksft_exit_pass();
}
