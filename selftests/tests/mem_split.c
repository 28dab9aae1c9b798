// SPDX-License-Identifier: GPL-2.0
/*
 * mem_split: huge nested mappings are split, not thrown away, where only
 * part of them must change, and the guest sees the same memory throughout.
 *
 * A slot of transparent huge pages, which the guest fills with a pattern
 * (kvisor maps it with 2M leaves):
 *  1. Dirty logging switched on: the 2M mappings become 4K ones at once,
 *     before the guest touches anything (kvisor's eager split: debugfs's
 *     4K count rises by 512 per 2M leaf, its split count rises).  The guest
 *     then reads every page and writes three, and KVM_GET_DIRTY_LOG names
 *     exactly those three.
 *  2. Logging off: the guest's next reads map 2M again.
 *  3. The VMM drops one 4K page of a 2M-mapped range (MADV_DONTNEED): the
 *     guest reads zeros there and its pattern everywhere else.
 *  4. With KVM_DIRTY_LOG_INITIALLY_SET, logging on: the mappings are split
 *     and every page is dirty; once userspace clears the log, a guest
 *     write to one page is the only one in the next log.
 *
 * The guest-visible half runs on in-tree KVM too; the counts are read
 * only where kvisor's debugfs is there.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x40000000ULL
#define SIZE		0x800000ULL		/* 8 MiB: four 2M pages */
#define NPAGES		(SIZE / 4096)
#define HUGE_2M		0x200000ULL
#define DROPPED		(HUGE_2M + 5 * 4096)	/* the page step 3 drops */

static const unsigned int written[] = { 3, 700, 1500 };

enum { FILL = 1, READ_ALL, WRITE_SOME, REMAP, CHECK, WRITE_ONE };

/* Each 8-byte word holds its guest-physical address, plus one. */
static void guest_code(uint64_t base, uint64_t size)
{
	uint64_t gpa, bad;
	unsigned int i;

	for (gpa = base; gpa < base + size; gpa += 8)
		*(volatile uint64_t *)gpa = gpa + 1;
	GUEST_SYNC(FILL);
	for (gpa = base; gpa < base + size; gpa += 4096)
		GUEST_ASSERT(*(volatile uint64_t *)gpa == gpa + 1);
	GUEST_SYNC(READ_ALL);
	for (i = 0; i < ARRAY_SIZE(written); i++) {
		gpa = base + written[i] * 4096ULL;
		*(volatile uint64_t *)gpa = gpa + 1;
	}
	GUEST_SYNC(WRITE_SOME);
	for (gpa = base; gpa < base + size; gpa += 4096)
		GUEST_ASSERT(*(volatile uint64_t *)gpa == gpa + 1);
	GUEST_SYNC(REMAP);
	/* After the VMM dropped a page: zeros there, the pattern elsewhere. */
	bad = 0;
	for (gpa = base; gpa < base + size; gpa += 8) {
		uint64_t want = gpa - gpa % 4096 == base + DROPPED ? 0 : gpa + 1;

		if (*(volatile uint64_t *)gpa != want && !bad)
			bad = gpa;
	}
	GUEST_SYNC2(CHECK, bad);
	*(volatile uint64_t *)(base + 9 * 4096) = 1;
	GUEST_SYNC(WRITE_ONE);
	GUEST_DONE();
}

static void run_to(struct kvm_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), stage);
}

static void set_flags(struct kvm_vm *vm, uint32_t flags)
{
	memslot2region(vm, SLOT)->region.flags = flags;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION,
		 &memslot2region(vm, SLOT)->region);
}

/* The log must name exactly the pages in @pages. */
static void expect_log(struct kvm_vm *vm, const unsigned int *pages,
		       unsigned int n)
{
	static uint64_t bitmap[NPAGES / 64];
	struct kvm_dirty_log log = { .slot = SLOT, .dirty_bitmap = bitmap };
	unsigned int i, j;

	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	for (i = 0; i < NPAGES; i++) {
		bool dirty = bitmap[i / 64] & (1ULL << (i % 64)), want = false;

		for (j = 0; j < n; j++)
			want |= pages[j] == i;
		TEST_ASSERT(dirty == want, "page %u %s in the log", i,
			    dirty ? "is" : "is not");
	}
}

