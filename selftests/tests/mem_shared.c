// SPDX-License-Identifier: GPL-2.0
/*
 * mem_shared: guest memory that is a shared file keeps the guest's writes,
 * as under KVM (vhost-user and virtiofs give guests memory like this).
 * Four backings, each MAP_SHARED by the VMM and made a memslot:
 *  - a memfd and a file on tmpfs (both shmem: the test host is an
 *    initramfs, tmpfs is its own filesystem);
 *  - a file on ext4 (an ext2 filesystem, no journal) on a zram disk: a
 *    block filesystem with real writeback (where the host has ext4: the
 *    debug kernel has not, and the test says so);
 *  - a hugetlbfs memfd (2M pages).
 * For each: the guest reads all of it (zeros), then writes a pattern; the
 * VMM sees the pattern through a second mapping of the file and through
 * read() on a fresh fd (on the memfd's own fd for hugetlbfs, whose memfd
 * does not open again through /proc).  Then the VMM makes the host take the pages away
 * (below) and the guest must read its pattern back.  Then the VMM writes
 * the file (pwrite(), or a second mapping for hugetlbfs, which has no
 * write()) and the guest reads that; it punches a hole in the second half
 * and the guest reads zeros there; after MADV_DONTNEED of the whole slot
 * mapping the guest still reads the first half, which lives in the file.
 *
 * Taking the pages away is where a guest write must have made its page
 * dirty:
 *  - shmem: MADV_PAGEOUT (twice: the first pass only ages pages the guest
 *    used) must put at least half of the file in swap (on zram), and the
 *    guest then reads all of its pattern back.  This fails if guest writes
 *    through the nested tables do not mark the page dirty: the guest's
 *    first access was a read, which maps the shmem page writable in the
 *    VMM's page table but clean (a shared shmem mapping has no write
 *    notification), so the guest's write faults only in the nested table,
 *    finds the VMM's entry writable and leaves it clean.  Reclaim then sees
 *    a clean shmem page, and a clean shmem page is not written to swap but
 *    dropped (shrink_folio_list() on 6.1 calls pageout() only for dirty
 *    folios): the pages leave memory without reaching swap, and the guest
 *    reads zeros.  KVM marks the page dirty when it zaps a dirty (or, with
 *    no A/D bits, writable) nested entry; kvisor when it maps one writable.
 *  - ext4: fsync(), then a fresh O_DIRECT fd must read the pattern from
 *    the disk; the guest writes a second pattern, fsync() again, and the
 *    disk must hold the second one.  Writeback write-protects the VMM's
 *    mapping of the pages it cleans (page_mkclean(), an MMU notifier
 *    invalidation), so the guest's second write must fault again and go
 *    through page_mkwrite(), which dirties the page; a nested mapping that
 *    survived the first fsync() would let the second write reach a clean
 *    page, and the second fsync() would not write it.  Then MADV_PAGEOUT
 *    (twice) drops at least half of the clean pages from the page cache,
 *    and the guest reads its second pattern back from the disk.
 *  - hugetlbfs: its pages are never reclaimed; nothing to take away.
 * Both failures were seen with kvisor changed on purpose: without the
 * set_page_dirty_lock() of a writable mapping (module/mm/fault.c), 8192 kB
 * of the memfd left memory and none reached swap; with invalidations of
 * kind MMU_NOTIFY_PROTECTION_PAGE ignored, the disk held the first
 * pattern after the second fsync().
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_util.h"
#include "kmod.h"
#include "zram.h"

#define SLOT		1
#define GPA		0x40000000ULL
#define STEP		512		/* the guest uses 8 words of each page */
#define MIB		(1024 * 1024ULL)
#define EXT4_DIR	"/tmp/mem_shared.ext4"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB	4
#endif

enum guest_op { OP_READ, OP_WRITE, OP_CHECK };

/* What the guest does next: set by the host in the guest's copy. */
static struct mbox {
	uint64_t op, gpa, npages, seed;
} mbox;

