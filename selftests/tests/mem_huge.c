// SPDX-License-Identifier: GPL-2.0
/*
 * mem_huge: where the host backs guest memory with huge pages, kvisor's
 * nested mappings are huge too, and dirty logging still sees 4K pages.
 *
 * For a slot of transparent huge pages, then one of hugetlbfs pages
 * (where the host can reserve them): the guest reads all of it, and
 * kvisor's debugfs must count more 2M mappings than before.  Then dirty
 * logging is switched on for the slot: the 2M mappings go, and after the
 * guest writes every third 4K page, KVM_GET_DIRTY_LOG must name exactly
 * those; after it writes every fifth, exactly those.
 *
 * The guest-visible half runs on in-tree KVM too; the counts are read
 * only where kvisor's debugfs is there.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x40000000ULL
#define SIZE		0x2000000ULL		/* 32 MiB */
#define NPAGES		(SIZE / 4096)
#define HUGE_2M		0x200000ULL

static void guest_code(uint64_t base, uint64_t size)
{
	uint64_t gpa, sum = 0;

	GUEST_SYNC(0);		/* the host counts mappings before ... */
	for (gpa = base; gpa < base + size; gpa += 4096)
		sum += *(volatile uint64_t *)gpa;
	GUEST_SYNC(sum);	/* ... and after the guest read the slot */
	for (gpa = base; gpa < base + size; gpa += 3 * 4096)
		*(volatile uint64_t *)gpa = gpa;
	GUEST_SYNC(2);
	for (gpa = base; gpa < base + size; gpa += 5 * 4096)
		*(volatile uint64_t *)(gpa + 8) = gpa;
	GUEST_DONE();
}

/* "mapped 2M" in kvisor's debugfs, or -1 on in-tree KVM. */
static long mapped_2m(void)
{
	return kvisor_vm_memory_counter("mapped 2M ");
}

static void expect_log(struct kvm_vm *vm, unsigned int stride,
		       unsigned int first)
{
	static uint64_t bitmap[NPAGES / 64];
	struct kvm_dirty_log log = { .slot = SLOT, .dirty_bitmap = bitmap };
	unsigned int i;

	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	for (i = 0; i < NPAGES; i++) {
		bool dirty = bitmap[i / 64] & (1ULL << (i % 64));

		TEST_ASSERT(dirty == (i % stride == first % stride),
			    "page %u %s in the log (every %uth page written)",
			    i, dirty ? "is" : "is not", stride);
	}
}

/* @mem: SIZE bytes the host backs with huge pages, 2M-aligned. */
static void check_slot(uint8_t *mem, const char *what)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	long before, after;
	uint64_t i;

	/* The host's huge pages exist before the guest looks. */
	for (i = 0; i < SIZE; i += 4096)
		mem[i + 16] = 1;
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_2M);
	vm_userspace_mem_region_add_mem(vm, SLOT, GPA, mem, SIZE, 0);
	virt_map(vm, GPA, GPA, SIZE);
	vcpu_args_set(vcpu, 2, GPA, SIZE);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);
	before = mapped_2m();
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);
	after = mapped_2m();
	TEST_ASSERT(after >= before + 1 || before < 0,
		    "%s: %ld 2M mappings before the guest read, %ld after",
		    what, before, after);
	ksft_print_msg("%s: 2M mappings %ld -> %ld\n", what, before, after);

	/* Logging maps 4K: the slot's 2M mappings go. */
	memslot2region(vm, SLOT)->region.flags = KVM_MEM_LOG_DIRTY_PAGES;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION,
		 &memslot2region(vm, SLOT)->region);
	TEST_ASSERT_EQ(mapped_2m(), before);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	expect_log(vm, 3, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	expect_log(vm, 5, 0);
	ksft_print_msg("%s: dirty log exact at 4K\n", what);
	kvm_vm_free(vm);
}

/*
 * SIZE bytes at a 2M boundary.  A hugetlbfs mapping is aligned to its
 * page size by the kernel, so it is mapped exact: over-mapping and then
 * unmapping part of it (kvm_vm_free() unmaps SIZE) splits the VMA, and
 * Debian's 6.1 splits hugetlb VMAs before it takes the i_mmap lock that
 * hugetlb_split() asserts (lockdep warns, in make check-debug).
 */
static uint8_t *map_aligned(int flags)
{
	size_t len = flags & MAP_HUGETLB ? SIZE : SIZE + HUGE_2M;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	return (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));
}

static bool host_has_thp(uint8_t *mem)
{
	char text[8192];

	mem[16] = 1;
	read_text_file("/proc/self/smaps_rollup", text, sizeof(text));
	return text_counter(text, "AnonHugePages:") > 0;
}

static void set_nr_hugepages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

	if (f) {
		fprintf(f, "%ld\n", n);
		fclose(f);
	}
}

int main(void)
{
	uint8_t *mem;

	mem = map_aligned(0);
	TEST_ASSERT(mem, "mmap");
	if (madvise(mem, SIZE, MADV_HUGEPAGE) || !host_has_thp(mem))
		ksft_exit_skip("the host gives no transparent huge pages\n");
	check_slot(mem, "THP");

	/* hugetlbfs: the pages are reserved here and given back after. */
	set_nr_hugepages(SIZE / HUGE_2M + 2);
	mem = map_aligned(MAP_HUGETLB);
	if (!mem) {
		ksft_print_msg("hugetlbfs: no 2M pages to reserve, not tried\n");
	} else {
		check_slot(mem, "hugetlbfs");
	}
	set_nr_hugepages(0);
	ksft_exit_pass();
}
