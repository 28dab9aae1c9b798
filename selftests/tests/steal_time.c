// SPDX-License-Identifier: GPL-2.0
/*
 * steal_time: KVM's steal time (MSR_KVM_STEAL_TIME) and the PV TLB flush
 * that rides on its @preempted byte, as a guest sees them.
 *  - KVM_GET_SUPPORTED_CPUID offers KVM_FEATURE_STEAL_TIME and
 *    KVM_FEATURE_PV_TLB_FLUSH, KVM_GET_MSR_INDEX_LIST lists the MSR;
 *  - the guest's WRMSR with a reserved bit is #GP, a good one reads back
 *    (RDMSR, KVM_GET_MSRS), and userspace's KVM_SET_MSRS refuses the
 *    reserved bit too;
 *  - the vCPU thread and a busy thread pinned to one host CPU: the steal
 *    the guest sees grows (by no more than the thread's run_delay), its
 *    version is even whenever the guest reads a value, @preempted is 0
 *    whenever the guest runs, and the busy thread, which runs only while
 *    the vCPU thread waits, sees KVM_VCPU_PREEMPTED there;
 *  - the time the thread waits outside KVM_RUN is steal too, counted at
 *    the next KVM_RUN (what upstream's steal_time checks);
 *  - KVM_VCPU_FLUSH_TLB that userspace writes into @preempted between two
 *    KVM_RUNs is consumed (0 again) and flushes (kvisor's pv_tlb_flush
 *    statistic, KVM's tlb_flush under in-tree KVM), and not without the
 *    bit;
 *  - two vCPUs on one host CPU: the second sets KVM_VCPU_FLUSH_TLB with a
 *    cmpxchg whenever it finds the first preempted, as Linux's
 *    kvm_flush_tlb_multi() does; each such request is one flush;
 *  - with KVM_CAP_ENFORCE_PV_FEATURE_CPUID and the bit hidden, the MSR
 *    is #GP for the guest and refused to KVM_GET/SET_MSRS; with only
 *    PV_TLB_FLUSH hidden, KVM_VCPU_FLUSH_TLB is cleared without a flush.
 * Nothing here needs a second host CPU: everything runs on one.  Runs
 * under in-tree KVM too (KVHOST_HYPERVISOR=intree).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/kvm_para.h>
#include <asm/kvm_para.h>

#include "kvm_util.h"

#define GP_VEC		13
#define STEAL_NS	20000000ULL	/* the steal the guest waits for */
#define DELAY_NS	10000000ULL	/* the wait outside KVM_RUN */
#define NR_FLUSHES	3
#define TIMEOUT_TSC	100000000000ULL	/* far beyond the test's time */

static struct kvm_steal_time st[2] __attribute__((aligned(64)));
static volatile uint32_t flush_done, flushes_set;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

/* A consistent steal value, as Linux's kvm_steal_clock() reads it. */
static uint64_t read_steal(volatile struct kvm_steal_time *s)
{
	uint32_t version;
	uint64_t steal;

	do {
		version = s->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		steal = s->steal;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((version & 1) || version != s->version);
	return steal;
}

static void guest_main(void)
{
	volatile struct kvm_steal_time *s = &st[0];
	uint64_t gpa = (uint64_t)&st[0], s0, steal, t0;

	wrmsr(MSR_KVM_STEAL_TIME, gpa | (1 << 3) | KVM_MSR_ENABLED);
	GUEST_ASSERT_EQ(guest_gp_count, 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_STEAL_TIME), 0);
	wrmsr(MSR_KVM_STEAL_TIME, gpa | KVM_MSR_ENABLED);
	GUEST_ASSERT_EQ(guest_gp_count, 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_STEAL_TIME), gpa | KVM_MSR_ENABLED);
	/* Updated before the guest went on: version even, not zero. */
	GUEST_ASSERT(s->version && !(s->version & 1));
	GUEST_ASSERT_EQ(s->flags, 0);
	GUEST_ASSERT_EQ(s->preempted, 0);
	GUEST_SYNC(1);

	/* A busy thread shares the host CPU now: wait for the steal. */
	s0 = read_steal(s);
	t0 = rdtsc();
	do {
		GUEST_ASSERT_EQ(s->preempted, 0);
		steal = read_steal(s);
	} while (steal - s0 < STEAL_NS && rdtsc() - t0 < TIMEOUT_TSC);
	GUEST_SYNC2(s0, steal);

	/* The host thread waited outside KVM_RUN meanwhile. */
	s0 = read_steal(s);
	GUEST_SYNC(s0);
	GUEST_SYNC(read_steal(s));
	/* Userspace wrote KVM_VCPU_FLUSH_TLB here before this KVM_RUN. */
	GUEST_SYNC(s->preempted);
	GUEST_DONE();
}