/* The word at @addr in pattern @seed; seed 0 is all zeros. */
static uint64_t pattern(uint64_t addr, uint64_t seed)
{
	return seed ? (addr * 0x9e3779b97f4a7c15ULL) ^ seed : 0;
}

/*
 * OP_READ: the sum of the words; OP_WRITE: pattern mbox.seed;
 * OP_CHECK: how many words differ from it, and the first of them.
 */
static void guest_code(void)
{
	volatile struct mbox *m = &mbox;
	uint64_t r = 0, bad = 0, addr, v;

	for (;;) {
		GUEST_SYNC2(r, bad);
		r = 0;
		bad = 0;
		for (addr = m->gpa; addr < m->gpa + m->npages * 4096;
		     addr += STEP) {
			volatile uint64_t *p = (volatile uint64_t *)addr;

			switch (m->op) {
			case OP_READ:
				r += *p;
				break;
			case OP_WRITE:
				*p = pattern(addr, m->seed);
				break;
			case OP_CHECK:
				v = *p;
				if (v != pattern(addr, m->seed) && !r++)
					bad = addr;
				break;
			}
		}
	}
}

struct backing {
	const char *name;
	int fd;
	uint64_t size;
	char path[64];		/* to open again, or "": read its fd */
	bool hugetlb;		/* no write(); never reclaimed */
	bool disk;		/* ext4: writeback */
};

struct run {
	struct backing *b;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *mem;		/* the slot: the VMM's MAP_SHARED mapping */
	uint64_t npages;
};

static uint64_t guest_do(struct run *r, enum guest_op op, uint64_t first,
			 uint64_t npages, uint64_t seed, uint64_t *bad)
{
	struct ucall uc;

	mbox = (struct mbox){ op, GPA + first * 4096, npages, seed };
	sync_global_to_guest(r->vm, mbox);
	vcpu_run_ucall(r->vcpu, UCALL_SYNC, &uc);
	if (bad)
		*bad = uc.args[1];
	return uc.args[0];
}

/* The guest reads pattern @seed in pages [@first, @first + @npages). */
static void guest_expects(struct run *r, uint64_t first, uint64_t npages,
			  uint64_t seed, const char *when)
{
	uint64_t bad, n = guest_do(r, OP_CHECK, first, npages, seed, &bad);

	TEST_ASSERT(!n, "%s: %s: the guest reads %lu words wrong, first at GPA %#lx (not %#lx)",
		    r->b->name, when,
		    (unsigned long)n, (unsigned long)bad,
		    (unsigned long)pattern(bad, seed));
}

/* How many words of @buf, GPA @first page on, differ from @seed. */
static uint64_t host_check(const uint8_t *buf, uint64_t first, uint64_t npages,
			   uint64_t seed, uint64_t *bad)
{
	uint64_t off, n = 0, gpa = GPA + first * 4096;

	for (off = 0; off < npages * 4096; off += STEP)
		if (*(const uint64_t *)(buf + off) != pattern(gpa + off, seed) &&
		    !n++)
			*bad = gpa + off;
	return n;
}

static void host_fill(uint8_t *buf, uint64_t npages, uint64_t seed)
{
	uint64_t off;

	memset(buf, 0, npages * 4096);
	for (off = 0; off < npages * 4096; off += STEP)
		*(uint64_t *)(buf + off) = pattern(GPA + off, seed);
}

static void expect_buf(struct run *r, const uint8_t *buf, uint64_t seed,
		       const char *how)
{
	uint64_t bad = 0, n = host_check(buf, 0, r->npages, seed, &bad);

	TEST_ASSERT(!n, "%s: %lu words wrong through %s, first at GPA %#lx: %#lx, not %#lx",
		    r->b->name, (unsigned long)n, how, (unsigned long)bad,
		    (unsigned long)*(const uint64_t *)(buf + bad - GPA),
		    (unsigned long)pattern(bad, seed));
}

