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
#include "kvm_util.h"
#include "test_util.h"

#define DEFAULT_COUNT	30000
#define NTHREADS	4

#define PG		4096UL
#define MiB		(1UL << 20)
#define GiB		(1UL << 30)

/* The reservation every memslot address points into. */
#define RES_BASE	0x200000000000UL
#define RES_SIZE	(2048 * GiB)
#define RUN_AREA	(RES_BASE + 256 * MiB)	/* vCPU i's mapping at i*RUN_STRIDE */
#define RUN_STRIDE	(4 * PG)
#define SCRATCH_AREA	(RES_BASE + 512 * GiB)	/* per thread, 1 MiB */
#define MAP_SPACING	GiB			/* guest mapping k at RES_BASE + k GiB */
#define MAX_SLOT_SIZE	(16 * GiB)

#define MAX_VMS		4
#define MAX_VCPUS	12
#define MAX_VCPUS_PER_VM 8
#define MAX_EVENTFDS	16
#define MAX_STATSFDS	6
#define NMAPS		16
#define MAX_MAP_LEN	(4 * MiB)

#define ARENA_SIZE	(1 * MiB)

/* Every ioctl the fuzzer issues by name, for the summary. */
#define IOCTLS(X)							\
	X(KVM_GET_API_VERSION) X(KVM_CREATE_VM) X(KVM_CHECK_EXTENSION)	\
	X(KVM_GET_VCPU_MMAP_SIZE) X(KVM_GET_SUPPORTED_CPUID)		\
	X(KVM_GET_EMULATED_CPUID) X(KVM_GET_MSR_INDEX_LIST)		\
	X(KVM_GET_MSR_FEATURE_INDEX_LIST) X(KVM_X86_GET_MCE_CAP_SUPPORTED) \
	X(KVM_ENABLE_CAP) X(KVM_CREATE_VCPU) X(KVM_SET_TSS_ADDR)	\
	X(KVM_SET_IDENTITY_MAP_ADDR) X(KVM_SET_BOOT_CPU_ID)		\
	X(KVM_SET_NR_MMU_PAGES) X(KVM_GET_NR_MMU_PAGES) X(KVM_GET_CLOCK)	\
	X(KVM_SET_CLOCK) X(KVM_GET_STATS_FD) X(KVM_SET_USER_MEMORY_REGION) \
	X(KVM_GET_DIRTY_LOG) X(KVM_CLEAR_DIRTY_LOG) X(KVM_CREATE_IRQCHIP) \
	X(KVM_GET_IRQCHIP) X(KVM_SET_IRQCHIP) X(KVM_IRQ_LINE)		\
	X(KVM_IRQ_LINE_STATUS) X(KVM_SET_GSI_ROUTING) X(KVM_SIGNAL_MSI)	\
	X(KVM_IRQFD) X(KVM_IOEVENTFD) X(KVM_CREATE_PIT) X(KVM_CREATE_PIT2) \
	X(KVM_GET_PIT) X(KVM_SET_PIT) X(KVM_GET_PIT2) X(KVM_SET_PIT2)	\
	X(KVM_RUN) X(KVM_INTERRUPT) X(KVM_SET_SIGNAL_MASK)		\
	X(KVM_GET_MP_STATE) X(KVM_SET_MP_STATE) X(KVM_NMI)		\
	X(KVM_SET_VAPIC_ADDR) X(KVM_HAS_DEVICE_ATTR) X(KVM_GET_DEVICE_ATTR) \
	X(KVM_SET_DEVICE_ATTR) X(KVM_GET_TSC_KHZ) X(KVM_SET_TSC_KHZ)	\
	X(KVM_GET_REGS) X(KVM_SET_REGS) X(KVM_GET_SREGS) X(KVM_SET_SREGS) \
	X(KVM_GET_VCPU_EVENTS) X(KVM_SET_VCPU_EVENTS) X(KVM_GET_FPU)	\
	X(KVM_SET_FPU) X(KVM_GET_XSAVE) X(KVM_SET_XSAVE) X(KVM_GET_XCRS) \
	X(KVM_SET_XCRS) X(KVM_GET_LAPIC) X(KVM_SET_LAPIC)		\
	X(KVM_SET_CPUID2) X(KVM_GET_CPUID2) X(KVM_GET_MSRS) X(KVM_SET_MSRS) \
	X(KVM_GET_DEBUGREGS) X(KVM_SET_DEBUGREGS) X(KVM_SET_GUEST_DEBUG) \
	X(KVM_TRANSLATE) X(KVM_KVMCLOCK_CTRL) X(KVM_SMI) X(KVM_GET_XSAVE2) \
	X(KVM_GET_SREGS2) X(KVM_X86_SETUP_MCE)