/* Host side ------------------------------------------------------------ */

static int one_cpu;

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

/* The calling thread's run_delay: ns it waited on a run queue. */
static uint64_t run_delay(void)
{
	unsigned long long exec, delay;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat",
		 gettid_());
	f = fopen(path, "r");
	TEST_ASSERT(f, "%s: %s", path, strerror(errno));
	n = fscanf(f, "%llu %llu", &exec, &delay);
	fclose(f);
	TEST_ASSERT(n == 2, "%s unreadable", path);
	return delay;
}

struct busy {
	pthread_t thread;
	volatile bool stop;
	volatile struct kvm_steal_time *watch;	/* or NULL */
	uint64_t seen_preempted;
};

/* Takes the CPU from the vCPU thread, and looks at @preempted meanwhile. */
static void *busy_thread(void *arg)
{
	struct busy *b = arg;

	pin_thread(0, one_cpu);
	while (!b->stop)
		if (b->watch && (b->watch->preempted & KVM_VCPU_PREEMPTED))
			b->seen_preempted++;
	return NULL;
}

static void busy_start(struct busy *b, volatile struct kvm_steal_time *watch)
{
	b->stop = false;
	b->watch = watch;
	b->seen_preempted = 0;
	TEST_ASSERT(!pthread_create(&b->thread, NULL, busy_thread, b),
		    "pthread_create");
}

static void busy_stop(struct busy *b)
{
	b->stop = true;
	TEST_ASSERT(!pthread_join(b->thread, NULL), "pthread_join");
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t index, int *n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	*n = ioctl(vcpu->fd, KVM_GET_MSRS, &m);
	return m.e.data;
}

static int set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return ioctl(vcpu->fd, KVM_SET_MSRS, &m);
}

/* The flush count: kvisor's own statistic, or KVM's every-flush one. */
static uint64_t flushes(struct kvm_vcpu *vcpu, bool *exact)
{
	uint64_t v = vcpu_get_stat(vcpu, "pv_tlb_flush");

	*exact = v != ~0ULL;
	if (!*exact)
		v = vcpu_get_stat(vcpu, "tlb_flush");
	TEST_ASSERT(v != ~0ULL, "neither pv_tlb_flush nor tlb_flush");
	return v;
}

static void check_supported(void)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	struct kvm_cpuid_entry2 *e = cpuid_find_leaf(cpuid, KVM_CPUID_FEATURES);
	struct kvm_msr_list *list;
	int kvm = open_kvm_dev_path_or_exit(), i;
	bool listed = false;

	TEST_ASSERT(e, "no KVM_CPUID_FEATURES leaf");
	TEST_ASSERT(e->eax & (1U << KVM_FEATURE_STEAL_TIME),
		    "KVM_FEATURE_STEAL_TIME not offered: %#x", e->eax);
	TEST_ASSERT(e->eax & (1U << KVM_FEATURE_PV_TLB_FLUSH),
		    "KVM_FEATURE_PV_TLB_FLUSH not offered: %#x", e->eax);
	free(cpuid);
	list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	list->nmsrs = 1024;
	kvm_ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list);
	for (i = 0; i < (int)list->nmsrs; i++)
		listed |= list->indices[i] == MSR_KVM_STEAL_TIME;
	TEST_ASSERT(listed, "MSR_KVM_STEAL_TIME not in KVM_GET_MSR_INDEX_LIST");
	free(list);
	close(kvm);
}