/* The whole file through a new fd (O_DIRECT: from the disk). */
static void expect_file(struct run *r, uint64_t seed, int flags,
			const char *how)
{
	uint8_t *buf = mmap(NULL, r->b->size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = r->b->path[0] ? open(r->b->path, O_RDONLY | flags) : r->b->fd;

	TEST_ASSERT(buf != MAP_FAILED, "mmap");
	TEST_ASSERT(fd >= 0, "open %s", r->b->path);
	TEST_ASSERT(pread(fd, buf, r->b->size, 0) == (ssize_t)r->b->size,
		    "%s: read of %s", r->b->name, how);
	if (fd != r->b->fd)
		close(fd);
	expect_buf(r, buf, seed, how);
	munmap(buf, r->b->size);
}

/* Through a second mapping of the file. */
static void expect_mapping(struct run *r, uint64_t seed)
{
	uint8_t *p = mmap(NULL, r->b->size, PROT_READ, MAP_SHARED, r->b->fd, 0);

	TEST_ASSERT(p != MAP_FAILED, "%s: second mmap", r->b->name);
	expect_buf(r, p, seed, "a second mapping");
	munmap(p, r->b->size);
}

/* How much of the slot mapping is in memory (mincore: the page cache). */
static unsigned long resident_kb(struct run *r)
{
	static unsigned char vec[64 * MIB / 4096];
	unsigned long i, n = 0;

	TEST_ASSERT(!mincore(r->mem, r->b->size, vec), "mincore");
	for (i = 0; i < r->npages; i++)
		n += vec[i] & 1;
	return n * 4;
}

/* "Swap:" of the slot mapping in /proc/self/smaps: shmem in swap. */
static unsigned long swap_kb(struct run *r)
{
	static char text[1 << 18];
	char head[32];
	const char *p;

	read_text_file("/proc/self/smaps", text, sizeof(text));
	snprintf(head, sizeof(head), "\n%lx-", (unsigned long)r->mem);
	p = strstr(text, head);
	TEST_ASSERT(p, "no mapping %p in /proc/self/smaps", r->mem);
	return text_counter(p, "\nSwap:");
}

static void pageout(struct run *r)
{
	TEST_ASSERT(!madvise(r->mem, r->b->size, MADV_PAGEOUT),
		    "%s: MADV_PAGEOUT", r->b->name);
	TEST_ASSERT(!madvise(r->mem, r->b->size, MADV_PAGEOUT),
		    "%s: MADV_PAGEOUT", r->b->name);
}

/* shmem: reclaim puts the guest's pages in swap, not away. */
static void through_swap(struct run *r, uint64_t seed)
{
	unsigned long kb = r->b->size >> 10, swap0 = swap_kb(r), res, swapped;

	pageout(r);
	res = resident_kb(r);
	swapped = swap_kb(r) - swap0;
	ksft_print_msg("%s: after MADV_PAGEOUT %lu of %lu kB resident, %lu kB in swap\n",
		       r->b->name, res, kb, swapped);
	TEST_ASSERT(res <= kb / 2, "%s: reclaim left %lu of %lu kB resident",
		    r->b->name, res, kb);
	TEST_ASSERT(swapped >= kb / 2,
		    "%s: %lu kB left memory, only %lu kB of it went to swap: reclaim found the guest's pages clean and dropped them (guest writes through the nested tables did not dirty them)",
		    r->b->name, kb - res, swapped);
	guest_expects(r, 0, r->npages, seed, "back from swap");
}

/* ext4: writeback stores the guest's writes, also those after a writeback. */
static uint64_t through_disk(struct run *r, uint64_t seed)
{
	unsigned long kb = r->b->size >> 10, res;

	TEST_ASSERT(!fsync(r->b->fd), "fsync");
	expect_file(r, seed, O_DIRECT, "O_DIRECT after fsync");
	guest_do(r, OP_WRITE, 0, r->npages, seed + 1, NULL);
	TEST_ASSERT(!fsync(r->b->fd), "fsync");
	expect_file(r, seed + 1, O_DIRECT,
		    "O_DIRECT after the guest wrote again and fsync");
	ksft_print_msg("%s: the disk holds the guest's writes, before and after a writeback\n",
		       r->b->name);
	pageout(r);
	res = resident_kb(r);
	ksft_print_msg("%s: after MADV_PAGEOUT %lu of %lu kB in the page cache\n",
		       r->b->name, res, kb);
	TEST_ASSERT(res <= kb / 2, "%s: reclaim left %lu of %lu kB cached",
		    r->b->name, res, kb);
	guest_expects(r, 0, r->npages, seed + 1, "read back from the disk");
	return seed + 1;
}

/* The VMM writes pattern @seed into the file. */
static void vmm_write(struct run *r, uint64_t seed)
{
	uint8_t *p;

	if (r->b->hugetlb) {
		p = mmap(NULL, r->b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 r->b->fd, 0);
		TEST_ASSERT(p != MAP_FAILED, "mmap");
		host_fill(p, r->npages, seed);
		munmap(p, r->b->size);
		return;
	}
	p = malloc(r->b->size);
	TEST_ASSERT(p, "out of memory");
	host_fill(p, r->npages, seed);
	TEST_ASSERT(pwrite(r->b->fd, p, r->b->size, 0) == (ssize_t)r->b->size,
		    "%s: pwrite", r->b->name);
	free(p);
}

static void run_backing(struct backing *b)
{
	uint64_t half, seed = 0x5eed0000 + b->fd;
	struct run r = { .b = b, .npages = b->size / 4096 };
	int rc;

	r.mem = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	TEST_ASSERT(r.mem != MAP_FAILED, "%s: mmap", b->name);
	r.vm = vm_create_with_one_vcpu(&r.vcpu, guest_code, VM_MODE_LONG_2M);
	vm_userspace_mem_region_add_mem(r.vm, SLOT, GPA, r.mem, b->size, 0);
	virt_map(r.vm, GPA, GPA, b->size);
	vcpu_run_ucall(r.vcpu, UCALL_SYNC, NULL);

	/* A read first: the VMM's page table maps shmem pages clean. */
	TEST_ASSERT_EQ(guest_do(&r, OP_READ, 0, r.npages, 0, NULL), 0);
	guest_do(&r, OP_WRITE, 0, r.npages, seed, NULL);
	expect_mapping(&r, seed);
	expect_file(&r, seed, 0, b->path[0] ? "read() on a fresh fd" : "read()");
	ksft_print_msg("%s: the VMM sees the guest's writes\n", b->name);

	if (b->disk)
		seed = through_disk(&r, seed);
	else if (!b->hugetlb)
		through_swap(&r, seed);
	else
		ksft_print_msg("%s: its pages are not reclaimed\n", b->name);

	seed += 2;
	vmm_write(&r, seed);
	guest_expects(&r, 0, r.npages, seed, "after the VMM wrote the file");

	half = r.npages / 2;
	rc = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       half * 4096, half * 4096);
	if (rc && errno == EOPNOTSUPP) {
		/* ext4 on an ext2 layout (no extents) punches no holes */
		TEST_ASSERT(!ftruncate(b->fd, half * 4096) &&
			    !ftruncate(b->fd, b->size), "ftruncate");
		ksft_print_msg("%s: no hole punching, truncated instead\n",
			       b->name);
	} else {
		TEST_ASSERT(!rc, "%s: fallocate(PUNCH_HOLE)", b->name);
	}
	guest_expects(&r, 0, half, seed, "the first half, after the hole");
	guest_expects(&r, half, half, 0, "the hole");
	TEST_ASSERT(!madvise(r.mem, b->size, MADV_DONTNEED), "MADV_DONTNEED");
	guest_expects(&r, 0, half, seed, "after MADV_DONTNEED");
	guest_expects(&r, half, half, 0, "the hole after MADV_DONTNEED");
	ksft_print_msg("%s: the guest sees the VMM's writes, the hole, its data after DONTNEED\n",
		       b->name);
	kvm_vm_free(r.vm);
}

