// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl: an ioctl fuzzer that knows the /dev/kvm ABI.
 *
 * Several threads do random operations on a shared table of file
 * descriptors (the system fd, VMs, vCPUs, eventfds, stats fds) and guest
 * memory mappings: every ioctl kvisor implements, with structured random
 * arguments (mostly a mutation of the value a GET just returned), unknown
 * ioctl numbers and wrong sizes, argument pointers that are NULL, unmapped,
 * read-only, in the kernel or straddle into an unmapped page, and the
 * syscalls around them (close, mmap of a vCPU, munmap of guest memory,
 * eventfd writes, fork).  Thread 0 mostly runs vCPUs, so KVM_RUN races
 * memslot changes, closes, irqfd deassigns and munmaps.
 *
 * The run is fixed by FUZZ_SEED and FUZZ_COUNT (include/fuzz.h; the count
 * is the number of operations of all threads together); only the threads'
 * interleaving is not.  It fails when the kernel logs a report (the test
 * host's runner checks), when the process dies of a signal it did not
 * expect or hangs, or when one of the few answers the ABI fixes is wrong:
 * EFAULT for an argument a handler must copy in first, EINVAL/ENOTTY for
 * ioctl numbers KVM does not have, EIO for a VM used from a forked child.
 *
 * Everything stays bounded, for a host of 1.5 GiB: at most 4 VMs and 12
 * vCPUs in the table, 8 vCPUs created per VM, 64 MiB of guest memory,
 * memslots of at most 16 GiB (a dirty bitmap is allocated for any slot
 * that may log), and every KVM_RUN ends within ~2 ms: each thread has a
 * POSIX timer sending it SIGUSR1 (handler without SA_RESTART).
 *
 * Memory safety of the fuzzer itself: every address a memslot can cover
 * lies in one PROT_NONE reservation of 2 TiB at a fixed address, where
 * only guest memory, vCPU mappings and scratch mappings live, so a guest
 * (or a dirty log) can never write the fuzzer's own data.  Arguments are
 * built at the end of a per-thread arena followed by a guard page, so a
 * kernel that writes more than it should hits the guard (EFAULT) rather
 * than the fuzzer.
 *
 * The vCPU operations and KVM_RUN are in fuzz_ioctl/vcpu.c, the builders of
 * structured arguments in lib/fuzz_args.c.  In the svm test host the test
 * keeps clear of QEMU's own bugs (avoid_qemu_lme_msrs()).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "fuzz.h"
#include "fuzz_args.h"
#include "fuzz_ioctl/fuzz_ioctl.h"
#include "kvm_util.h"
#include "qemu_quirks.h"
#include "test_util.h"

static const char *const op_names[NR_OPS] = {
#define X(n) #n,
	IOCTLS(X)
	OTHER_OPS(X)
#undef X
};

#define NR_ERRNO	134
static _Atomic uint64_t op_calls[NR_OPS], op_ok[NR_OPS];
static _Atomic uint64_t op_errno[NR_OPS][NR_ERRNO + 1];

static uint64_t seed, count;
static _Atomic uint64_t done;		/* operations started, all threads */

/* ------------------------------------------------------------------ */
/* The shared table                                                     */

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm_ent vms[MAX_VMS];
struct vcpu_ent vcpus[MAX_VCPUS];
static int eventfds[MAX_EVENTFDS];
static int statsfds[MAX_STATSFDS];
static struct map_ent maps[NMAPS];
static int kvm_fd, mmap_size;

/* Known-good contents to mutate. */
struct supported_cpuid supported_cpuid;
uint32_t msr_list[1024];
unsigned int nr_msr_list;

/* ------------------------------------------------------------------ */
/* Threads                                                              */

static struct th ths[NTHREADS];
__thread struct th *self;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# FAIL: ");
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# reproduce: FUZZ_SEED=%#llx FUZZ_COUNT=%llu ./fuzz_ioctl\n",
	       (unsigned long long)seed, (unsigned long long)count);
	fflush(stdout);
	_exit(KSFT_FAIL);
}

static void on_tick(int sig)
{
	(void)sig;
}

/* SIGSEGV/SIGBUS: expected only inside a guarded touch of a mapping. */
static void on_fault(int sig)
{
	char msg[160];
	int n;

	if (self && self->guarded)
		siglongjmp(self->jb, sig);
	n = snprintf(msg, sizeof(msg),
		     "# FAIL: fuzzer got signal %d; reproduce: FUZZ_SEED=%#llx FUZZ_COUNT=%llu ./fuzz_ioctl\n",
		     sig, (unsigned long long)seed, (unsigned long long)count);
	if (write(1, msg, n) < 0)
		n = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void record(int op, long ret, int err)
{
	atomic_fetch_add_explicit(&op_calls[op], 1, memory_order_relaxed);
	if (ret >= 0)
		atomic_fetch_add_explicit(&op_ok[op], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&op_errno[op][err > NR_ERRNO ?
					  NR_ERRNO : err], 1,
					  memory_order_relaxed);
}

/*
 * FUZZ_TRACE=1: every operation on stderr, unbuffered, before it is done,
 * so that the last lines before a host hangs name what each thread did.
 */
static int trace;

/*
 * FUZZ_SKIP=KVM_SET_GUEST_DEBUG,KVM_SMI,...: ioctls not to issue (each
 * fails with EPERM, uncounted), to narrow down what a failure needs.
 */
static bool skip[NR_OPS];

static void parse_skip(void)
{
	const char *v = getenv("FUZZ_SKIP");
	int op;

	for (op = 0; v && op < NR_OPS; op++) {
		const char *p = v;
		size_t n = strlen(op_names[op]);

		while ((p = strstr(p, op_names[op]))) {
			if ((p == v || p[-1] == ',') && (!p[n] || p[n] == ','))
				skip[op] = true;
			p += n;
		}
		if (skip[op])
			printf("# fuzz: skipping %s\n", op_names[op]);
	}
}

static void trace_op(int op, int fd, unsigned long req, unsigned long arg)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "T%d %s fd %d req %#lx arg %#lx\n",
		     self->id, op_names[op], fd, req, arg);
	if (write(2, line, n) < 0)
		trace = 0;
}

/* Every operation counts toward FUZZ_COUNT. */
long xio(int op, int fd, unsigned long req, unsigned long arg)
{
	long r;
	int err;

	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
	if (skip[op]) {
		errno = EPERM;
		return -1;
	}
	if (trace)
		trace_op(op, fd, req, arg);
	errno = 0;
	r = ioctl(fd, req, arg);
	err = errno;
	record(op, r, err);
	errno = err;
	return r;
}

long xio_p(int op, int fd, unsigned long req, void *arg)
{
	return xio(op, fd, req, (unsigned long)arg);
}