/* The vCPU thread and a busy one on one CPU: the guest sees the steal. */
static void test_steal(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_steal_time *hst = addr_gva2hva(vm, (uint64_t)&st[0]);
	uint64_t r0, r1, s0, steal;
	struct busy b;
	struct ucall uc;

	r0 = run_delay();
	busy_start(&b, hst);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	r1 = run_delay();
	busy_stop(&b);
	s0 = uc.args[0];
	steal = uc.args[1];
	ksft_print_msg("steal %lu ns of run_delay %lu ns; busy thread saw KVM_VCPU_PREEMPTED %lu times; preemption_reported %lu, preemption_other %lu\n",
		       steal - s0, r1 - r0, b.seen_preempted,
		       vcpu_get_stat(vcpu, "preemption_reported"),
		       vcpu_get_stat(vcpu, "preemption_other"));
	TEST_ASSERT(steal - s0 >= STEAL_NS, "steal grew by only %lu ns",
		    steal - s0);
	TEST_ASSERT(steal - s0 <= r1 - r0,
		    "steal %lu ns beyond the thread's run_delay %lu ns",
		    steal - s0, r1 - r0);
	TEST_ASSERT(b.seen_preempted, "KVM_VCPU_PREEMPTED never seen");
	TEST_ASSERT(vcpu_get_stat(vcpu, "preemption_reported") >= 1,
		    "preemption_reported is 0");
	TEST_ASSERT(!(hst->version & 1), "version %u odd", hst->version);
}

/* Waiting for the CPU between two KVM_RUNs is steal too. */
static void test_delay_outside(struct kvm_vcpu *vcpu)
{
	uint64_t d0, d1, s0, s1;
	struct busy b;
	struct ucall uc;

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	s0 = uc.args[0];
	d0 = run_delay();
	busy_start(&b, NULL);
	do
		sched_yield();
	while (run_delay() - d0 < DELAY_NS);
	busy_stop(&b);
	d1 = run_delay();
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	s1 = uc.args[0];
	ksft_print_msg("outside KVM_RUN: run_delay %lu ns, steal %lu ns\n",
		       d1 - d0, s1 - s0);
	TEST_ASSERT(s1 - s0 >= d1 - d0, "steal %lu ns below run_delay %lu ns",
		    s1 - s0, d1 - d0);
}

/*
 * KVM_VCPU_FLUSH_TLB written by userspace, as another vCPU would: taken
 * at the next entry, flushing; then KVM_VCPU_PREEMPTED alone: no flush.
 */
static void test_flush_request(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_steal_time *hst = addr_gva2hva(vm, (uint64_t)&st[0]);
	uint64_t f0, f1;
	struct ucall uc;
	bool exact;

	f0 = flushes(vcpu, &exact);
	hst->preempted = KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB;
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);
	f1 = flushes(vcpu, &exact);
	TEST_ASSERT(exact ? f1 == f0 + 1 : f1 > f0,
		    "flushes %lu -> %lu for KVM_VCPU_FLUSH_TLB", f0, f1);
	hst->preempted = KVM_VCPU_PREEMPTED;
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	TEST_ASSERT_EQ(hst->preempted, 0);
	f0 = flushes(vcpu, &exact);
	TEST_ASSERT(!exact || f0 == f1, "flushes %lu -> %lu without the bit",
		    f1, f0);
	TEST_ASSERT(!(hst->version & 1), "version %u odd", hst->version);
}