static void backing_file(struct backing *b, const char *name,
			 const char *path, uint64_t size, bool disk)
{
	uint8_t *zeros;

	*b = (struct backing){ .name = name, .size = size, .disk = disk };
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(b->fd >= 0, "open %s", path);
	if (!disk) {
		TEST_ASSERT(!ftruncate(b->fd, size), "ftruncate %s", path);
		return;
	}
	/* blocks allocated on the disk up front, as a VMM's image file */
	zeros = calloc(1, size);
	TEST_ASSERT(zeros, "out of memory");
	TEST_ASSERT(pwrite(b->fd, zeros, size, 0) == (ssize_t)size &&
		    !fsync(b->fd), "write %s", path);
	free(zeros);
}

static void backing_memfd(struct backing *b, const char *name, uint64_t size,
			  unsigned int flags)
{
	*b = (struct backing){ .name = name, .size = size,
			       .hugetlb = flags & MFD_HUGETLB };
	b->fd = memfd_create(name, flags);
	TEST_ASSERT(b->fd >= 0, "memfd_create %s", name);
	TEST_ASSERT(!ftruncate(b->fd, size), "ftruncate %s", name);
	/* (a hugetlbfs memfd does not open again through /proc: EINVAL) */
	if (!b->hugetlb)
		snprintf(b->path, sizeof(b->path), "/proc/self/fd/%d", b->fd);
}