void count_op(int op, long ret)
{
	int err = errno;

	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
	if (trace)
		trace_op(op, -1, 0, ret);
	record(op, ret, err);
	errno = err;
}

/* ------------------------------------------------------------------ */
/* Picking objects                                                      */

/* A VM fd: mostly a live one, sometimes something else entirely. */
static int pick_vm(void)
{
	int i, fd = -1;

	if (one_in(64))
		return (int[]){ -1, 1000, kvm_fd, eventfds[0] }[rnd(4)];
	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < 4 && fd < 0; i++)
		fd = vms[one_in(2) ? 0 : rnd(MAX_VMS)].fd;
	pthread_mutex_unlock(&tab_lock);
	return fd < 0 ? vms[0].fd : fd;
}

/* A vCPU's table index, mostly the permanent one 0. */
int pick_vcpu_idx(void)
{
	int i, idx;

	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < 4; i++) {
		idx = one_in(2) ? 0 : rnd(MAX_VCPUS);
		if (vcpus[idx].fd >= 0)
			break;
	}
	if (vcpus[idx].fd < 0)
		idx = 0;
	pthread_mutex_unlock(&tab_lock);
	return idx;
}

int pick_vcpu(void)
{
	if (one_in(64))
		return (int[]){ -1, 1000, kvm_fd, vms[0].fd }[rnd(4)];
	return vcpus[pick_vcpu_idx()].fd;
}

struct kvm_run *run_of(int idx)
{
	return (struct kvm_run *)(RUN_AREA + idx * RUN_STRIDE);
}