/* Operations that are not one named ioctl. */
#define OTHER_OPS(X)							\
	X(unknown_ioctl) X(wrong_size_ioctl) X(bad_pointer) X(close)	\
	X(open_kvm) X(eventfd) X(eventfd_rw) X(stats_read) X(mmap_guest) \
	X(munmap_guest) X(touch_guest) X(mmap_vcpu) X(scribble_run) X(fork)

enum {
#define X(n) OP_##n,
	IOCTLS(X)
	OTHER_OPS(X)
#undef X
	NR_OPS
};

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

struct vm_ent {
	int fd;			/* -1: free */
	int vcpus_made;		/* KVM_CREATE_VCPU successes, bounded */
	int perm;
};

struct vcpu_ent {
	int fd;
	int perm;
};

struct map_ent {
	uint64_t addr, len;	/* len 0: nothing mapped (PROT_NONE) */
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm_ent vms[MAX_VMS];
static struct vcpu_ent vcpus[MAX_VCPUS];
static int eventfds[MAX_EVENTFDS];
static int statsfds[MAX_STATSFDS];
static struct map_ent maps[NMAPS];
static int kvm_fd, mmap_size;

/* Known-good contents to mutate. */
static struct {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[256];
} supported_cpuid;
static uint32_t msr_list[1024];
static unsigned int nr_msr_list;

static const uint32_t known_msrs[] = {
	0x10, 0x1b, 0x3a, 0x3b, 0x48, 0x49, 0x8b, 0xce, 0xe7, 0xe8, 0xfe,
	0x10a, 0x140, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x1a0, 0x1d9,
	0x200, 0x201, 0x20f, 0x250, 0x258, 0x277, 0x2ff, 0x400, 0x401,
	0x480, 0x48d, 0x491, 0x6e0, 0x800, 0x802, 0x803, 0x808, 0x80b,
	0x80f, 0x830, 0x832, 0x838, 0x83e, 0x83f, 0xda0, 0xc0000080,
	0xc0000081, 0xc0000082, 0xc0000084, 0xc0000100, 0xc0000101,
	0xc0000102, 0xc0000103, 0xc0000104, 0xc0010010, 0xc0010114,
	0xc0010117, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03,
	0x4b564d04, 0x4b564d05, 0x11, 0x12, 0x40000000, 0x40000001,
	0xffffffff, 0x80000000, 0x1000, 0xc0011022,
};

/* ------------------------------------------------------------------ */
/* Threads                                                              */

struct th {
	int id;
	struct fuzz_rng rng;
	uint8_t *arena, *end;	/* end is the guard page */
	uint8_t *ro;		/* a read-only page */
	timer_t timer;
	sigjmp_buf jb;
	volatile sig_atomic_t guarded;
	pthread_t pt;
};

static struct th ths[NTHREADS];
static __thread struct th *self;

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

static inline uint64_t rnd(uint64_t n)
{
	return fuzz_below(&self->rng, n);
}

static inline int one_in(uint64_t n)
{
	return fuzz_one_in(&self->rng, n);
}

static inline uint64_t r64(void)
{
	return fuzz_u64(&self->rng);
}

static inline uint64_t interesting(void)
{
	return fuzz_interesting(&self->rng);
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
static long xio(int op, int fd, unsigned long req, unsigned long arg)
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

static long xio_p(int op, int fd, unsigned long req, void *arg)
{
	return xio(op, fd, req, (unsigned long)arg);
}

static void count_op(int op, long ret)
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
static int pick_vcpu_idx(void)
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

static int pick_vcpu(void)
{
	if (one_in(64))
		return (int[]){ -1, 1000, kvm_fd, vms[0].fd }[rnd(4)];
	return vcpus[pick_vcpu_idx()].fd;
}

static struct kvm_run *run_of(int idx)
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
static void *at_end(size_t size)
{
	if (size > ARENA_SIZE)
		size = ARENA_SIZE;
	return self->end - size;
}

/*
 * Where an argument of @size bytes goes: mostly @good, sometimes a
 * pointer no kernel may use.  *bad says whether it is one.
 */
static void *maybe_bad(void *good, size_t size, int out, int *bad)
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
static void mutate(void *p, size_t size)
{
	uint8_t *b = p;
	int i, n;

	if (!size)
		return;
	switch (rnd(8)) {
	case 0:
		fuzz_fill(&self->rng, p, size);
		return;
	case 1:
		memset(p, one_in(2) ? 0 : 0xff, size);
		return;
	case 2:
	case 3:
		n = 1 + rnd(4);
		for (i = 0; i < n; i++)
			b[rnd(size)] ^= 1 << rnd(8);
		return;
	case 4:
		return;		/* write back what was read */
	default:
		n = 1 + rnd(3);
		for (i = 0; i < n && size >= 8; i++) {
			uint64_t v = interesting();

			memcpy(b + (rnd(size / 8) * 8), &v, 8);
		}
		return;
	}
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
				known_msrs[rnd(ARRAY_SIZE(known_msrs))];
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

		l->irq = one_in(4) ? interesting() : rnd(48);
		l->level = one_in(4) ? interesting() : rnd(2);
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

		memset(m, 0, sizeof(*m));
		m->address_lo = one_in(4) ? r64() : 0xfee00000 | rnd(256) << 12 |
				rnd(16) << 2;
		m->address_hi = one_in(8) ? interesting() : 0;
		m->data = one_in(4) ? r64() : rnd(8) << 8 | (16 + rnd(240));
		m->flags = one_in(8) ? r64() : 0;
		m->devid = r64();
		if (one_in(16))
			fuzz_fill(&self->rng, m->pad, sizeof(m->pad));
		p = maybe_bad(m, sizeof(*m), 0, &bad);
		xio_p(OP_KVM_SIGNAL_MSI, vm, KVM_SIGNAL_MSI, p);
		break;
	}
	case 4:
	case 5: {
		struct kvm_irq_routing *rt;
		unsigned int n, i;

		n = one_in(8) ? 4090 + rnd(10) : one_in(8) ? interesting() : rnd(64);
		rt = at_end(sizeof(*rt) + (n > 4100 ? 4100 : n) * sizeof(rt->entries[0]));
		rt->nr = n;
		rt->flags = one_in(8) ? r64() : 0;
		for (i = 0; i < n && i < 4100; i++) {
			struct kvm_irq_routing_entry *e = &rt->entries[i];

			memset(e, 0, sizeof(*e));
			e->gsi = one_in(8) ? interesting() : one_in(2) ? i : rnd(64);
			e->type = one_in(8) ? interesting() : 1 + rnd(2);
			e->flags = one_in(8) ? r64() : 0;
			if (e->type == KVM_IRQ_ROUTING_IRQCHIP) {
				e->u.irqchip.irqchip = one_in(8) ? r64() : rnd(3);
				e->u.irqchip.pin = one_in(8) ? r64() : rnd(24);
			} else {
				e->u.msi.address_lo = 0xfee00000 | rnd(256) << 12;
				e->u.msi.data = r64();
				if (one_in(4))
					fuzz_fill(&self->rng, &e->u, sizeof(e->u));
			}
		}
		p = maybe_bad(rt, sizeof(*rt), 0, &bad);
		xio_p(OP_KVM_SET_GSI_ROUTING, vm, KVM_SET_GSI_ROUTING, p);
		break;
	}
	case 6:
	case 7: {
		struct kvm_irqfd *f = at_end(sizeof(*f));

		memset(f, 0, sizeof(*f));
		f->fd = pick_eventfd();
		f->gsi = one_in(8) ? interesting() : rnd(32);
		f->flags = one_in(8) ? r64() : rnd(4);	/* DEASSIGN, RESAMPLE */
		f->resamplefd = pick_eventfd();
		if (one_in(16))
			fuzz_fill(&self->rng, f->pad, sizeof(f->pad));
		p = maybe_bad(f, sizeof(*f), 0, &bad);
		xio_p(OP_KVM_IRQFD, vm, KVM_IRQFD, p);
		break;
	}
	case 8:
	case 9: {
		struct kvm_ioeventfd *e = at_end(sizeof(*e));

		memset(e, 0, sizeof(*e));
		e->datamatch = one_in(2) ? rnd(256) : r64();
		e->flags = one_in(8) ? r64() : rnd(8);	/* DATAMATCH, PIO, DEASSIGN */
		e->addr = e->flags & KVM_IOEVENTFD_FLAG_PIO ?
			(one_in(4) ? interesting() : rnd(0x10000)) :
			(one_in(2) ? interesting() :
			 (uint64_t[]){ 0xfee00000, 0xfec00000, 0xfed00000,
				       0xe0000000, 0 }[rnd(5)] + rnd(256));
		e->len = one_in(8) ? interesting() : (uint32_t[]){ 0, 1, 2, 4, 8, 3 }[rnd(6)];
		e->fd = pick_eventfd();
		if (one_in(16))
			fuzz_fill(&self->rng, e->pad, sizeof(e->pad));
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

		memset(c, 0, sizeof(*c));
		c->flags = one_in(4) ? r64() : rnd(2);
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
		static const uint32_t caps[] = {
			KVM_CAP_SPLIT_IRQCHIP, KVM_CAP_MAX_VCPU_ID,
			KVM_CAP_MSR_PLATFORM_INFO,
			KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
			KVM_CAP_X86_DISABLE_EXITS, KVM_CAP_EXCEPTION_PAYLOAD,
			KVM_CAP_X86_USER_SPACE_MSR, KVM_CAP_IRQCHIP,
		};

		memset(c, 0, sizeof(*c));
		c->cap = one_in(4) ? rnd(260) : caps[rnd(ARRAY_SIZE(caps))];
		c->flags = one_in(8) ? r64() : 0;
		c->args[0] = one_in(2) ? rnd(64) : interesting();
		if (c->cap == KVM_CAP_X86_DISABLE_EXITS)
			c->args[0] &= ~KVM_X86_DISABLE_EXITS_HLT;
		if (one_in(8))
			c->args[1] = interesting();
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
/* vCPU ioctls                                                          */

/* GET @get into a buffer of @size, mutate, SET @set from it. */
static void get_mutate_set(int fd, int gop, unsigned long get, int sop,
			   unsigned long set, size_t size)
{
	void *buf = at_end(size), *p;
	int bad;

	p = maybe_bad(buf, size, 1, &bad);
	if (xio_p(gop, fd, get, p) < 0 || one_in(8))
		fuzz_fill(&self->rng, buf, size);
	if (one_in(4))
		return;
	mutate(buf, size);
	p = maybe_bad(buf, size, 0, &bad);
	xio_p(sop, fd, set, p);
}

static void op_vcpu_state(void)
{
	int fd = pick_vcpu();

	switch (rnd(10)) {
	case 0:
		get_mutate_set(fd, OP_KVM_GET_REGS, KVM_GET_REGS, OP_KVM_SET_REGS,
			       KVM_SET_REGS, sizeof(struct kvm_regs));
		break;
	case 1:
		get_mutate_set(fd, OP_KVM_GET_SREGS, KVM_GET_SREGS,
			       OP_KVM_SET_SREGS, KVM_SET_SREGS,
			       sizeof(struct kvm_sregs));
		break;
	case 2:
		get_mutate_set(fd, OP_KVM_GET_FPU, KVM_GET_FPU, OP_KVM_SET_FPU,
			       KVM_SET_FPU, sizeof(struct kvm_fpu));
		break;
	case 3:
		get_mutate_set(fd, OP_KVM_GET_XSAVE, KVM_GET_XSAVE,
			       OP_KVM_SET_XSAVE, KVM_SET_XSAVE,
			       sizeof(struct kvm_xsave));
		break;
	case 4:
		get_mutate_set(fd, OP_KVM_GET_XCRS, KVM_GET_XCRS, OP_KVM_SET_XCRS,
			       KVM_SET_XCRS, sizeof(struct kvm_xcrs));
		break;
	case 5:
		get_mutate_set(fd, OP_KVM_GET_DEBUGREGS, KVM_GET_DEBUGREGS,
			       OP_KVM_SET_DEBUGREGS, KVM_SET_DEBUGREGS,
			       sizeof(struct kvm_debugregs));
		break;
	case 6:
		get_mutate_set(fd, OP_KVM_GET_VCPU_EVENTS, KVM_GET_VCPU_EVENTS,
			       OP_KVM_SET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
			       sizeof(struct kvm_vcpu_events));
		break;
	case 7:
		get_mutate_set(fd, OP_KVM_GET_LAPIC, KVM_GET_LAPIC,
			       OP_KVM_SET_LAPIC, KVM_SET_LAPIC,
			       sizeof(struct kvm_lapic_state));
		break;
	case 8: {
		struct kvm_mp_state *m = at_end(sizeof(*m));
		int bad;
		void *p = maybe_bad(m, sizeof(*m), 1, &bad);

		xio_p(OP_KVM_GET_MP_STATE, fd, KVM_GET_MP_STATE, p);
		m->mp_state = one_in(4) ? interesting() : rnd(10);
		p = maybe_bad(m, sizeof(*m), 0, &bad);
		xio_p(OP_KVM_SET_MP_STATE, fd, KVM_SET_MP_STATE, p);
		break;
	}
	default: {
		struct kvm_guest_debug *g = at_end(sizeof(*g));
		int bad;
		void *p;

		memset(g, 0, sizeof(*g));
		if (!one_in(3)) {
			g->control = one_in(4) ? r64() :
				(rnd(0x100) & 0x7) | (rnd(4) << 16);
			if (one_in(2))
				fuzz_fill(&self->rng, &g->arch, sizeof(g->arch));
		}
		p = maybe_bad(g, sizeof(*g), 0, &bad);
		xio_p(OP_KVM_SET_GUEST_DEBUG, fd, KVM_SET_GUEST_DEBUG, p);
		break;
	}
	}
}

static uint32_t pick_msr(void)
{
	switch (rnd(6)) {
	case 0:
		return r64();
	case 1:
		return interesting();
	case 2:
	case 3:
		if (nr_msr_list)
			return msr_list[rnd(nr_msr_list)];
		/* fallthrough */
	default:
		return known_msrs[rnd(ARRAY_SIZE(known_msrs))];
	}
}

static void op_vcpu_msrs_cpuid(void)
{
	int fd = pick_vcpu(), bad;
	unsigned int n, i;
	void *p;

	switch (rnd(4)) {
	case 0:
	case 1: {
		struct kvm_msrs *m;
		int set = one_in(2);

		n = one_in(16) ? interesting() : one_in(16) ? 4090 + rnd(10) : rnd(24);
		m = at_end(sizeof(*m) + (n > 4100 ? 4100 : n) * sizeof(m->entries[0]));
		m->nmsrs = n;
		m->pad = one_in(8) ? r64() : 0;
		for (i = 0; i < n && i < 4100; i++) {
			m->entries[i].index = pick_msr();
			m->entries[i].reserved = one_in(16) ? r64() : 0;
			m->entries[i].data = 0;
		}
		if (set) {
			/* Mostly what the MSR holds, mutated. */
			if (!one_in(4))
				xio_p(OP_KVM_GET_MSRS, fd, KVM_GET_MSRS, m);
			m->nmsrs = n;
			for (i = 0; i < n && i < 4100; i++)
				if (one_in(3))
					m->entries[i].data = one_in(2) ?
						interesting() :
						m->entries[i].data ^ 1UL << rnd(64);
		}
		p = maybe_bad(m, sizeof(*m), !set, &bad);
		if (set)
			xio_p(OP_KVM_SET_MSRS, fd, KVM_SET_MSRS, p);
		else
			xio_p(OP_KVM_GET_MSRS, fd, KVM_GET_MSRS, p);
		break;
	}
	case 2: {
		struct kvm_cpuid2 *c;

		n = one_in(8) ? interesting() : rnd(supported_cpuid.hdr.nent + 8);
		if (one_in(16))
			n = 250 + rnd(10);
		c = at_end(sizeof(*c) + (n > 300 ? 300 : n) * sizeof(c->entries[0]));
		c->nent = n;
		c->padding = one_in(8) ? r64() : 0;
		for (i = 0; i < n && i < 300; i++) {
			struct kvm_cpuid_entry2 *e = &c->entries[i];

			if (i < supported_cpuid.hdr.nent && !one_in(8))
				*e = supported_cpuid.e[i];
			else
				*e = supported_cpuid.e[rnd(supported_cpuid.hdr.nent + 1)];
			if (one_in(4))
				mutate(e, sizeof(*e));
		}
		p = maybe_bad(c, sizeof(*c), 0, &bad);
		xio_p(OP_KVM_SET_CPUID2, fd, KVM_SET_CPUID2, p);
		break;
	}
	default: {
		struct kvm_cpuid2 *c;

		n = one_in(4) ? interesting() : rnd(300);
		c = at_end(sizeof(*c) + (n > 300 ? 300 : n) * sizeof(c->entries[0]));
		c->nent = n;
		p = maybe_bad(c, sizeof(*c), 1, &bad);
		xio_p(OP_KVM_GET_CPUID2, fd, KVM_GET_CPUID2, p);
		break;
	}
	}
}

static void op_vcpu_misc(void)
{
	int fd = pick_vcpu(), bad;
	void *p;

	switch (rnd(12)) {
	case 0: {
		struct kvm_interrupt *i = at_end(sizeof(*i));

		i->irq = one_in(4) ? interesting() : rnd(256);
		p = maybe_bad(i, sizeof(*i), 0, &bad);
		xio_p(OP_KVM_INTERRUPT, fd, KVM_INTERRUPT, p);
		break;
	}
	case 1:
		xio(OP_KVM_NMI, fd, KVM_NMI, 0);
		break;
	case 2: {
		/* Never block SIGUSR1: it is what bounds KVM_RUN. */
		struct kvm_signal_mask *m = at_end(sizeof(*m) + 16);
		uint8_t set[16];

		fuzz_fill(&self->rng, set, sizeof(set));
		set[(SIGUSR1 - 1) / 8] &= ~(1 << ((SIGUSR1 - 1) % 8));
		set[8 + (SIGUSR1 - 1) / 8] &= ~(1 << ((SIGUSR1 - 1) % 8));
		if (one_in(2))
			memset(set, 0, sizeof(set));
		m->len = one_in(8) ? interesting() : 8;
		memcpy(m->sigset, set, 16);
		p = one_in(4) ? NULL : maybe_bad(m, sizeof(*m) + 8, 0, &bad);
		xio_p(OP_KVM_SET_SIGNAL_MASK, fd, KVM_SET_SIGNAL_MASK, p);
		break;
	}
	case 3: {
		uint64_t *a = at_end(8);

		*a = one_in(2) ? rnd(1UL << 32) & ~0xfffUL : interesting();
		p = maybe_bad(a, 8, 0, &bad);
		xio_p(OP_KVM_SET_VAPIC_ADDR, fd, KVM_SET_VAPIC_ADDR, p);
		break;
	}
	case 4:
	case 5: {
		struct kvm_device_attr *a = at_end(sizeof(*a) + 8);
		uint64_t *val = (uint64_t *)(a + 1);
		unsigned long req[] = { KVM_HAS_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
					KVM_SET_DEVICE_ATTR };
		int ops[] = { OP_KVM_HAS_DEVICE_ATTR, OP_KVM_GET_DEVICE_ATTR,
			      OP_KVM_SET_DEVICE_ATTR };
		int w = rnd(3);

		a->flags = one_in(8) ? r64() : 0;
		a->group = one_in(4) ? interesting() : 0;	/* KVM_VCPU_TSC_CTRL */
		a->attr = one_in(4) ? interesting() : 0;	/* KVM_VCPU_TSC_OFFSET */
		*val = interesting();
		a->addr = (uint64_t)maybe_bad(val, 8, w == 1, &bad);
		p = maybe_bad(a, sizeof(*a), 0, &bad);
		xio_p(ops[w], fd, req[w], p);
		break;
	}
	case 6:
		if (one_in(2))
			xio(OP_KVM_GET_TSC_KHZ, fd, KVM_GET_TSC_KHZ, 0);
		else
			xio(OP_KVM_SET_TSC_KHZ, fd, KVM_SET_TSC_KHZ,
			    one_in(2) ? 1000000 + rnd(3000000) : interesting());
		break;
	case 7: {
		/* Not in kvisor: still no report, and no overrun. */
		struct kvm_translation *t = at_end(sizeof(*t));

		t->linear_address = interesting();
		p = maybe_bad(t, sizeof(*t), 1, &bad);
		xio_p(OP_KVM_TRANSLATE, fd, KVM_TRANSLATE, p);
		break;
	}
	case 8:
		switch (rnd(5)) {
		case 0:
			xio(OP_KVM_KVMCLOCK_CTRL, fd, KVM_KVMCLOCK_CTRL, 0);
			break;
		case 1:
			xio(OP_KVM_SMI, fd, KVM_SMI, 0);
			break;
		case 2:
			xio_p(OP_KVM_GET_XSAVE2, fd, KVM_GET_XSAVE2,
			      at_end(64 * 1024));
			break;
		case 3:
			xio_p(OP_KVM_GET_SREGS2, fd, KVM_GET_SREGS2,
			      at_end(sizeof(struct kvm_sregs2)));
			break;
		default: {
			uint64_t *v = at_end(8);

			*v = interesting();
			xio_p(OP_KVM_X86_SETUP_MCE, fd, KVM_X86_SETUP_MCE, v);
			break;
		}
		}
		break;
	case 9: {
		struct kvm_enable_cap *c = at_end(sizeof(*c));

		memset(c, 0, sizeof(*c));
		c->cap = one_in(2) ? rnd(260) : interesting();
		c->args[0] = interesting();
		xio_p(OP_KVM_ENABLE_CAP, fd, KVM_ENABLE_CAP, c);
		break;
	}
	default:
		op_vcpu_state();
		break;
	}
}

/* ------------------------------------------------------------------ */
/* KVM_RUN                                                              */

static void mutate_run(struct kvm_run *run)
{
	if (one_in(32)) {
		fuzz_fill(&self->rng, run, one_in(2) ? 4096 : 256);
		return;
	}
	run->immediate_exit = one_in(16) ? r64() : (uint64_t)one_in(8);
	run->request_interrupt_window = one_in(4) ? r64() : 0;
	if (one_in(4)) {
		run->kvm_valid_regs = one_in(8) ? r64() : rnd(8);
		run->kvm_dirty_regs = one_in(8) ? r64() : rnd(8);
		if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
			mutate(&run->s.regs.regs, sizeof(run->s.regs.regs));
		if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS)
			mutate(&run->s.regs.sregs, sizeof(run->s.regs.sregs));
		if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS)
			mutate(&run->s.regs.events, sizeof(run->s.regs.events));
	} else {
		run->kvm_valid_regs = 0;
		run->kvm_dirty_regs = 0;
	}
}

static void op_run(void)
{
	int idx = pick_vcpu_idx(), fd = vcpus[idx].fd, i;
	struct kvm_run *run = run_of(idx);

	if (one_in(64))
		fd = pick_vcpu();
	mutate_run(run);
	for (i = 0; i < 4; i++) {
		if (xio(OP_KVM_RUN, fd, KVM_RUN, one_in(16) ? r64() : 0) < 0)
			break;
		/* IO and MMIO: leave (or scribble) the data, enter again. */
		if (run->exit_reason != KVM_EXIT_IO &&
		    run->exit_reason != KVM_EXIT_MMIO &&
		    run->exit_reason != KVM_EXIT_IRQ_WINDOW_OPEN)
			break;
		if (one_in(8))
			run->mmio.len = interesting();
		if (one_in(8))
			run->io.data_offset = interesting();
		run->immediate_exit = 0;
	}
}

static void op_scribble_run(void)
{
	struct kvm_run *run = run_of(pick_vcpu_idx());

	/* Concurrently with KVM_RUN reading it. */
	count_op(OP_scribble_run, 0);
	if (one_in(2))
		mutate_run(run);
	else
		mutate((uint8_t *)run + rnd(2048), 2048);
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
