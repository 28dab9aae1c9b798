// SPDX-License-Identifier: GPL-2.0
/*
 * readonly_slot: a KVM_MEM_READONLY memslot, over host memory that is
 * itself mapped read-only.  Guest reads see the memory; guest writes (MOV
 * of 1/2/4/8 bytes, and OR, whose read comes from the memory) exit to
 * userspace as KVM_EXIT_MMIO writes with the guest's address, length and
 * data, and leave the memory unchanged.  Also KVM's errnos for flags: an
 * unknown flag, and adding or removing KVM_MEM_READONLY on a slot.
 */
#include <errno.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x10000000ULL
#define NPAGES		4
#define SLOT2		2
#define GPA2		0x20000000ULL

/* What the host puts in the slot: every qword names its offset. */
static uint64_t pattern(uint64_t off)
{
	return 0x5eed000000000000ULL | off;
}

static void guest_code(void)
{
	volatile uint64_t *q = (volatile uint64_t *)GPA;
	char *m = (char *)(GPA + PAGE_SIZE_4K);
	uint64_t off;

	for (off = 0; off < NPAGES * PAGE_SIZE_4K; off += 512)
		GUEST_ASSERT_EQ(q[off / 8], pattern(off));
	GUEST_SYNC(1);

	asm volatile("movb $0x12, (%0)" : : "r"(m) : "memory");
	asm volatile("movw $0x3456, 2(%0)" : : "r"(m) : "memory");
	asm volatile("movl $0x789abcde, 4(%0)" : : "r"(m) : "memory");
	asm volatile("movq %1, 8(%0)"
		     : : "r"(m), "r"(0x0123456789abcdefULL) : "memory");
	asm volatile("orl $0xf0, 0x10(%0)" : : "r"(m) : "memory");

	/* nothing changed */
	GUEST_ASSERT_EQ(*(volatile uint64_t *)m, pattern(PAGE_SIZE_4K));
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(m + 8), pattern(PAGE_SIZE_4K + 8));
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(m + 0x10),
			pattern(PAGE_SIZE_4K + 0x10));
	GUEST_DONE();
}

/* One MMIO write exit at @gpa of @len bytes of @data. */
static void expect_write(struct kvm_vcpu *vcpu, uint64_t gpa, uint32_t len,
			 uint64_t data)
{
	struct kvm_run *run = vcpu->run;
	uint64_t got = 0;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT(run->mmio.is_write && run->mmio.phys_addr == gpa &&
		    run->mmio.len == len,
		    "MMIO %s of %u at %#llx, expected a write of %u at %#llx",
		    run->mmio.is_write ? "write" : "read", run->mmio.len,
		    (unsigned long long)run->mmio.phys_addr, len,
		    (unsigned long long)gpa);
	memcpy(&got, run->mmio.data, len);
	TEST_ASSERT(got == data, "MMIO write at %#llx: %#lx, expected %#lx",
		    (unsigned long long)gpa, (unsigned long)got,
		    (unsigned long)data);
}

static int set_region(struct kvm_vm *vm, struct kvm_userspace_memory_region *mr,
		      uint32_t flags)
{
	struct kvm_userspace_memory_region r = *mr;

	r.flags = flags;
	return __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

static void check_flag_errnos(struct kvm_vm *vm)
{
	struct kvm_userspace_memory_region *ro = &memslot2region(vm, SLOT)->region;
	struct kvm_userspace_memory_region *rw = &memslot2region(vm, SLOT2)->region;

	TEST_ASSERT_EQ(set_region(vm, ro, KVM_MEM_READONLY | (1u << 5)), -EINVAL);
	TEST_ASSERT_EQ(set_region(vm, ro, 0), -EINVAL);
	TEST_ASSERT_EQ(set_region(vm, ro, KVM_MEM_LOG_DIRTY_PAGES), -EINVAL);
	TEST_ASSERT_EQ(set_region(vm, rw, KVM_MEM_READONLY), -EINVAL);
	TEST_ASSERT_EQ(set_region(vm, rw, KVM_MEM_READONLY |
				  KVM_MEM_LOG_DIRTY_PAGES), -EINVAL);
	/* same flags: nothing to do; dirty logging may still be toggled */
	TEST_ASSERT_EQ(set_region(vm, ro, KVM_MEM_READONLY), 0);
	TEST_ASSERT_EQ(set_region(vm, ro, KVM_MEM_READONLY |
				  KVM_MEM_LOG_DIRTY_PAGES), 0);
	TEST_ASSERT_EQ(set_region(vm, ro, KVM_MEM_READONLY), 0);
	ksft_print_msg("flag errnos: ok\n");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *mem, off;
	struct ucall uc;

	if (!kvm_check_cap(KVM_CAP_READONLY_MEM))
		ksft_exit_skip("KVM_CAP_READONLY_MEM not offered\n");

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT, GPA, NPAGES, KVM_MEM_READONLY);
	vm_userspace_mem_region_add(vm, SLOT2, GPA2, 1, 0);
	virt_map(vm, GPA, GPA, NPAGES * PAGE_SIZE_4K);
	mem = memslot2region(vm, SLOT)->host_mem;
	for (off = 0; off < NPAGES * PAGE_SIZE_4K; off += 8)
		mem[off / 8] = pattern(off);
	/* KVM does not need to write it: the host's own mapping is read-only */
	TEST_ASSERT(!mprotect(mem, NPAGES * PAGE_SIZE_4K, PROT_READ), "mprotect");
	check_flag_errnos(vm);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	ksft_print_msg("guest reads see the memory: ok\n");

	expect_write(vcpu, GPA + PAGE_SIZE_4K, 1, 0x12);
	expect_write(vcpu, GPA + PAGE_SIZE_4K + 2, 2, 0x3456);
	expect_write(vcpu, GPA + PAGE_SIZE_4K + 4, 4, 0x789abcde);
	expect_write(vcpu, GPA + PAGE_SIZE_4K + 8, 8, 0x0123456789abcdefULL);
	/* OR reads the memory, the write goes out */
	expect_write(vcpu, GPA + PAGE_SIZE_4K + 0x10, 4,
		     (uint32_t)pattern(PAGE_SIZE_4K + 0x10) | 0xf0);
	ksft_print_msg("guest writes are MMIO writes: ok\n");

	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	for (off = 0; off < NPAGES * PAGE_SIZE_4K; off += 8)
		TEST_ASSERT_EQ(mem[off / 8], pattern(off));
	ksft_print_msg("memory unchanged: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