static long hugepages_2m(long set)
{
	char text[32];
	FILE *f;

	if (set >= 0) {
		f = fopen("/proc/sys/vm/nr_hugepages", "w");
		TEST_ASSERT(f, "open /proc/sys/vm/nr_hugepages");
		fprintf(f, "%ld\n", set);
		fclose(f);
	}
	read_text_file("/proc/sys/vm/nr_hugepages", text, sizeof(text));
	return strtol(text, NULL, 10);
}

/* ext4 on a zram disk at EXT4_DIR: the zram device, or -1 where none. */
static int ext4_mount(void)
{
	char cmd[128];
	int dev;

	kmod_load_listed("fs");		/* none where ext4 is built in */
	dev = zram_get(32 * MIB);
	snprintf(cmd, sizeof(cmd), "mke2fs -b 4096 /dev/zram%d >/dev/null",
		 dev);
	TEST_ASSERT(!system(cmd), "%s", cmd);
	mkdir(EXT4_DIR, 0700);
	snprintf(cmd, sizeof(cmd), "/dev/zram%d", dev);
	if (mount(cmd, EXT4_DIR, "ext4", 0, NULL)) {
		ksft_print_msg("ext4: no mount of %s (%s): tmpfs only\n", cmd,
			       strerror(errno));
		zram_put(dev);
		return -1;
	}
	return dev;
}

int main(void)
{
	struct backing b;
	long huge0;
	int swap, disk;

	swap = zram_swap_on(64 * MIB);

	backing_memfd(&b, "memfd", 8 * MIB, 0);
	run_backing(&b);
	close(b.fd);

	backing_file(&b, "tmpfs file", "/tmp/mem_shared.tmpfs", 4 * MIB, false);
	run_backing(&b);
	close(b.fd);
	unlink(b.path);

	disk = ext4_mount();
	if (disk >= 0) {
		backing_file(&b, "ext4 file", EXT4_DIR "/guest", 8 * MIB, true);
		run_backing(&b);
		close(b.fd);
		TEST_ASSERT(!umount(EXT4_DIR), "umount " EXT4_DIR);
		zram_put(disk);
	}

	/* hugetlbfs: the pages are reserved here and given back after */
	huge0 = hugepages_2m(-1);
	if (hugepages_2m(huge0 + 4) < huge0 + 4) {
		ksft_print_msg("hugetlbfs: no 2M pages to reserve, not tried\n");
	} else {
		backing_memfd(&b, "hugetlbfs memfd", 8 * MIB, MFD_HUGETLB);
		run_backing(&b);
		close(b.fd);
	}
	hugepages_2m(huge0);

	zram_swap_off(swap);
	ksft_exit_pass();
}