static void test_one_vcpu(void)
{
	uint64_t gpa = (uint64_t)&st[0];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int n;

	vm = vm_create_with_one_vcpu(&vcpu, guest_main, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, GP_VEC, guest_skip_gp);
	TEST_ASSERT_EQ(set_msr(vcpu, MSR_KVM_STEAL_TIME,
			       gpa | KVM_STEAL_RESERVED_MASK | KVM_MSR_ENABLED),
		       0);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_KVM_STEAL_TIME, &n), 0);
	TEST_ASSERT_EQ(n, 1);
	pin_thread(0, one_cpu);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_KVM_STEAL_TIME, &n),
		       gpa | KVM_MSR_ENABLED);
	TEST_ASSERT_EQ(n, 1);
	ksft_print_msg("MSR: reserved bits #GP and refused, RDMSR and KVM_GET_MSRS read it back: ok\n");
	test_steal(vm, vcpu);
	test_delay_outside(vcpu);
	test_flush_request(vm, vcpu);
	ksft_print_msg("KVM_VCPU_FLUSH_TLB from userspace consumed with a flush, KVM_VCPU_PREEMPTED alone without: ok\n");
	kvm_vm_free(vm);
}

/* vCPU 0 of the flush test: runs until vCPU 1 made its requests. */
static void guest_flushee(void)
{
	volatile struct kvm_steal_time *s = &st[1];
	uint64_t t0;

	wrmsr(MSR_KVM_STEAL_TIME, (uint64_t)&st[1] | KVM_MSR_ENABLED);
	GUEST_SYNC(0);
	t0 = rdtsc();
	while (!flush_done && rdtsc() - t0 < TIMEOUT_TSC)
		GUEST_ASSERT_EQ(s->preempted, 0);
	GUEST_ASSERT(flush_done);
	GUEST_DONE();
}

