// SPDX-License-Identifier: GPL-2.0
/*
 * apic_timer: the in-kernel local APIC timer (KVM_CREATE_IRQCHIP), driven
 * by the guest through the xAPIC page.
 *  - one-shot: the current count falls, the interrupt arrives not before
 *    the programmed time (measured with RDTSC against KVM_GET_TSC_KHZ)
 *    and not absurdly late, exactly once, and TMCCT then reads 0;
 *  - periodic: several ticks, the k-th no earlier than k periods after
 *    the start; TMICT 0 stops it;
 *  - masked LVTT: the timer counts down (TMCCT reaches 0) but no
 *    interrupt is delivered;
 *  - TSC-deadline (with KVM_CAP_TSC_DEADLINE_TIMER and CPUID.1:ECX[24]
 *    set): LVTT takes the mode, the deadline MSR reads back, fires not
 *    early and then reads 0; a deadline in the past fires at once;
 *    writing 0 disarms.
 * The host is fully emulated in CI, so lateness is only bounded loosely
 * (2 s); earliness is checked with a 1% allowance for TSC calibration.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define APIC_GVA		0xfee00000UL
#define APIC_ID			0x20
#define APIC_EOI		0xb0
#define APIC_SPIV		0xf0
#define APIC_LVTT		0x320
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define LVT_MASKED		(1U << 16)
#define TIMER_PERIODIC		(1U << 17)
#define TIMER_TSCDEADLINE	(2U << 17)
#define TIMER_MODE_MASK		(3U << 17)
#define MSR_TSC_DEADLINE	0x6e0

#define TIMER_VEC		0xe0
#define MAX_TICKS		16
#define ONESHOT_NS		50000000ULL	/* 50 ms at the 1 GHz APIC bus */
#define PERIOD_NS		10000000ULL	/* 10 ms */
#define NR_PERIODIC		5
#define DEADLINE_NS		20000000ULL
#define LATE_LIMIT_NS		2000000000ULL

static volatile uint64_t ticks;
static volatile uint64_t tick_tsc[MAX_TICKS];
static uint64_t guest_tsc_khz;

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_GVA + reg);
}

static inline void apic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(APIC_GVA + reg) = val;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

static void timer_handler(struct ex_regs *regs)
{
	(void)regs;
	if (ticks < MAX_TICKS)
		tick_tsc[ticks] = rdtsc();
	ticks++;
	apic_write(APIC_EOI, 0);
}

static uint64_t ns_to_tsc(uint64_t ns)
{
	return ns * guest_tsc_khz / 1000000;
}

static uint64_t tsc_to_ns(uint64_t tsc)
{
	return tsc * 1000000 / guest_tsc_khz;
}

/* Halt with interrupts on until @n ticks arrived (or a 2 s cap per tick). */
static void wait_ticks(uint64_t n)
{
	uint64_t start = rdtsc();

	while (ticks < n) {
		GUEST_ASSERT(rdtsc() - start < ns_to_tsc(LATE_LIMIT_NS * n));
		asm volatile("sti; hlt; cli" ::: "memory");
	}
}

/* Spin for @ns with interrupts enabled. */
static void spin_ns(uint64_t ns)
{
	uint64_t start = rdtsc();

	asm volatile("sti" ::: "memory");
	while (rdtsc() - start < ns_to_tsc(ns))
		cpu_relax();
	asm volatile("cli" ::: "memory");
}

/* The interrupt came at least @ns after @t0, with 1% allowance. */
static void check_not_early(uint64_t t0, uint64_t t1, uint64_t ns)
{
	uint64_t elapsed = tsc_to_ns(t1 - t0);

	GUEST_ASSERT_EQ(elapsed >= ns - ns / 100, 1);
	GUEST_ASSERT_EQ(elapsed < ns + LATE_LIMIT_NS, 1);
}

static void guest_oneshot(void)
{
	uint64_t t0;
	uint32_t c1, c2;

	ticks = 0;
	apic_write(APIC_LVTT, TIMER_VEC);
	t0 = rdtsc();
	apic_write(APIC_TMICT, ONESHOT_NS);
	c1 = apic_read(APIC_TMCCT);
	spin_ns(100000);		/* 100 us, ticks stays 0 */
	c2 = apic_read(APIC_TMCCT);
	GUEST_ASSERT_EQ(apic_read(APIC_TMICT), ONESHOT_NS);
	GUEST_ASSERT(c1 > 0 && c1 <= ONESHOT_NS);
	GUEST_ASSERT(c2 < c1);
	wait_ticks(1);
	check_not_early(t0, tick_tsc[0], ONESHOT_NS);
	GUEST_ASSERT_EQ(apic_read(APIC_TMCCT), 0);
	spin_ns(ONESHOT_NS * 2);	/* one-shot: nothing more */
	GUEST_ASSERT_EQ(ticks, 1);
	GUEST_SYNC(1);
}