static int pick_eventfd(void)
{
	int fd;

	if (one_in(16))
		return (int[]){ -1, 1000, kvm_fd, vms[0].fd }[rnd(4)];
	fd = eventfds[rnd(MAX_EVENTFDS)];
	return fd < 0 ? eventfds[0] : fd;
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */

/* Room for @size bytes that ends at the guard page. */
void *at_end(size_t size)
{
	if (size > ARENA_SIZE)
		size = ARENA_SIZE;
	return self->end - size;
}

/*
 * Where an argument of @size bytes goes: mostly @good, sometimes a
 * pointer no kernel may use.  *bad says whether it is one.
 */
void *maybe_bad(void *good, size_t size, int out, int *bad)
{
	*bad = 1;
	if (!one_in(12)) {
		*bad = 0;
		return good;
	}
	switch (rnd(out ? 6 : 5)) {
	case 0:
		return NULL;
	case 1:
		return self->end;				/* unmapped */
	case 2:	/* straddles into the guard */
		return self->end - (size > 1 ? 1 + rnd(size - 1) : 0);
	case 3:
		return (void *)0xffff888000000000UL;		/* kernel */
	case 4:
		return (void *)0x0000800000000000UL;		/* non-canonical */
	default:
		return self->ro;				/* read-only */
	}
}

/* Mutate @size bytes at @p: a few bit flips, fields, or all random. */
void mutate(void *p, size_t size)
{
	fuzz_mutate(&self->rng, p, size);
}

/* ------------------------------------------------------------------ */
/* System fd                                                            */

static void op_system(void)
{
	int fd = one_in(16) ? vms[0].fd : kvm_fd;
	unsigned int n;
	void *p;
	int bad;

	switch (rnd(9)) {
	case 0:
		xio(OP_KVM_GET_API_VERSION, fd, KVM_GET_API_VERSION,
		    one_in(4) ? interesting() : 0);
		break;
	case 1:
		xio(OP_KVM_CHECK_EXTENSION, fd, KVM_CHECK_EXTENSION,
		    one_in(4) ? interesting() : rnd(260));
		break;
	case 2:
		xio(OP_KVM_GET_VCPU_MMAP_SIZE, fd, KVM_GET_VCPU_MMAP_SIZE,
		    one_in(4) ? interesting() : 0);
		break;
	case 3:
	case 4: {
		struct kvm_cpuid2 *c;
		unsigned long req = one_in(2) ? KVM_GET_SUPPORTED_CPUID :
					KVM_GET_EMULATED_CPUID;

		n = one_in(4) ? interesting() : rnd(300);
		c = at_end(sizeof(*c) + (n > 300 ? 300 : n) * sizeof(c->entries[0]));
		c->nent = n;
		p = maybe_bad(c, sizeof(*c), 1, &bad);
		xio_p(req == KVM_GET_SUPPORTED_CPUID ? OP_KVM_GET_SUPPORTED_CPUID :
		      OP_KVM_GET_EMULATED_CPUID, fd, req, p);
		break;
	}
	case 5:
	case 6: {
		struct kvm_msr_list *l;
		int feat = one_in(2);

		n = one_in(4) ? interesting() : rnd(200);
		l = at_end(sizeof(*l) + (n > 4096 ? 4096 : n) * 4);
		l->nmsrs = n;
		p = maybe_bad(l, sizeof(*l), 1, &bad);
		xio_p(feat ? OP_KVM_GET_MSR_FEATURE_INDEX_LIST :
		      OP_KVM_GET_MSR_INDEX_LIST, fd,
		      feat ? KVM_GET_MSR_FEATURE_INDEX_LIST :
		      KVM_GET_MSR_INDEX_LIST, p);
		break;
	}
	case 7: {
		struct kvm_msrs *m;
		unsigned int i;

		n = one_in(8) ? interesting() : rnd(20);
		m = at_end(sizeof(*m) + (n > 64 ? 64 : n) * sizeof(m->entries[0]));
		m->nmsrs = n;
		for (i = 0; i < n && i < 64; i++) {
			m->entries[i].index = one_in(2) ? 0x480 + rnd(0x14) :
				fuzz_msr_index(&self->rng, NULL, 0);
			m->entries[i].reserved = one_in(8) ? r64() : 0;
		}
		p = maybe_bad(m, sizeof(*m), 1, &bad);
		xio_p(OP_KVM_GET_MSRS, fd, KVM_GET_MSRS, p);
		break;
	}
	default:
		p = maybe_bad(at_end(8), 8, 1, &bad);
		xio_p(OP_KVM_X86_GET_MCE_CAP_SUPPORTED, fd,
		      KVM_X86_GET_MCE_CAP_SUPPORTED, p);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Guest memory                                                         */

/* A slot number: mostly small, sometimes an edge or an address space. */
static uint32_t pick_slot(void)
{
	switch (rnd(10)) {
	case 0:
		return (uint32_t[]){ 32763, 32764, 32767, 32768, 65535,
				     0x10000, 0x10001, 0x20000, 0xffffffff,
				     0x7fff0000 }[rnd(10)];
	case 1:
		return (1 + rnd(3)) << 16 | rnd(8);
	default:
		return rnd(24);
	}
}

static uint64_t pick_gpa(void)
{
	switch (rnd(10)) {
	case 0:
		return 0;
	case 1:
		return 0x100000000UL - (1 + rnd(16)) * PG;	/* near 4G */
	case 2:
		return 0xfff00000UL;
	case 3:	/* near the top of the guest-physical space */
		return (1UL << (36 + rnd(17))) - (1 + rnd(4)) * PG * (one_in(2) ? 512 : 1);
	case 4:
		return interesting() & (one_in(2) ? ~0UL : ~0xfffUL);
	case 5:
		return (rnd(1UL << 32) & ~0xfffUL) | (one_in(4) ? rnd(PG) : 0);
	default:
		return rnd(64) * 2 * MiB;
	}
}

static uint64_t pick_size(uint64_t fits)
{
	switch (rnd(12)) {
	case 0:
		return 0;
	case 1:
		return 1 + rnd(PG * 2);				/* unaligned */
	case 2:	/* rejected: more pages than any slot may have */
		return (1UL << 43) + (one_in(2) ? 0 : interesting() & ~0xfffUL);
	case 3:
		return (uint64_t[]){ GiB, 4 * GiB, MAX_SLOT_SIZE, 2 * MiB }[rnd(4)];
	case 4:
		return ~0UL - rnd(PG);
	default:
		return fits ? fits : (1 + rnd(512)) * PG;
	}
}

/* The host address of a memslot: in the reservation, or nowhere valid. */
static uint64_t pick_hva(uint64_t *fits)
{
	int k = rnd(NMAPS);

	*fits = 0;
	switch (rnd(12)) {
	case 0:
		return 0xffff888000000000UL + rnd(GiB);		/* kernel */
	case 1:
		return 0x00007ffffffff000UL;	/* crosses the end with any size > 4K */
	case 2:
		return rnd(1UL << 20) + (one_in(2) ? 0 : 1);	/* low, unmapped */
	case 3:
		return RUN_AREA + rnd(MAX_VCPUS) * RUN_STRIDE;	/* a kvm_run page */
	case 4:
		return RES_BASE + rnd(256 * GiB) + (one_in(4) ? rnd(PG) : 0);
	default:
		pthread_mutex_lock(&tab_lock);
		*fits = maps[k].len;
		pthread_mutex_unlock(&tab_lock);
		if (*fits && one_in(4))
			*fits = (1 + rnd(*fits / PG)) * PG;
		return RES_BASE + k * MAP_SPACING + (one_in(8) ? rnd(PG) : 0);
	}
}

/*
 * A memslot whose [hva, hva + size) would leave the reservation is made
 * harmless: it must be one the kernel refuses (size beyond the page limit,
 * a kernel or unmapped-only address), or it is shrunk.
 */
static void op_set_memory(void)
{
	struct kvm_userspace_memory_region *mr = at_end(sizeof(*mr));
	uint64_t fits, hva = pick_hva(&fits), size = pick_size(fits);
	int bad;
	void *p;

	/* Any size the kernel takes stays small enough for a dirty bitmap. */
	if (size > MAX_SLOT_SIZE && (size >> 12) <= 0x7fffffffUL)
		size = MAX_SLOT_SIZE;
	if (hva == 0x00007ffffffff000UL && size <= PG)
		size = 2 * PG;
	if (hva < (1UL << 20) && size > 16 * MiB && size < (1UL << 43))
		size = 16 * MiB;	/* the static binary sits at 4 MiB */
	if (hva < (1UL << 20) && size > MiB)
		hva = 0xffff888000000000UL;
	mr->slot = pick_slot();
	mr->flags = one_in(8) ? r64() : rnd(4);	/* LOG_DIRTY_PAGES, READONLY */
	mr->guest_phys_addr = pick_gpa();
	mr->memory_size = one_in(6) ? 0 : size;	/* 0 deletes */
	mr->userspace_addr = hva;
	p = maybe_bad(mr, sizeof(*mr), 0, &bad);
	xio_p(OP_KVM_SET_USER_MEMORY_REGION, pick_vm(),
	      KVM_SET_USER_MEMORY_REGION, p);
}

static void op_dirty_log(void)
{
	uint8_t *bm;
	size_t len = one_in(4) ? rnd(ARENA_SIZE / 2) : rnd(4096);
	int bad;

	/* The bitmap is the arena's second half; the struct sits before it. */
	bm = self->end - len;
	if (one_in(2)) {
		struct kvm_dirty_log *d = (void *)(self->arena + 64);

		memset(d, 0, sizeof(*d));
		d->slot = pick_slot();
		d->dirty_bitmap = maybe_bad(bm, len, 1, &bad);
		xio_p(OP_KVM_GET_DIRTY_LOG, pick_vm(), KVM_GET_DIRTY_LOG,
		      one_in(16) ? NULL : d);
	} else {
		struct kvm_clear_dirty_log *c = (void *)(self->arena + 64);

		fuzz_fill(&self->rng, bm, len > 4096 ? 4096 : len);
		c->slot = pick_slot();
		c->num_pages = one_in(4) ? interesting() : rnd(4096) & ~63UL;
		c->first_page = one_in(4) ? interesting() : rnd(4096) & ~63UL;
		c->dirty_bitmap = maybe_bad(bm, len, 0, &bad);
		xio_p(OP_KVM_CLEAR_DIRTY_LOG, pick_vm(), KVM_CLEAR_DIRTY_LOG,
		      one_in(16) ? NULL : c);
	}
}

/* Map (or remap) guest memory mapping k; caller holds tab_lock. */
static void map_guest(int k, uint64_t len, int prot, int flags)
{
	uint64_t addr = RES_BASE + k * MAP_SPACING;
	void *m;

	m = mmap((void *)addr, len, prot, flags | MAP_FIXED | MAP_ANONYMOUS,
		 -1, 0);
	if (m == MAP_FAILED) {	/* MAP_FIXED may have unmapped: re-reserve */
		count_op(OP_mmap_guest, -1);
		mmap((void *)addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_NORESERVE | MAP_FIXED, -1, 0);
		maps[k].len = 0;
		return;
	}
	count_op(OP_mmap_guest, 0);
	if (len >= 2 * MiB && one_in(2))
		madvise(m, len, MADV_HUGEPAGE);
	maps[k].addr = addr;
	maps[k].len = len;
}

/* Put the reservation back over mapping k; caller holds tab_lock. */
static void unmap_guest(int k)
{
	uint64_t addr = RES_BASE + k * MAP_SPACING;

	if (!maps[k].len)
		return;
	count_op(OP_munmap_guest, munmap((void *)addr, maps[k].len));
	mmap((void *)addr, maps[k].len, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	maps[k].len = 0;
}

/* Random bytes into guest memory, which may be read-only (SIGSEGV). */
static void __attribute__((noinline)) guarded_fill(void *p, size_t len)
{
	self->guarded = 1;
	if (!sigsetjmp(self->jb, 1))
		fuzz_fill(&self->rng, p, len);
	self->guarded = 0;
}

static void op_guest_memory(void)
{
	int k = 1 + rnd(NMAPS - 1);	/* mapping 0 stays: the vCPUs' code */
	uint64_t len;

	pthread_mutex_lock(&tab_lock);
	switch (rnd(6)) {
	case 0: {
		uint64_t total = 0;
		int i;

		for (i = 0; i < NMAPS; i++)
			total += i == k ? 0 : maps[i].len;
		len = (1 + rnd(MAX_MAP_LEN / PG)) * PG;
		if (one_in(2))
			len = (1 + rnd(2)) * 2 * MiB;
		if (total + len > 64 * MiB)
			break;
		map_guest(k, len, one_in(6) ? PROT_READ : PROT_READ | PROT_WRITE,
			  one_in(3) ? MAP_SHARED : MAP_PRIVATE);
		break;
	}
	case 1:
		unmap_guest(k);
		break;
	case 2:
		if (maps[k].len)
			count_op(OP_touch_guest,
				 madvise((void *)maps[k].addr, maps[k].len,
					 one_in(2) ? MADV_DONTNEED : MADV_PAGEOUT));
		break;
	case 3:
		if (maps[k].len)
			count_op(OP_touch_guest,
				 mprotect((void *)maps[k].addr, maps[k].len,
					  one_in(2) ? PROT_READ :
					  PROT_READ | PROT_WRITE));
		break;
	default:
		k = rnd(NMAPS);
		if (maps[k].len) {
			uint64_t off = rnd(maps[k].len);

			len = maps[k].len - off > 4096 ? 4096 : maps[k].len - off;
			guarded_fill((void *)(maps[k].addr + off), len);
			count_op(OP_touch_guest, 0);
		}
		break;
	}
	pthread_mutex_unlock(&tab_lock);
}

/* mmap a vCPU at some offset, touch what is there, unmap. */
static void op_mmap_vcpu(void)
{
	uint8_t *at = (uint8_t *)(SCRATCH_AREA + self->id * MiB);
	uint64_t off = one_in(4) ? rnd(64) : rnd(4);
	size_t len = (1 + rnd(4)) * PG;
	uint8_t *m;
	size_t i;

	m = mmap(at, len, one_in(4) ? PROT_READ : PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, pick_vcpu(), off * PG);
	count_op(OP_mmap_vcpu, m == MAP_FAILED ? -1 : 0);
	if (m != MAP_FAILED) {
		self->guarded = 1;
		for (i = 0; i < len; i += PG) {
			if (sigsetjmp(self->jb, 1))
				continue;	/* SIGBUS past the pages */
			(void)*(volatile uint8_t *)(m + i + rnd(PG));
			if (!rnd(4))
				*(volatile uint8_t *)(m + i + rnd(PG)) = r64();
		}
		self->guarded = 0;
	}
	mmap(at, 4 * PG, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

/* ------------------------------------------------------------------ */
/* VM ioctls                                                            */

static void op_irq(void)
{
	int vm = pick_vm(), bad;
	void *p;

	switch (rnd(12)) {
	case 0:
	case 1: {
		struct kvm_irq_level *l = at_end(sizeof(*l));

		fuzz_irq_level(&self->rng, l);
		p = maybe_bad(l, sizeof(*l), !rnd(2), &bad);
		if (one_in(2))
			xio_p(OP_KVM_IRQ_LINE, vm, KVM_IRQ_LINE, p);
		else
			xio_p(OP_KVM_IRQ_LINE_STATUS, vm, KVM_IRQ_LINE_STATUS, p);
		break;
	}
	case 2:
	case 3: {
		struct kvm_msi *m = at_end(sizeof(*m));

		fuzz_msi(&self->rng, m);
		p = maybe_bad(m, sizeof(*m), 0, &bad);
		xio_p(OP_KVM_SIGNAL_MSI, vm, KVM_SIGNAL_MSI, p);
		break;
	}
	case 4:
	case 5: {
		uint32_t n = fuzz_irq_routing_nr(&self->rng);
		struct kvm_irq_routing *rt;

		rt = at_end(sizeof(*rt) + (n > FUZZ_MAX_ROUTES ? FUZZ_MAX_ROUTES : n) *
			    sizeof(rt->entries[0]));
		fuzz_irq_routing(&self->rng, rt, n);
		p = maybe_bad(rt, sizeof(*rt), 0, &bad);
		xio_p(OP_KVM_SET_GSI_ROUTING, vm, KVM_SET_GSI_ROUTING, p);
		break;
	}
	case 6:
	case 7: {
		struct kvm_irqfd *f = at_end(sizeof(*f));
		int fd = pick_eventfd();

		fuzz_irqfd(&self->rng, f, fd, pick_eventfd());
		p = maybe_bad(f, sizeof(*f), 0, &bad);
		xio_p(OP_KVM_IRQFD, vm, KVM_IRQFD, p);
		break;
	}
	case 8:
	case 9: {
		struct kvm_ioeventfd *e = at_end(sizeof(*e));

		fuzz_ioeventfd(&self->rng, e, pick_eventfd());
		p = maybe_bad(e, sizeof(*e), 0, &bad);
		xio_p(OP_KVM_IOEVENTFD, vm, KVM_IOEVENTFD, p);
		break;
	}
	case 10:
		xio(OP_KVM_CREATE_IRQCHIP, vm, KVM_CREATE_IRQCHIP,
		    one_in(8) ? r64() : 0);
		break;
	default: {
		struct kvm_pit_config *c = at_end(sizeof(*c));

		fuzz_pit_config(&self->rng, c);
		if (one_in(8)) {
			xio(OP_KVM_CREATE_PIT, vm, KVM_CREATE_PIT, 0);
			break;
		}
		p = maybe_bad(c, sizeof(*c), 0, &bad);
		xio_p(OP_KVM_CREATE_PIT2, vm, KVM_CREATE_PIT2, p);
		break;
	}
	}
}

/* GET a VM-wide state, mutate it, SET it. */
static void op_vm_state(void)
{
	int vm = pick_vm(), bad;
	void *p;

	switch (rnd(4)) {
	case 0: {
		struct kvm_irqchip *c = at_end(sizeof(*c));

		memset(c, 0, sizeof(*c));
		c->chip_id = one_in(8) ? r64() : rnd(3);
		p = maybe_bad(c, sizeof(*c), 1, &bad);
		xio_p(OP_KVM_GET_IRQCHIP, vm, KVM_GET_IRQCHIP, p);
		if (one_in(3))
			break;
		mutate(&c->chip, sizeof(c->chip));
		if (one_in(8))
			c->chip_id = r64();
		p = maybe_bad(c, sizeof(*c), 0, &bad);
		xio_p(OP_KVM_SET_IRQCHIP, vm, KVM_SET_IRQCHIP, p);
		break;
	}
	case 1: {
		struct kvm_pit_state2 *s = at_end(sizeof(*s));

		p = maybe_bad(s, sizeof(*s), 1, &bad);
		xio_p(OP_KVM_GET_PIT2, vm, KVM_GET_PIT2, p);
		mutate(s, sizeof(*s));
		p = maybe_bad(s, sizeof(*s), 0, &bad);
		xio_p(OP_KVM_SET_PIT2, vm, KVM_SET_PIT2, p);
		break;
	}
	case 2: {
		struct kvm_pit_state *s = at_end(sizeof(*s));

		p = maybe_bad(s, sizeof(*s), 1, &bad);
		xio_p(OP_KVM_GET_PIT, vm, KVM_GET_PIT, p);
		mutate(s, sizeof(*s));
		p = maybe_bad(s, sizeof(*s), 0, &bad);
		xio_p(OP_KVM_SET_PIT, vm, KVM_SET_PIT, p);
		break;
	}
	default: {
		struct kvm_clock_data *c = at_end(sizeof(*c));

		p = maybe_bad(c, sizeof(*c), 1, &bad);
		xio_p(OP_KVM_GET_CLOCK, vm, KVM_GET_CLOCK, p);
		mutate(c, sizeof(*c));
		if (!one_in(4))
			c->flags &= KVM_CLOCK_REALTIME;
		p = maybe_bad(c, sizeof(*c), 0, &bad);
		xio_p(OP_KVM_SET_CLOCK, vm, KVM_SET_CLOCK, p);
		break;
	}
	}
}

static void op_vm_misc(void)
{
	int vm = pick_vm(), bad;
	void *p;

	switch (rnd(8)) {
	case 0:
		xio(OP_KVM_CHECK_EXTENSION, vm, KVM_CHECK_EXTENSION,
		    one_in(4) ? interesting() : rnd(260));
		break;
	case 1:
	case 2: {
		struct kvm_enable_cap *c = at_end(sizeof(*c));

		fuzz_vm_enable_cap(&self->rng, c);
		p = maybe_bad(c, sizeof(*c), 0, &bad);
		xio_p(OP_KVM_ENABLE_CAP, vm, KVM_ENABLE_CAP, p);
		break;
	}
	case 3:
		xio(OP_KVM_SET_TSS_ADDR, vm, KVM_SET_TSS_ADDR,
		    one_in(2) ? 0xfffbd000 : interesting());
		break;
	case 4: {
		uint64_t *a = at_end(8);

		*a = one_in(2) ? 0xfeffc000 : interesting();
		p = maybe_bad(a, 8, 0, &bad);
		xio_p(OP_KVM_SET_IDENTITY_MAP_ADDR, vm,
		      KVM_SET_IDENTITY_MAP_ADDR, p);
		break;
	}
	case 5:
		xio(OP_KVM_SET_BOOT_CPU_ID, vm, KVM_SET_BOOT_CPU_ID,
		    one_in(2) ? rnd(8) : interesting());
		break;
	case 6:
		if (one_in(2))
			xio(OP_KVM_SET_NR_MMU_PAGES, vm, KVM_SET_NR_MMU_PAGES,
			    one_in(2) ? rnd(4096) : interesting());
		else
			xio(OP_KVM_GET_NR_MMU_PAGES, vm, KVM_GET_NR_MMU_PAGES, 0);
		break;
	default:
		op_vm_state();
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Creating and closing                                                 */

static void map_run(int idx)
{
	void *at = (void *)run_of(idx);
	void *m;

	m = mmap(at, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 vcpus[idx].fd, 0);
	if (m == MAP_FAILED)	/* keep the slot readable and writable */
		mmap(at, RUN_STRIDE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void unmap_run(int idx)
{
	mmap((void *)run_of(idx), RUN_STRIDE, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void op_create(void)
{
	int i, fd;

	pthread_mutex_lock(&tab_lock);
	switch (rnd(6)) {
	case 0:
		for (i = 0; i < MAX_VMS && vms[i].fd >= 0; i++)
			;
		if (i == MAX_VMS)
			break;
		fd = xio(OP_KVM_CREATE_VM, kvm_fd, KVM_CREATE_VM,
			 one_in(8) ? interesting() : 0);
		if (fd >= 0)
			vms[i] = (struct vm_ent){ .fd = fd };
		break;
	case 1:
	case 2: {
		int v = rnd(MAX_VMS);
		unsigned long id;

		for (i = 0; i < MAX_VCPUS && vcpus[i].fd >= 0; i++)
			;
		if (vms[v].fd < 0 || vms[v].vcpus_made >= MAX_VCPUS_PER_VM)
			break;
		id = one_in(4) ? (uint64_t[]){ 63, 64, 254, 255, 256, 1023,
					       1024, 4095, 4096, 0xffffffff,
					       1UL << 32, ~0UL }[rnd(12)] :
			rnd(8);
		fd = xio(OP_KVM_CREATE_VCPU, vms[v].fd, KVM_CREATE_VCPU, id);
		if (fd < 0)
			break;
		vms[v].vcpus_made++;
		if (i == MAX_VCPUS) {
			count_op(OP_close, close(fd));
			break;
		}
		vcpus[i] = (struct vcpu_ent){ .fd = fd };
		map_run(i);
		break;
	}
	case 3:
		for (i = 0; i < MAX_EVENTFDS && eventfds[i] >= 0; i++)
			;
		if (i == MAX_EVENTFDS)
			break;
		fd = eventfd(rnd(2), EFD_NONBLOCK | EFD_CLOEXEC |
			     (one_in(4) ? EFD_SEMAPHORE : 0));
		count_op(OP_eventfd, fd);
		eventfds[i] = fd;
		break;
	case 4:
		for (i = 0; i < MAX_STATSFDS && statsfds[i] >= 0; i++)
			;
		if (i == MAX_STATSFDS)
			break;
		fd = xio(OP_KVM_GET_STATS_FD, one_in(2) ? vms[rnd(MAX_VMS)].fd :
			 vcpus[rnd(MAX_VCPUS)].fd, KVM_GET_STATS_FD, 0);
		if (fd >= 0)
			statsfds[i] = fd;
		break;
	default:
		fd = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
		count_op(OP_open_kvm, fd);
		if (fd >= 0) {
			xio(OP_KVM_GET_API_VERSION, fd, KVM_GET_API_VERSION, 0);
			count_op(OP_close, close(fd));
		}
		break;
	}
	pthread_mutex_unlock(&tab_lock);
}

/* Close something the table owns (never the permanent VM and vCPU). */
static void op_close(void)
{
	int i, fd = -1;

	pthread_mutex_lock(&tab_lock);
	switch (rnd(4)) {
	case 0:
		i = 1 + rnd(MAX_VMS - 1);
		fd = vms[i].fd;
		vms[i].fd = -1;
		break;
	case 1:
		i = 1 + rnd(MAX_VCPUS - 1);
		fd = vcpus[i].fd;
		vcpus[i].fd = -1;
		if (fd >= 0 && !one_in(4))
			unmap_run(i);	/* else the mapping outlives the fd */
		break;
	case 2:
		i = 1 + rnd(MAX_EVENTFDS - 1);
		fd = eventfds[i];
		eventfds[i] = -1;
		break;
	default:
		i = rnd(MAX_STATSFDS);
		fd = statsfds[i];
		statsfds[i] = -1;
		break;
	}
	if (fd >= 0)
		count_op(OP_close, close(fd));
	pthread_mutex_unlock(&tab_lock);
}

static void op_fd_io(void)
{
	uint64_t v;
	int fd;

	if (one_in(2)) {
		fd = statsfds[rnd(MAX_STATSFDS)];
		if (fd < 0)
			fd = eventfds[0];
		v = one_in(2) ? rnd(8192) : rnd(ARENA_SIZE);
		count_op(OP_stats_read,
			 pread(fd, at_end(v), v, one_in(2) ? (off_t)rnd(4096) :
			       (off_t)(interesting() >> 1)));
		return;
	}
	fd = pick_eventfd();
	v = one_in(4) ? interesting() : 1;
	if (one_in(3))
		count_op(OP_eventfd_rw, read(fd, &v, 8));
	else
		count_op(OP_eventfd_rw, write(fd, &v, 8));
}

/* ------------------------------------------------------------------ */
/* Bad ioctls: unknown numbers, wrong sizes, pointers no kernel may use */

static const unsigned long known_reqs[] = {
	KVM_SET_USER_MEMORY_REGION, KVM_GET_DIRTY_LOG, KVM_IRQ_LINE,
	KVM_GET_IRQCHIP, KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD,
	KVM_CREATE_PIT2, KVM_SET_CLOCK, KVM_ENABLE_CAP, KVM_GET_REGS,
	KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_MSRS,
	KVM_SET_MSRS, KVM_SET_CPUID2, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS,
	KVM_GET_XSAVE, KVM_SET_GUEST_DEBUG, KVM_RUN, KVM_GET_MP_STATE,
	KVM_CREATE_VCPU, KVM_CHECK_EXTENSION, KVM_GET_STATS_FD,
};

/*
 * Ioctls whose handler, in KVM 6.1, copies its whole fixed-size argument
 * from (or, for GET, to) userspace before anything else can fail: on the
 * permanent VM and vCPU a bad pointer there must be EFAULT.
 */
static const struct {
	int op, vcpu, out;
	unsigned long req;
	size_t size;
} efault_reqs[] = {
	{ OP_KVM_SET_USER_MEMORY_REGION, 0, 0, KVM_SET_USER_MEMORY_REGION,
	  sizeof(struct kvm_userspace_memory_region) },
	{ OP_KVM_IRQFD, 0, 0, KVM_IRQFD, sizeof(struct kvm_irqfd) },
	{ OP_KVM_IOEVENTFD, 0, 0, KVM_IOEVENTFD, sizeof(struct kvm_ioeventfd) },
	{ OP_KVM_SIGNAL_MSI, 0, 0, KVM_SIGNAL_MSI, sizeof(struct kvm_msi) },
	{ OP_KVM_ENABLE_CAP, 0, 0, KVM_ENABLE_CAP, sizeof(struct kvm_enable_cap) },
	{ OP_KVM_SET_CLOCK, 0, 0, KVM_SET_CLOCK, sizeof(struct kvm_clock_data) },
	{ OP_KVM_GET_DIRTY_LOG, 0, 0, KVM_GET_DIRTY_LOG, sizeof(struct kvm_dirty_log) },
	{ OP_KVM_SET_GSI_ROUTING, 0, 0, KVM_SET_GSI_ROUTING,
	  sizeof(struct kvm_irq_routing) },
	{ OP_KVM_IRQ_LINE, 0, 0, KVM_IRQ_LINE, sizeof(struct kvm_irq_level) },
	{ OP_KVM_SET_REGS, 1, 0, KVM_SET_REGS, sizeof(struct kvm_regs) },
	{ OP_KVM_GET_REGS, 1, 1, KVM_GET_REGS, sizeof(struct kvm_regs) },
	{ OP_KVM_SET_SREGS, 1, 0, KVM_SET_SREGS, sizeof(struct kvm_sregs) },
	{ OP_KVM_GET_SREGS, 1, 1, KVM_GET_SREGS, sizeof(struct kvm_sregs) },
	{ OP_KVM_SET_FPU, 1, 0, KVM_SET_FPU, sizeof(struct kvm_fpu) },
	{ OP_KVM_SET_VCPU_EVENTS, 1, 0, KVM_SET_VCPU_EVENTS,
	  sizeof(struct kvm_vcpu_events) },
	{ OP_KVM_SET_DEBUGREGS, 1, 0, KVM_SET_DEBUGREGS,
	  sizeof(struct kvm_debugregs) },
	{ OP_KVM_SET_MSRS, 1, 0, KVM_SET_MSRS, sizeof(struct kvm_msrs) },
	{ OP_KVM_GET_MSRS, 1, 0, KVM_GET_MSRS, sizeof(struct kvm_msrs) },
	{ OP_KVM_SET_CPUID2, 1, 0, KVM_SET_CPUID2, sizeof(struct kvm_cpuid2) },
	{ OP_KVM_SET_XCRS, 1, 0, KVM_SET_XCRS, sizeof(struct kvm_xcrs) },
	{ OP_KVM_SET_MP_STATE, 1, 0, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state) },
	{ OP_KVM_SET_GUEST_DEBUG, 1, 0, KVM_SET_GUEST_DEBUG,
	  sizeof(struct kvm_guest_debug) },
};

static void op_bad(void)
{
	unsigned long req;
	long r;
	int fd, kind, i;

	switch (rnd(4)) {
	case 0: {
		/* An ioctl number KVM 6.1 does not have: nr 0xe0-0xff. */
		kind = rnd(3);
		fd = kind == 0 ? kvm_fd : kind == 1 ? vms[0].fd : vcpus[0].fd;
		req = _IOC(rnd(4), KVMIO, 0xe0 + rnd(0x20),
			   one_in(2) ? 0 : rnd(1 << 14));
		r = xio(OP_unknown_ioctl, fd, req,
			(unsigned long)(one_in(2) ? at_end(4096) : NULL));
		if (r != -1 || errno != (kind == 1 ? ENOTTY : EINVAL))
			fail("unknown ioctl %#lx on the %s fd: %ld, errno %d",
			     req, (const char *[]){ "system", "VM", "vCPU" }[kind],
			     r, errno);
		break;
	}
	case 1:
		/* A known number with another size or direction, anywhere. */
		req = known_reqs[rnd(ARRAY_SIZE(known_reqs))];
		if (one_in(2))
			req = (req & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			      (rnd(1 << 14) << _IOC_SIZESHIFT);
		else
			req ^= (1 + rnd(3)) << _IOC_DIRSHIFT;
		fd = (int[]){ kvm_fd, pick_vm(), pick_vcpu() }[rnd(3)];
		if (one_in(2))
			fuzz_fill(&self->rng, at_end(4096), 4096);
		xio(OP_wrong_size_ioctl, fd, req,
		    (unsigned long)(one_in(4) ? NULL : at_end(4096)));
		break;
	default: {
		uint8_t *p;

		i = rnd(ARRAY_SIZE(efault_reqs));
		fd = efault_reqs[i].vcpu ? vcpus[0].fd : vms[0].fd;
		switch (rnd(efault_reqs[i].out ? 5 : 4)) {
		case 0:
			p = NULL;
			break;
		case 1:
			p = self->end + rnd(PG);
			break;
		case 2:
			p = self->end - 1 - rnd(efault_reqs[i].size - 1);
			fuzz_fill(&self->rng, p, self->end - p);
			break;
		case 3:
			p = (uint8_t *)0xffff888000000000UL + rnd(GiB);
			break;
		default:
			p = self->ro + PG - efault_reqs[i].size;
			break;
		}
		r = xio_p(efault_reqs[i].op, fd, efault_reqs[i].req, p);
		if (!skip[efault_reqs[i].op] && (r != -1 || errno != EFAULT))
			fail("%s with argument %p on the permanent %s: %ld, errno %d, want EFAULT",
			     op_names[efault_reqs[i].op], (void *)p,
			     efault_reqs[i].vcpu ? "vCPU" : "VM", r, errno);
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* fork                                                                 */

/*
 * A child of a multi-threaded process: no locks, only syscalls.  The
 * permanent VM and vCPU belong to the parent's mm, so every ioctl on them
 * is EIO; other inherited fds get random calls; then it exits, closing
 * them, perhaps as the last holder of a VM the parent already closed.
 */
static int child(int vm, int vcpu, const int *fds, int nfds)
{
	uint8_t buf[8192];
	int i, r;

	alarm(10);	/* a hang here is a failure, not a stuck run */
	errno = 0;
	r = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	if (r != -1 || errno != EIO)
		return 2;
	errno = 0;
	r = ioctl(vcpu, KVM_GET_REGS, buf);
	if (r != -1 || errno != EIO)
		return 3;
	errno = 0;
	r = ioctl(vcpu, KVM_RUN, 0);
	if (r != -1 || errno != EIO)
		return 4;
	for (i = 0; i < 8; i++) {
		int fd = fds[rnd(nfds)];

		fuzz_fill(&self->rng, buf, sizeof(buf));
		ioctl(fd, known_reqs[rnd(ARRAY_SIZE(known_reqs))], buf);
		if (one_in(4))
			close(fd);
	}
	if (one_in(4)) {	/* a VM of the child's own */
		int v = ioctl(kvm_fd, KVM_CREATE_VM, 0);

		if (v >= 0 && ioctl(v, KVM_CREATE_VCPU, 0) < 0 && errno == EIO)
			return 5;
	}
	return 0;
}

static void op_fork(void)
{
	int fds[MAX_VMS + MAX_VCPUS], nfds = 0, i, status;
	int vm = vms[0].fd, vcpu = vcpus[0].fd;
	pid_t pid;

	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].fd >= 0)
			fds[nfds++] = vms[i].fd;
	for (i = 0; i < MAX_VCPUS; i++)
		if (vcpus[i].fd >= 0)
			fds[nfds++] = vcpus[i].fd;
	pthread_mutex_unlock(&tab_lock);

	pid = fork();
	count_op(OP_fork, pid);
	if (pid < 0)
		return;
	if (!pid)
		_exit(child(vm, vcpu, fds, nfds));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("forked child: %s %d (2-4: an ioctl on the parent's VM was not EIO, 5: EIO on its own VM)",
		     WIFEXITED(status) ? "exit status" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* ------------------------------------------------------------------ */
/* Main loop                                                            */

static void one_op(void)
{
	unsigned int w = rnd(1000);

	if (self->id == 0 && w < 600) {
		op_run();
		return;
	}
	w = rnd(1000);
	if (w < 160)
		op_vcpu_state();
	else if (w < 230)
		op_vcpu_msrs_cpuid();
	else if (w < 300)
		op_vcpu_misc();
	else if (w < 400)
		op_set_memory();
	else if (w < 440)
		op_dirty_log();
	else if (w < 560)
		op_irq();
	else if (w < 610)
		op_vm_misc();
	else if (w < 640)
		op_system();
	else if (w < 680)
		op_create();
	else if (w < 700)
		op_close();
	else if (w < 730)
		op_fd_io();
	else if (w < 780)
		op_guest_memory();
	else if (w < 800)
		op_mmap_vcpu();
	else if (w < 830)
		op_scribble_run();
	else if (w < 900)
		op_bad();
	else if (w < 999)
		op_run();
	else if (one_in(4))
		op_fork();
}

static void *thread_main(void *arg)
{
	struct th *t = arg;
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};
	struct itimerspec its;

	self = t;
	sev._sigev_un._tid = syscall(SYS_gettid);	/* sigev_notify_thread_id */
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer))
		fail("timer_create: %s", strerror(errno));
	its.it_value.tv_sec = 0;
	its.it_value.tv_nsec = 1000000 + rnd(1000000);
	its.it_interval = its.it_value;
	if (timer_settime(t->timer, 0, &its, NULL))
		fail("timer_settime: %s", strerror(errno));
	while (atomic_load(&done) < count)
		one_op();
	timer_delete(t->timer);
	return NULL;
}

static void *reserve(uint64_t addr, uint64_t len)
{
	void *m = mmap((void *)addr, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       (addr ? MAP_FIXED_NOREPLACE : 0), -1, 0);

	if (m == MAP_FAILED || (addr && m != (void *)addr))
		fail("cannot reserve %#lx bytes at %#lx: %s", len, addr,
		     strerror(errno));
	return m;
}

/* The permanent VM 0 and vCPU 0, with an irqchip, a PIT and memory. */
static void setup(void)
{
	struct kvm_userspace_memory_region mr = { 0 };
	struct kvm_pit_config pit = { .flags = 1 };
	struct th *t = &ths[0];
	int i, fd;

	self = t;
	kvm_fd = open_kvm_dev_path_or_exit();
	mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(mmap_size >= (int)(2 * PG) && mmap_size <= (int)RUN_STRIDE,
		    "KVM_GET_VCPU_MMAP_SIZE is %d", mmap_size);
	TEST_ASSERT_EQ(ioctl(kvm_fd, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	reserve(RES_BASE, RES_SIZE);
	for (i = 0; i < MAX_VMS; i++)
		vms[i].fd = -1;
	for (i = 0; i < MAX_VCPUS; i++) {
		vcpus[i].fd = -1;
		unmap_run(i);
	}
	for (i = 0; i < MAX_EVENTFDS; i++)
		eventfds[i] = -1;
	for (i = 0; i < MAX_STATSFDS; i++)
		statsfds[i] = -1;

	supported_cpuid.hdr.nent = 256;
	TEST_ASSERT(!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &supported_cpuid),
		    "KVM_GET_SUPPORTED_CPUID");
	{
		struct {
			struct kvm_msr_list l;
			uint32_t idx[1024];
		} ml = { .l.nmsrs = 1024 };

		if (!ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &ml)) {
			nr_msr_list = ml.l.nmsrs;
			memcpy(msr_list, ml.idx, nr_msr_list * 4);
		}
	}

	fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VM");
	vms[0] = (struct vm_ent){ .fd = fd, .perm = 1, .vcpus_made = 1 };
	TEST_ASSERT(!ioctl(fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	TEST_ASSERT(!ioctl(fd, KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2");

	/* Random code at 0 and below 4G, where the reset vector is. */
	map_guest(0, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	map_guest(1, MiB, PROT_READ | PROT_WRITE, MAP_SHARED);
	fuzz_fill(&t->rng, (void *)maps[0].addr, maps[0].len);
	fuzz_fill(&t->rng, (void *)maps[1].addr, maps[1].len);
	mr.memory_size = maps[0].len;
	mr.userspace_addr = maps[0].addr;
	TEST_ASSERT(!ioctl(fd, KVM_SET_USER_MEMORY_REGION, &mr), "memslot 0");
	mr.slot = 1;
	mr.guest_phys_addr = 0x100000000UL - MiB;
	mr.memory_size = maps[1].len;
	mr.userspace_addr = maps[1].addr;
	TEST_ASSERT(!ioctl(fd, KVM_SET_USER_MEMORY_REGION, &mr), "memslot 1");

	vcpus[0].fd = ioctl(fd, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpus[0].fd >= 0, "KVM_CREATE_VCPU");
	vcpus[0].perm = 1;
	map_run(0);

	eventfds[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	TEST_ASSERT(eventfds[0] >= 0, "eventfd");
}

static void summary(void)
{
	int op, e, k;

	for (op = 0; op < NR_OPS; op++) {
		char line[512];
		int n;

		if (!op_calls[op])
			continue;
		n = snprintf(line, sizeof(line), "# %s: %llu calls, %llu ok",
			     op_names[op], (unsigned long long)op_calls[op],
			     (unsigned long long)op_ok[op]);
		/* The four most frequent errnos. */
		int top[4] = { -1, -1, -1, -1 };

		for (k = 0; k < 4; k++) {
			top[k] = -1;
			for (e = 0; e <= NR_ERRNO; e++) {
				if (!op_errno[op][e] || (k && (e == top[0] ||
				    e == top[1] || e == top[2])))
					continue;
				if (top[k] < 0 || op_errno[op][e] > op_errno[op][top[k]])
					top[k] = e;
			}
			if (top[k] < 0)
				break;
			n += snprintf(line + n, sizeof(line) - n, ", %s %llu",
				      strerrorname_np(top[k]) ?: "E?",
				      (unsigned long long)op_errno[op][top[k]]);
		}
		puts(line);
	}
}

/*
 * In the svm test host (QEMU 7.2's TCG with an AMD SVM CPU) the fuzzer
 * builds none of the guest states that crash or hang QEMU itself there,
 * under in-tree kvm_amd as under kvisor (include/qemu_quirks.h,
 * Documentation/testing.rst): KVM_SET_SREGS and sync-regs states keep TR
 * present and available and, with EFER.LME, CR4.PAE; KVM_SET_DEBUGREGS
 * and KVM_SET_GUEST_DEBUG enable only I/O breakpoints; KVM_SET_MSRS sets
 * no EFER.LME, since the vCPU's CR4 is not known here.  Random guest code
 * could still reach them, which no run here has.
 */
void avoid_qemu_lme_msrs(struct kvm_msrs *m)
{
	uint32_t i;

	for (i = 0; qemu_svm_host() && i < m->nmsrs && i < FUZZ_MAX_MSRS; i++)
		if (m->entries[i].index == MSR_EFER)
			m->entries[i].data &= ~(uint64_t)(EFER_LME | EFER_LMA);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_tick };
	int i;

	(void)argc;
	fuzz_setup(argv[0], DEFAULT_COUNT, &seed, &count);
	trace = fuzz_env("FUZZ_TRACE", 0);
	parse_skip();
	for (i = 0; i < NTHREADS; i++) {
		ths[i].id = i;
		fuzz_rng_init(&ths[i].rng, seed, i);
		ths[i].arena = reserve(0, ARENA_SIZE + 2 * PG);
		ths[i].end = ths[i].arena + ARENA_SIZE;
		ths[i].ro = ths[i].end + PG;
		TEST_ASSERT(!mprotect(ths[i].arena, ARENA_SIZE,
				      PROT_READ | PROT_WRITE), "mprotect");
		TEST_ASSERT(!mprotect(ths[i].ro, PG, PROT_READ), "mprotect");
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: KVM_RUN sees EINTR */
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	setup();
	for (i = 0; i < NTHREADS; i++)
		TEST_ASSERT(!pthread_create(&ths[i].pt, NULL, thread_main, &ths[i]),
			    "pthread_create");
	for (i = 0; i < NTHREADS; i++)
		pthread_join(ths[i].pt, NULL);

	summary();
	ksft_print_msg("%llu operations, seed %#llx: no unexpected answer\n",
		       (unsigned long long)atomic_load(&done),
		       (unsigned long long)seed);
	ksft_exit_pass();
}
