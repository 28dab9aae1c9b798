/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What fuzz_ioctl.c and the rest of fuzz_ioctl (the .c files here,
 * linked into the same program) share: the limits, the operations, the
 * object table and the per-thread state.  See the header comment of
 * tests/fuzz_ioctl.c for what the fuzzer does.
 */
#ifndef KVISOR_FUZZ_IOCTL_H
#define KVISOR_FUZZ_IOCTL_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <linux/kvm.h>

#include "fuzz.h"

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

/* Known-good contents to mutate: KVM_GET_SUPPORTED_CPUID's answer. */
struct supported_cpuid {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[256];
};
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

extern struct vcpu_ent vcpus[MAX_VCPUS];
extern struct supported_cpuid supported_cpuid;
extern uint32_t msr_list[1024];
extern unsigned int nr_msr_list;
extern __thread struct th *self;

/*
 * In the svm test host: keep clear of QEMU 7.2's #VMEXIT bug with a guest
 * EFER.LME=1 while CR0.PG=0 and CR4.PAE=0 (Documentation/testing.rst).
 */
void avoid_qemu_lme_msrs(struct kvm_msrs *m);

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

/* In fuzz_ioctl.c */
long xio(int op, int fd, unsigned long req, unsigned long arg);
long xio_p(int op, int fd, unsigned long req, void *arg);
void count_op(int op, long ret);
int pick_vcpu_idx(void);
int pick_vcpu(void);
struct kvm_run *run_of(int idx);
void *at_end(size_t size);
void *maybe_bad(void *good, size_t size, int out, int *bad);
void mutate(void *p, size_t size);

/* In fuzz_ioctl/vcpu.c */
void op_vcpu_state(void);
void op_vcpu_msrs_cpuid(void);
void op_vcpu_misc(void);
void op_run(void);
void op_scribble_run(void);

#endif /* KVISOR_FUZZ_IOCTL_H */