/* vCPU 1: Linux's kvm_flush_tlb_multi() for a preempted vCPU 0. */
static void guest_flusher(void)
{
	uint8_t *p = &st[1].preempted, old;
	uint64_t t0 = rdtsc();
	uint32_t n = 0;

	while (n < NR_FLUSHES && rdtsc() - t0 < TIMEOUT_TSC) {
		old = __atomic_load_n(p, __ATOMIC_RELAXED);
		if (old == KVM_VCPU_PREEMPTED &&
		    __atomic_compare_exchange_n(p, &old,
						old | KVM_VCPU_FLUSH_TLB, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			n++;
	}
	flushes_set = n;
	flush_done = 1;
	GUEST_DONE();
}

static void *flusher_thread(void *arg)
{
	pin_thread(0, one_cpu);
	vcpu_run_ucall(arg, UCALL_DONE, NULL);
	return NULL;
}

static void test_two_vcpus(void)
{
	struct kvm_vcpu *v0, *v1;
	struct kvm_steal_time *hst;
	struct kvm_vm *vm;
	pthread_t thread;
	uint64_t f;
	bool exact;

	vm = vm_create(VM_MODE_LONG_4K);
	v0 = vm_vcpu_add(vm, 0, guest_flushee);
	v1 = vm_vcpu_add(vm, 1, guest_flusher);
	hst = addr_gva2hva(vm, (uint64_t)&st[1]);
	pin_thread(0, one_cpu);
	vcpu_run_ucall(v0, UCALL_SYNC, NULL);
	TEST_ASSERT(!pthread_create(&thread, NULL, flusher_thread, v1),
		    "pthread_create");
	vcpu_run_ucall(v0, UCALL_DONE, NULL);
	TEST_ASSERT(!pthread_join(thread, NULL), "pthread_join");
	flushes_set = *(volatile uint32_t *)addr_gva2hva(vm,
						(uint64_t)&flushes_set);
	f = flushes(v0, &exact);
	ksft_print_msg("vCPU 1 requested %u flushes of preempted vCPU 0: %s %lu, preemption_reported %lu\n",
		       flushes_set, exact ? "pv_tlb_flush" : "tlb_flush", f,
		       vcpu_get_stat(v0, "preemption_reported"));
	TEST_ASSERT_EQ(flushes_set, NR_FLUSHES);
	TEST_ASSERT(exact ? f == NR_FLUSHES : f >= NR_FLUSHES,
		    "%lu flushes for %u requests", f, NR_FLUSHES);
	TEST_ASSERT_EQ(hst->preempted, 0);
	kvm_vm_free(vm);
}

/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID: the guest's CPUID decides. */
static void guest_enforce(uint64_t has_steal)
{
	volatile struct kvm_steal_time *s = &st[0];

	wrmsr(MSR_KVM_STEAL_TIME, (uint64_t)&st[0] | KVM_MSR_ENABLED);
	rdmsr(MSR_KVM_STEAL_TIME);
	GUEST_ASSERT_EQ(guest_gp_count, has_steal ? 0 : 2);
	GUEST_SYNC(0);
	GUEST_SYNC(s->preempted);
	GUEST_DONE();
}

static void test_enforce(uint32_t hide)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 },
	};
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	bool has_steal = !(hide & (1U << KVM_FEATURE_STEAL_TIME)), exact;
	struct kvm_steal_time *hst;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t f0;
	int n;

	vm = vm_create_with_one_vcpu(&vcpu, guest_enforce, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, GP_VEC, guest_skip_gp);
	vcpu_args_set(vcpu, 1, (uint64_t)has_steal);
	cpuid_find_leaf(cpuid, KVM_CPUID_FEATURES)->eax &= ~hide;
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap);
	hst = addr_gva2hva(vm, (uint64_t)&st[0]);
	vcpu_run_ucall(vcpu, UCALL_SYNC, NULL);
	get_msr(vcpu, MSR_KVM_STEAL_TIME, &n);
	TEST_ASSERT_EQ(n, has_steal);
	TEST_ASSERT_EQ(set_msr(vcpu, MSR_KVM_STEAL_TIME, 0), has_steal);
	if (has_steal) {
		/* the guest's value again, after the check that it may be set */
		TEST_ASSERT_EQ(set_msr(vcpu, MSR_KVM_STEAL_TIME,
				       (uint64_t)&st[0] | KVM_MSR_ENABLED), 1);
	}
	f0 = flushes(vcpu, &exact);
	hst->preempted = KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB;
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	if (has_steal) {
		TEST_ASSERT_EQ(uc.args[0], 0);
		TEST_ASSERT(!exact || flushes(vcpu, &exact) == f0,
			    "a flush without KVM_FEATURE_PV_TLB_FLUSH");
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
}

int main(void)
{
	cpu_set_t set;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set),
		    "sched_getaffinity");
	for (one_cpu = 0; !CPU_ISSET(one_cpu, &set); one_cpu++)
		;
	ksft_print_msg("%ld host CPUs, all threads on CPU %d\n",
		       sysconf(_SC_NPROCESSORS_ONLN), one_cpu);
	check_supported();
	ksft_print_msg("KVM_FEATURE_STEAL_TIME, PV_TLB_FLUSH offered, MSR listed: ok\n");
	test_one_vcpu();
	test_two_vcpus();
	ksft_print_msg("vCPU 1's KVM_VCPU_FLUSH_TLB for preempted vCPU 0, one flush each: ok\n");
	test_enforce(1U << KVM_FEATURE_STEAL_TIME);
	ksft_print_msg("ENFORCE_PV_FEATURE_CPUID without STEAL_TIME: #GP, KVM_GET/SET_MSRS refused: ok\n");
	test_enforce(1U << KVM_FEATURE_PV_TLB_FLUSH);
	ksft_print_msg("ENFORCE_PV_FEATURE_CPUID without PV_TLB_FLUSH: KVM_VCPU_FLUSH_TLB cleared, no flush: ok\n");
	ksft_exit_pass();
}