/* Logging switched on splits every 2M mapping into 512 4K ones. */
static void expect_split(long huge_before, long k4_before,
			 long splits_before, const char *when)
{
	long huge = kvisor_vm_memory_counter("mapped 2M ");
	long k4 = kvisor_vm_memory_counter("mapped 4K ");
	long splits = kvisor_vm_memory_counter("split ");

	if (huge_before < 0)
		return;
	TEST_ASSERT(huge == 0 && k4 >= k4_before + 512 * huge_before &&
		    splits >= splits_before + huge_before,
		    "%s: 2M %ld -> %ld, 4K %ld -> %ld, splits %ld -> %ld",
		    when, huge_before, huge, k4_before, k4, splits_before,
		    splits);
	ksft_print_msg("%s: %ld 2M mappings split, 4K mappings %ld -> %ld\n",
		       when, huge_before, k4_before, k4);
}

static void test_split(uint8_t *mem)
{
	static const unsigned int nine[] = { 9 };
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
			   KVM_DIRTY_LOG_INITIALLY_SET,
	};
	static uint64_t ones[NPAGES / 64];
	struct kvm_clear_dirty_log clear = {
		.slot = SLOT, .num_pages = NPAGES, .dirty_bitmap = ones,
	};
	long huge, k4, splits;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_2M);
	vm_userspace_mem_region_add_mem(vm, SLOT, GPA, mem, SIZE, 0);
	virt_map(vm, GPA, GPA, SIZE);
	vcpu_args_set(vcpu, 2, GPA, SIZE);

	run_to(vcpu, FILL);
	huge = kvisor_vm_memory_counter("mapped 2M ");
	TEST_ASSERT(huge != 0, "the guest's THP slot has no 2M mapping");
	k4 = kvisor_vm_memory_counter("mapped 4K ");
	splits = kvisor_vm_memory_counter("split ");
	set_flags(vm, KVM_MEM_LOG_DIRTY_PAGES);
	expect_split(huge, k4, splits, "logging on");
	run_to(vcpu, READ_ALL);
	run_to(vcpu, WRITE_SOME);
	expect_log(vm, written, ARRAY_SIZE(written));

	/* Logging off: the guest's reads map 2M again. */
	set_flags(vm, 0);
	run_to(vcpu, REMAP);
	huge = kvisor_vm_memory_counter("mapped 2M ");
	TEST_ASSERT(huge != 0, "no 2M mapping came back after logging");
	splits = kvisor_vm_memory_counter("split ");
	madvise(mem + DROPPED, 4096, MADV_DONTNEED);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), CHECK);
	TEST_ASSERT(!uc.args[1],
		    "the guest found %#lx wrong after the VMM dropped %#llx",
		    (unsigned long)uc.args[1], GPA + DROPPED);
	/*
	 * The 4K invalidation split the 2M mapping (the host's own split of
	 * its THP then invalidated the whole 2M, in Linux 6.1).
	 */
	TEST_ASSERT(huge < 0 || kvisor_vm_memory_counter("split ") > splits,
		    "dropping a 4K page of a 2M mapping split nothing");
	ksft_print_msg("a dropped 4K page reads as zeros, its neighbours kept\n");

	/* All dirty from the start: split, and writable until cleared. */
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	huge = kvisor_vm_memory_counter("mapped 2M ");
	k4 = kvisor_vm_memory_counter("mapped 4K ");
	splits = kvisor_vm_memory_counter("split ");
	set_flags(vm, KVM_MEM_LOG_DIRTY_PAGES);
	expect_split(huge, k4, splits, "logging on, initially set");
	memset(ones, 0xff, sizeof(ones));
	vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, &clear);
	run_to(vcpu, WRITE_ONE);
	expect_log(vm, nine, 1);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
}

int main(void)
{
	char text[8192];
	uint8_t *p, *mem;

	p = mmap(NULL, SIZE + HUGE_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap");
	mem = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));
	if (madvise(mem, SIZE, MADV_HUGEPAGE))
		ksft_exit_skip("the host gives no transparent huge pages\n");
	memset(mem, 1, SIZE);
	read_text_file("/proc/self/smaps_rollup", text, sizeof(text));
	if (text_counter(text, "AnonHugePages:") < SIZE / 1024)
		ksft_exit_skip("the host gave fewer transparent huge pages than asked\n");
	test_split(mem);
	ksft_exit_pass();
}
