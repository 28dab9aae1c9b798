// SPDX-License-Identifier: GPL-2.0
/*
 * mem_huge_1g: a slot backed by a 1 GiB hugetlbfs page is mapped by one
 * 1G nested leaf, and dirty logging on it still sees 4K pages.
 *
 * The slot is one 1 GiB page of the host (the test hosts reserve one at
 * boot: hugepagesz=1G hugepages=1), at a 1G-aligned guest-physical
 * address; the kernel aligns the hugetlbfs mapping to 1G too.  Only then
 * may a 1G leaf map it (kvisor_map_level() in module/mm/fault.c: the
 * leaf's whole range in the slot, guest and host addresses equally
 * aligned within it).  The guest reads a word the VMM wrote in every 2M
 * of the slot; after that the VM counts one more 1G mapping than before:
 * "mapped 1G" in the VM's memory file in kvisor's debugfs, or in-tree
 * KVM's VM statistic pages_1g.  The guest writes a word in every 64K,
 * which the VMM must read.  Then dirty logging goes on for the slot: the 1G mapping
 * goes, and after the guest writes every third 4K page of three 2M
 * windows (the slot's first, one in the middle, its last),
 * KVM_GET_DIRTY_LOG must name exactly those pages of the whole 1 GiB;
 * after it writes every fifth, exactly those.
 *
 * A host whose CPU has no 1G pages (no pdpe1gb, or on Intel no 1G EPT
 * pages) cannot map one: SKIP.  So is a host with no 1 GiB page free.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		PAGE_SIZE_1G		/* 1G-aligned */
#define SIZE		PAGE_SIZE_1G
#define NPAGES		(SIZE / PAGE_SIZE_4K)
#define PATTERN		0x6b7669736f72ULL
#define STRIDE		0x10000ULL		/* the guest writes every 64K */
#define WINDOW		PAGE_SIZE_2M
#define HUGE_1G_DIR	"/sys/kernel/mm/hugepages/hugepages-1048576kB/"

#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB	(30 << 26)		/* log2(1G) << MAP_HUGE_SHIFT */
#endif

/* Offsets in the slot of the windows where the guest writes while logged */
static const uint64_t windows[] = { 0, SIZE / 2 + 7 * WINDOW, SIZE - WINDOW };

static void guest_code(uint64_t base, uint64_t size)
{
	uint64_t off, sum = 0;
	unsigned int w;

	GUEST_SYNC(0);		/* the host counts mappings before ... */
	for (off = 0; off < size; off += PAGE_SIZE_2M)
		sum += *(volatile uint64_t *)(base + off);
	GUEST_SYNC(sum);	/* ... and after the guest read the slot */
	for (off = 0; off < size; off += STRIDE)
		*(volatile uint64_t *)(base + off + 8) = (base + off) ^ PATTERN;
	GUEST_SYNC(1);
	for (w = 0; w < ARRAY_SIZE(windows); w++)
		for (off = 0; off < WINDOW; off += 3 * PAGE_SIZE_4K)
			*(volatile uint64_t *)(base + windows[w] + off + 16) = off;
	GUEST_SYNC(2);
	for (w = 0; w < ARRAY_SIZE(windows); w++)
		for (off = 0; off < WINDOW; off += 5 * PAGE_SIZE_4K)
			*(volatile uint64_t *)(base + windows[w] + off + 24) = off;
	GUEST_DONE();
}

