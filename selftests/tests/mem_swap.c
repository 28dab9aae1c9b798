// SPDX-License-Identifier: GPL-2.0
/*
 * mem_swap: the host may swap guest memory out, as under KVM.  The test
 * host gets swap on zram; the guest fills 32 MiB with a pattern; the VMM
 * pushes that memory out (MADV_PAGEOUT) and at least half of it must
 * then be in swap; the guest checks the whole pattern while the pages
 * come back in.  A control region the guest never saw shows that the host
 * swaps at all.
 *
 * Pinned guest pages cannot be paged out, so this fails where kvisor pins.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "zram.h"

#define SLOT		1
#define GPA		0x40000000ULL
#define SIZE		0x2000000ULL		/* 32 MiB */

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

static void guest_code(uint64_t base, uint64_t size)
{
	uint64_t gpa;

	for (gpa = base; gpa < base + size; gpa += 64)
		*(volatile uint64_t *)gpa = gpa * 7;
	GUEST_SYNC(1);
	for (gpa = base; gpa < base + size; gpa += 64)
		GUEST_ASSERT_EQ(*(volatile uint64_t *)gpa, gpa * 7);
	GUEST_DONE();
}

/* How much of [@p, @p + SIZE) is in memory (mincore). */
static unsigned long resident_kb(void *p)
{
	static unsigned char vec[SIZE / 4096];
	unsigned long i, n = 0;

	TEST_ASSERT(!mincore(p, SIZE, vec), "mincore");
	for (i = 0; i < SIZE / 4096; i++)
		n += vec[i] & 1;
	return n * 4;
}

static unsigned long vm_swap_kb(void)
{
	char text[4096];

	read_text_file("/proc/self/status", text, sizeof(text));
	return text_counter(text, "VmSwap:");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned long swapped;
	uint8_t *mem, *ctl;
	int swap;

	swap = zram_swap_on(2 * SIZE);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_2M);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	/* 4K pages: what swap takes one by one. */
	madvise(mem, SIZE, MADV_NOHUGEPAGE);
	vm_userspace_mem_region_add_mem(vm, SLOT, GPA, mem, SIZE, 0);
	virt_map(vm, GPA, GPA, SIZE);
	vcpu_args_set(vcpu, 2, GPA, SIZE);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);

	/* The host swaps at all: memory the guest never saw. */
	ctl = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ctl != MAP_FAILED, "mmap");
	madvise(ctl, SIZE, MADV_NOHUGEPAGE);
	memset(ctl, 0x5a, SIZE);
	TEST_ASSERT(!madvise(ctl, SIZE, MADV_PAGEOUT), "MADV_PAGEOUT");
	ksft_print_msg("control: %lu kB of %llu kB resident after MADV_PAGEOUT, "
		       "VmSwap %lu kB\n", resident_kb(ctl), SIZE >> 10,
		       vm_swap_kb());
	munmap(ctl, SIZE);

	/*
	 * The guest's use of a page counts as use, as the VMM's own would:
	 * reclaim on Linux 6.1 honours it (later kernels' MADV_PAGEOUT
	 * ignores it), so the first pass only ages the pages the guest
	 * touched (under KVM it clears their accessed bits), and the second
	 * evicts them.
	 */
	TEST_ASSERT(!madvise(mem, SIZE, MADV_PAGEOUT), "MADV_PAGEOUT");
	ksft_print_msg("guest memory: %lu kB resident after one MADV_PAGEOUT\n",
		       resident_kb(mem));
	TEST_ASSERT(!madvise(mem, SIZE, MADV_PAGEOUT), "MADV_PAGEOUT");
	ksft_print_msg("guest memory: %lu kB resident after two\n",
		       resident_kb(mem));
	swapped = vm_swap_kb();
	ksft_print_msg("after MADV_PAGEOUT: %lu kB of %llu kB in swap\n",
		       swapped, SIZE >> 10);
	TEST_ASSERT(swapped >= SIZE / 2 / 1024,
		    "only %lu kB went to swap", swapped);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("the guest read its pattern back; %lu kB still in swap\n",
		       vm_swap_kb());
	kvm_vm_free(vm);
	zram_swap_off(swap);
	ksft_exit_pass();
}
