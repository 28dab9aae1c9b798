// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_edges: slots at the edges of the guest-physical space, and slots
 * far larger than the memory behind them, as KVM answers them, without
 * harm to the host.
 *  - A slot that ends at the host's MAXPHYADDR is taken, and deleted
 *    again; one that goes past it, or sits in the top 2 MiB of the 64-bit
 *    space, is EINVAL (once, kvisor's unmap loop wrapped around the whole
 *    space there, unkillably).
 *  - 32 slots of 16 GiB each over the same small mapping cost the host
 *    next to nothing until the guest touches them (once, kvisor allocated
 *    a page array per slot: 512 GiB of arrays); the guest's writes to
 *    the first page of each land in that one mapping.  The cost is
 *    bounded on kvisor only: in-tree KVM pays 2 bytes per page.
 */
#include <cpuid.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define BIG		(16ULL << 30)
#define NR_BIG		32
#define BIG_BASE	(1ULL << 36)		/* 64 GiB */

static void guest_code(uint64_t base)
{
	uint64_t i;

	for (i = 0; i < NR_BIG; i++)
		*(volatile uint64_t *)(base + i * BIG + i * 8) = i + 1;
	GUEST_DONE();
}

static unsigned long meminfo_kb(const char *name)
{
	char text[8192];

	read_text_file("/proc/meminfo", text, sizeof(text));
	return text_counter(text, name);
}

int main(void)
{
	unsigned int eax, ebx, ecx, edx, phys;
	unsigned long before, after;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t top, i;
	uint8_t *mem;

	__cpuid(0x80000008, eax, ebx, ecx, edx);
	phys = eax & 0xff;
	top = 1ULL << phys;
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_1G);
	mem = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");

	TEST_ASSERT_EQ(vm_set_slot(vm, 1, top - (2 << 20), 2 << 20, mem), 0);
	TEST_ASSERT_EQ(vm_set_slot(vm, 1, 0, 0, NULL), 0);
	TEST_ASSERT_EQ(vm_set_slot(vm, 1, top - (1 << 20), 2 << 20, mem), -EINVAL);
	TEST_ASSERT_EQ(vm_set_slot(vm, 1, -(2ULL << 20), 1 << 12, mem), -EINVAL);
	ksft_print_msg("MAXPHYADDR %u: a slot up to it taken, past it EINVAL\n",
		       phys);

	if (BIG_BASE + NR_BIG * BIG > top)
		ksft_exit_skip("MAXPHYADDR %u leaves no room for 512 GiB\n",
			       phys);
	before = meminfo_kb("Slab:") + meminfo_kb("VmallocUsed:");
	for (i = 0; i < NR_BIG; i++)
		TEST_ASSERT_EQ(vm_set_slot(vm, 2 + i, BIG_BASE + i * BIG, BIG, mem),
			       0);
	after = meminfo_kb("Slab:") + meminfo_kb("VmallocUsed:");
	ksft_print_msg("32 slots of 16 GiB: slab and vmalloc %lu -> %lu kB\n",
		       before, after);
	/*
	 * kvisor's bound (issue 11).  In-tree KVM allocates per page of a
	 * slot where the kernel has KVM_EXTERNAL_WRITE_TRACKING (Debian's
	 * 6.1 has, for KVMGT): 2 bytes each, 258 MiB here.
	 */
	TEST_ASSERT(after < before + 4096 || access(KVISOR_DEBUGFS, F_OK),
		    "the slots cost %lu kB of kernel memory", after - before);

	for (i = 0; i < NR_BIG; i++)
		virt_map(vm, BIG_BASE + i * BIG, BIG_BASE + i * BIG, 1ULL << 30);
	vcpu_args_set(vcpu, 1, BIG_BASE);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	for (i = 0; i < NR_BIG; i++)
		TEST_ASSERT_EQ(((uint64_t *)mem)[i], i + 1);
	for (i = 0; i < NR_BIG; i++)
		TEST_ASSERT_EQ(vm_set_slot(vm, 2 + i, 0, 0, NULL), 0);
	ksft_print_msg("the guest wrote through all 32; all deleted\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