/* In-tree KVM's VM statistic @name (KVM_GET_STATS_FD), or -1. */
static long kvm_vm_stat(struct kvm_vm *vm, const char *name)
{
	struct kvm_stats_header hdr;
	struct kvm_stats_desc *d;
	size_t dsize;
	uint64_t val;
	long r = -1;
	uint8_t *descs;
	unsigned int i;
	int fd;

	fd = __vm_ioctl(vm, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -1;
	TEST_ASSERT(pread(fd, &hdr, sizeof(hdr), 0) == sizeof(hdr),
		    "stats header");
	dsize = sizeof(*d) + hdr.name_size;
	descs = calloc(hdr.num_desc, dsize);
	TEST_ASSERT(descs, "out of memory");
	TEST_ASSERT(pread(fd, descs, hdr.num_desc * dsize, hdr.desc_offset) ==
		    (ssize_t)(hdr.num_desc * dsize), "stats descriptors");
	for (i = 0; i < hdr.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		TEST_ASSERT(pread(fd, &val, sizeof(val),
				  hdr.data_offset + d->offset) == sizeof(val),
			    "stat %s", name);
		r = val;
	}
	free(descs);
	close(fd);
	return r;
}

/* The VM's 1G nested mappings: kvisor's debugfs, KVM's stat, else -1. */
static long mapped_1g(struct kvm_vm *vm)
{
	if (access(KVISOR_DEBUGFS, F_OK))
		return kvm_vm_stat(vm, "pages_1g");
	return kvisor_vm_memory_counter("mapped 1G ");
}

/* Is 4K page @i of the slot one the guest wrote, every @stride'th? */
static bool written(uint64_t i, unsigned int stride)
{
	uint64_t off = i * PAGE_SIZE_4K;
	unsigned int w;

	for (w = 0; w < ARRAY_SIZE(windows); w++)
		if (off >= windows[w] && off < windows[w] + WINDOW)
			return (off - windows[w]) % (stride * PAGE_SIZE_4K) == 0;
	return false;
}

static void expect_log(struct kvm_vm *vm, unsigned int stride)
{
	static uint64_t bitmap[NPAGES / 64];
	struct kvm_dirty_log log = { .slot = SLOT, .dirty_bitmap = bitmap };
	unsigned int n = 0;
	uint64_t i;

	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	for (i = 0; i < NPAGES; i++) {
		bool dirty = bitmap[i / 64] & (1ULL << (i % 64));

		TEST_ASSERT(dirty == written(i, stride),
			    "page %#lx (GPA %#lx) %s in the log (one page in %u of three 2M windows written)",
			    (unsigned long)i,
			    (unsigned long)(GPA + i * PAGE_SIZE_4K),
			    dirty ? "is" : "is not", stride);
		n += dirty;
	}
	ksft_print_msg("dirty log: exactly the %u pages written (one in %u)\n",
		       n, stride);
}

/* The first CPU's line @name of /proc/cpuinfo ("flags") lists @flag. */
static bool cpuinfo_has(const char *name, const char *flag)
{
	static char text[16384];
	size_t n = strlen(name);
	char *line, *end, *tok, *save;

	read_text_file("/proc/cpuinfo", text, sizeof(text));
	for (line = text;; line = end + 1) {
		end = strchrnul(line, '\n');
		if (!strncmp(line, name, n) &&
		    line[n + strspn(line + n, " \t")] == ':')
			break;
		if (!*end)
			return false;
	}
	*end = 0;
	for (tok = strtok_r(strchr(line, ':') + 1, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save))
		if (!strcmp(tok, flag))
			return true;
	return false;
}

static long huge_1g_read(const char *file)
{
	char text[32];

	read_text_file(file, text, sizeof(text));
	return strtol(text, NULL, 10);
}

static void huge_1g_set(long n)
{
	FILE *f = fopen(HUGE_1G_DIR "nr_hugepages", "w");

	TEST_ASSERT(f, "open " HUGE_1G_DIR "nr_hugepages");
	fprintf(f, "%ld\n", n);
	fclose(f);		/* a failed allocation shows in the count */
}

int main(void)
{
	long before, after, nr, added = 0;
	struct kvm_vcpu *vcpu;
	uint64_t off, sum = 0;
	struct kvm_vm *vm;
	uint8_t *mem;
	struct ucall uc;

	if (!cpuinfo_has("flags", "pdpe1gb"))
		ksft_exit_skip("the host CPU has no 1G pages (pdpe1gb)\n");
	if (cpuinfo_has("vmx flags", "ept") &&
	    !cpuinfo_has("vmx flags", "ept_1gb"))
		ksft_exit_skip("the host's EPT has no 1G pages (ept_1gb)\n");
	if (access(HUGE_1G_DIR, F_OK))
		ksft_exit_skip("the host kernel has no 1G hugetlb pages\n");
	/* Reserved at boot; else try now, which needs 1 GiB free in one piece */
	nr = huge_1g_read(HUGE_1G_DIR "nr_hugepages");
	if (huge_1g_read(HUGE_1G_DIR "free_hugepages") < 1) {
		huge_1g_set(nr + 1);
		added = huge_1g_read(HUGE_1G_DIR "nr_hugepages") - nr;
		if (huge_1g_read(HUGE_1G_DIR "free_hugepages") < 1) {
			huge_1g_set(nr);
			ksft_exit_skip("no free 1 GiB page (hugepagesz=1G hugepages=1)\n");
		}
	}

	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		   MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap of a 1 GiB hugetlbfs page");
	TEST_ASSERT(!((uintptr_t)mem & (SIZE - 1)),
		    "hugetlbfs mapping at %p is not 1G-aligned", mem);
	for (off = 0; off < SIZE; off += PAGE_SIZE_2M) {
		*(uint64_t *)(mem + off) = (GPA + off) ^ PATTERN;
		sum += (GPA + off) ^ PATTERN;
	}

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_2M);
	vm_userspace_mem_region_add_mem(vm, SLOT, GPA, mem, SIZE, 0);
	virt_map(vm, GPA, GPA, SIZE);
	vcpu_args_set(vcpu, 2, GPA, SIZE);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);
	before = mapped_1g(vm);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(uc.args[0] == sum,
		    "the guest read sum %#llx from the VMM's words, not %#llx",
		    (unsigned long long)uc.args[0], (unsigned long long)sum);
	after = mapped_1g(vm);
	ksft_print_msg("1G mappings %ld -> %ld after the guest read the slot%s\n",
		       before, after,
		       before < 0 ? " (neither kvisor's debugfs nor pages_1g)" : "");
	TEST_ASSERT(before < 0 || after >= before + 1,
		    "%ld 1G mappings before the guest read, %ld after",
		    before, after);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	for (off = 0; off < SIZE; off += STRIDE)
		TEST_ASSERT(*(uint64_t *)(mem + off + 8) == ((GPA + off) ^ PATTERN),
			    "the VMM reads %#llx at GPA %#llx, the guest wrote %#llx",
			    (unsigned long long)*(uint64_t *)(mem + off + 8),
			    (unsigned long long)(GPA + off + 8),
			    (unsigned long long)((GPA + off) ^ PATTERN));
	ksft_print_msg("the VMM reads what the guest wrote in every 64K\n");

	/* Logging maps 4K: the 1G mapping goes. */
	memslot2region(vm, SLOT)->region.flags = KVM_MEM_LOG_DIRTY_PAGES;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION,
		 &memslot2region(vm, SLOT)->region);
	after = mapped_1g(vm);
	ksft_print_msg("1G mappings with dirty logging on: %ld\n", after);
	TEST_ASSERT(after == before,
		    "%ld 1G mappings with dirty logging on, %ld before the guest touched the slot",
		    after, before);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	expect_log(vm, 3);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	expect_log(vm, 5);
	kvm_vm_free(vm);
	if (added)
		huge_1g_set(nr);
	ksft_exit_pass();
}