static void guest_periodic(void)
{
	uint64_t t0, n;
	int i;

	ticks = 0;
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_PERIODIC);
	t0 = rdtsc();
	apic_write(APIC_TMICT, PERIOD_NS);
	wait_ticks(NR_PERIODIC);
	apic_write(APIC_TMICT, 0);		/* stops the timer */
	for (i = 0; i < NR_PERIODIC; i++)
		check_not_early(t0, tick_tsc[i], PERIOD_NS * (i + 1));
	n = ticks;
	spin_ns(PERIOD_NS * 5);
	/* at most one that was already in IRR when it stopped */
	GUEST_ASSERT(ticks <= n + 1);
	GUEST_SYNC2(2, ticks);
}

static void guest_masked(void)
{
	ticks = 0;
	apic_write(APIC_LVTT, TIMER_VEC | LVT_MASKED);
	apic_write(APIC_TMICT, PERIOD_NS);
	spin_ns(PERIOD_NS * 5);
	GUEST_ASSERT_EQ(apic_read(APIC_TMCCT), 0);
	GUEST_ASSERT_EQ(ticks, 0);
	GUEST_SYNC(3);
}

static void guest_tscdeadline(void)
{
	uint64_t t0, dl;

	ticks = 0;
	apic_write(APIC_LVTT, TIMER_VEC | TIMER_TSCDEADLINE);
	GUEST_ASSERT_EQ(apic_read(APIC_LVTT) & TIMER_MODE_MASK,
			TIMER_TSCDEADLINE);
	t0 = rdtsc();
	dl = t0 + ns_to_tsc(DEADLINE_NS);
	wrmsr(MSR_TSC_DEADLINE, dl);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_DEADLINE), dl);
	wait_ticks(1);
	GUEST_ASSERT(tick_tsc[0] >= dl);
	check_not_early(t0, tick_tsc[0], DEADLINE_NS);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_DEADLINE), 0);

	/* in the past: at once */
	t0 = rdtsc();
	wrmsr(MSR_TSC_DEADLINE, 1);
	wait_ticks(2);
	GUEST_ASSERT(tsc_to_ns(tick_tsc[1] - t0) < LATE_LIMIT_NS);

	/* 0 disarms */
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + ns_to_tsc(DEADLINE_NS));
	wrmsr(MSR_TSC_DEADLINE, 0);
	spin_ns(DEADLINE_NS * 3);
	GUEST_ASSERT_EQ(ticks, 2);
	GUEST_SYNC(4);
}

static void guest_code(uint64_t tsc_khz, uint64_t tscdeadline)
{
	guest_tsc_khz = tsc_khz;
	apic_write(APIC_SPIV, 0x1ff);		/* software enable */
	apic_write(APIC_TDCR, 0xb);		/* divide by 1 */
	guest_oneshot();
	guest_periodic();
	guest_masked();
	if (tscdeadline)
		guest_tscdeadline();
	GUEST_DONE();
}

/* KVM_GET_SUPPORTED_CPUID with TSC-deadline (leaf 1 ECX bit 24) on. */
static void set_cpuid_tscdeadline(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	uint32_t i;

	TEST_ASSERT(cpuid, "KVM_GET_SUPPORTED_CPUID");
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			cpuid->entries[i].ecx |= 1U << 24;
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool tscdl;
	int khz;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	virt_map(vm, APIC_GVA, APIC_GVA, PAGE_SIZE_4K);
	vm_install_exception_handler(vm, TIMER_VEC, timer_handler);

	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ: %d (%s)", khz, strerror(errno));
	tscdl = kvm_check_cap(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (tscdl)
		set_cpuid_tscdeadline(vcpu);
	vcpu_args_set(vcpu, 2, (uint64_t)khz, (uint64_t)tscdl);
	ksft_print_msg("guest TSC at %d kHz\n", khz);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	ksft_print_msg("one-shot: TMCCT falls, one interrupt, not before 50 ms, TMCCT 0 after: ok\n");
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	ksft_print_msg("periodic: %d ticks, the k-th not before k * 10 ms, TMICT 0 stops it: ok\n",
		       NR_PERIODIC);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);
	ksft_print_msg("masked LVTT: counts down to 0, no interrupt: ok\n");
	if (tscdl) {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 4);
		ksft_print_msg("TSC-deadline: fires not early, MSR reads 0 after; past deadline fires at once; 0 disarms: ok\n");
	} else {
		ksft_print_msg("no KVM_CAP_TSC_DEADLINE_TIMER: TSC-deadline not tested\n");
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
