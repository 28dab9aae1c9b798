// SPDX-License-Identifier: GPL-2.0
/*
 * host_segments: the host thread's segments, and the guest's, across many
 * exits, preemptions and KVM_RUNs.
 *
 * A VM exit leaves the CPU with null data selectors, no LDT, the kernel's
 * GS base and a GDT limit of 0xffff.  VMX puts the host's back once a
 * KVM_RUN, and when the scheduler takes the CPU (vmx_vcpu_put()), not at
 * every exit; SVM's VMLOAD does it at every exit.  Either way the thread
 * that called KVM_RUN must find its own, and so must every other thread
 * that ran on the CPU meanwhile.
 *
 * The vCPU thread runs with DS = __USER_DS, ES an LDT selector, GS =
 * __USER_DS with its own GS base (WRGSBASE where the host allows it, or
 * else GS 0 with arch_prctl's base) and glibc's FS base.  A busy thread
 * with segments of its own shares the CPU, so the scheduler preempts the
 * vCPU thread in the middle of KVM_RUN.  The guest sets its own FS, GS
 * and KERNEL_GS_BASE, and its SYSCALL MSRs (which VMX, too, keeps in the
 * CPU from the first entry of a KVM_RUN to the put, while the host's
 * kernel runs and the busy thread waits to make its system calls), and
 * runs batches of CPUID exits, each followed by a HLT long enough for the
 * vCPU thread to sleep and the busy thread to run, checking its bases and
 * SYSCALL MSRs after each; after each KVM_RUN the host checks its
 * selectors and bases, that ES's LDT entry still loads, and that
 * KVM_GET_MSRS gives the guest's SYSCALL MSRs and KERNEL_GS_BASE.  On VMX, the vCPU's
 * host_state_reload statistic must count each KVM_RUN, and at most one
 * more for each time the thread was preempted in one: not the exits.
 */
#include <asm/ldt.h>
#include <asm/prctl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apic.h"
#include "kvm_util.h"
#include "kmod.h"

#define ROUNDS		40
#define BATCH		500	/* CPUID exits per KVM_RUN */
#define HALT_NS		2000000	/* then a HLT until a 2 ms timer fires */
#define TIMER_VEC	0xe0

#define HOST_USER_DS		0x2b	/* GDT_ENTRY_DEFAULT_USER_DS * 8 + 3 */
#define LDT_SEL		0x07	/* LDT entry 0, TI, RPL 3 */
#define HOST_GS_BASE	0x7f00dead0000ULL
#define BUSY_GS_BASE	0x7f00beef0000ULL

#define GUEST_FS_BASE		0xffff888000001000ULL
#define GUEST_GS_BASE		0xffff888000002000ULL
#define GUEST_KGS_BASE		0x00007fff00003000ULL

#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084

/* The guest's SYSCALL MSRs, and KERNEL_GS_BASE: none is the host's */
static const uint64_t guest_syscall_msrs[][2] = {
	{ MSR_STAR, 0x0023001000000000ULL },
	{ MSR_LSTAR, 0xffffffff8123f000ULL },
	{ MSR_CSTAR, 0xffffffff8123f100ULL },
	{ MSR_SYSCALL_MASK, 0x47700 },
	{ MSR_KERNEL_GS_BASE, GUEST_KGS_BASE },
};

static void guest_check_syscall_msrs(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guest_syscall_msrs); i++)
		GUEST_ASSERT_EQ(rdmsr(guest_syscall_msrs[i][0]),
				guest_syscall_msrs[i][1]);
}

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE		(1 << 1)
#endif

static uint64_t timer_irqs;	/* the guest's own copy */

static void timer_handler(struct ex_regs *regs)
{
	(void)regs;
	timer_irqs++;
	xapic_write(APIC_EOI, 0);
}

static void guest_code(void)
{
	uint32_t a, b, c, d;
	uint64_t want;
	int round, i;

	xapic_enable();
	xapic_write(APIC_TDCR, 0xb);		/* divide by 1: 1 GHz bus */
	wrmsr(MSR_FS_BASE, GUEST_FS_BASE);
	wrmsr(MSR_GS_BASE, GUEST_GS_BASE);
	for (i = 0; i < (int)ARRAY_SIZE(guest_syscall_msrs); i++)
		wrmsr(guest_syscall_msrs[i][0], guest_syscall_msrs[i][1]);
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < BATCH; i++)
			asm volatile("cpuid"
				     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				     : "a"(0), "c"(0));
		GUEST_ASSERT_EQ(rdmsr(MSR_FS_BASE), GUEST_FS_BASE);
		GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), GUEST_GS_BASE);
		guest_check_syscall_msrs();
		/* Halt for longer than the host polls: the vCPU thread sleeps. */
		want = timer_irqs + 1;
		xapic_write(APIC_LVTT, TIMER_VEC);	/* one-shot */
		xapic_write(APIC_TMICT, HALT_NS);
		while (timer_irqs < want)
			asm volatile("sti; hlt; cli" ::: "memory");
		GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), GUEST_GS_BASE);
		guest_check_syscall_msrs();
		GUEST_SYNC(round);
	}
	GUEST_DONE();
}

static bool fsgsbase;

/* This thread's segment state, as it can see it. */
struct segs {
	uint16_t ds, es, gs;
	uint64_t fs_base, gs_base;
};

static void read_segs(struct segs *s)
{
	unsigned long base;

	asm volatile("mov %%ds, %0" : "=r"(s->ds));
	asm volatile("mov %%es, %0" : "=r"(s->es));
	asm volatile("mov %%gs, %0" : "=r"(s->gs));
	TEST_ASSERT(!syscall(SYS_arch_prctl, ARCH_GET_FS, &base),
		    "ARCH_GET_FS");
	s->fs_base = base;
	if (fsgsbase) {
		asm volatile("rdgsbase %0" : "=r"(base));
	} else {
		TEST_ASSERT(!syscall(SYS_arch_prctl, ARCH_GET_GS, &base),
			    "ARCH_GET_GS");
	}
	s->gs_base = base;
}

/* ES from the LDT, DS and GS from the GDT, and a GS base of our own. */
static void set_segs(uint64_t gs_base)
{
	uint16_t ds = HOST_USER_DS, es = LDT_SEL;

	asm volatile("mov %0, %%ds" : : "r"(ds));
	asm volatile("mov %0, %%es" : : "r"(es));
	if (fsgsbase) {
		asm volatile("mov %0, %%gs" : : "r"(ds));
		asm volatile("wrgsbase %0" : : "r"(gs_base));
	} else {
		TEST_ASSERT(!syscall(SYS_arch_prctl, ARCH_SET_GS, gs_base),
			    "ARCH_SET_GS");
	}
}

static void check_segs(const char *who, const struct segs *want)
{
	uint16_t es = LDT_SEL;
	struct segs now;

	read_segs(&now);
	TEST_ASSERT(now.ds == want->ds && now.es == want->es &&
		    now.gs == want->gs,
		    "%s: selectors DS %#x ES %#x GS %#x, expected %#x %#x %#x",
		    who, now.ds, now.es, now.gs, want->ds, want->es, want->gs);
	TEST_ASSERT(now.fs_base == want->fs_base,
		    "%s: FS base %#lx, expected %#lx", who, now.fs_base,
		    want->fs_base);
	TEST_ASSERT(now.gs_base == want->gs_base,
		    "%s: GS base %#lx, expected %#lx", who, now.gs_base,
		    want->gs_base);
	/* The LDT is still there: loading from it again would #GP. */
	asm volatile("mov %0, %%es" : : "r"(es));
}

static volatile bool busy_stop;
static uint64_t busy_checks;

static void *busy_thread(void *arg)
{
	struct segs want;

	(void)arg;
	set_segs(BUSY_GS_BASE);
	read_segs(&want);
	while (!busy_stop) {
		check_segs("busy thread", &want);
		busy_checks++;
	}
	return NULL;
}

int main(void)
{
	struct user_desc ldt = {
		.entry_number = 0, .base_addr = 0, .limit = 0xfffff,
		.seg_32bit = 1, .contents = 0, .read_exec_only = 0,
		.limit_in_pages = 1, .seg_not_present = 0, .useable = 1,
	};
	uint64_t reload0, exits0, preempt0, sleep0;
	uint64_t reloads, exits, preempts, sleeps;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct segs want;
	struct ucall uc;
	pthread_t busy;
	unsigned int i;
	int round;

	fsgsbase = getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE;
	TEST_ASSERT(!syscall(SYS_modify_ldt, 1, &ldt, sizeof(ldt)),
		    "modify_ldt");
	pin_thread(0, 0);
	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	apic_map(vm);
	vm_install_exception_handler(vm, TIMER_VEC, timer_handler);
	set_segs(HOST_GS_BASE);
	read_segs(&want);
	ksft_print_msg("host segments: DS %#x ES %#x GS %#x, FS base %#lx, GS base %#lx (%s)\n",
		       want.ds, want.es, want.gs, want.fs_base, want.gs_base,
		       fsgsbase ? "WRGSBASE" : "arch_prctl");
	TEST_ASSERT(pthread_create(&busy, NULL, busy_thread, NULL) == 0,
		    "pthread_create");

	reload0 = vcpu_get_stat(vcpu, "host_state_reload");
	exits0 = vcpu_get_stat(vcpu, "exits");
	preempt0 = vcpu_get_stat(vcpu, "preemption_reported") +
		   vcpu_get_stat(vcpu, "preemption_other");
	sleep0 = vcpu_get_stat(vcpu, "halt_wait_hist");
	for (round = 0; round < ROUNDS; round++) {
		vcpu_run(vcpu);
		check_segs("vCPU thread", &want);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC &&
			    uc.args[0] == (uint64_t)round,
			    "round %d: %s", round, vcpu_exit_details(vcpu));
		for (i = 0; i < ARRAY_SIZE(guest_syscall_msrs); i++)
			TEST_ASSERT_EQ(vcpu_get_msr(vcpu, guest_syscall_msrs[i][0]),
				       guest_syscall_msrs[i][1]);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, &uc);
	check_segs("vCPU thread", &want);
	busy_stop = true;
	pthread_join(busy, NULL);

	reloads = vcpu_get_stat(vcpu, "host_state_reload") - reload0;
	exits = vcpu_get_stat(vcpu, "exits") - exits0;
	preempts = vcpu_get_stat(vcpu, "preemption_reported") +
		   vcpu_get_stat(vcpu, "preemption_other") - preempt0;
	sleeps = vcpu_get_stat(vcpu, "halt_wait_hist") - sleep0;
	ksft_print_msg("%lu exits in %d KVM_RUNs, in which the thread slept in HLT %lu times and was preempted %lu times; host_state_reload %lu; the busy thread checked its segments %lu times\n",
		       exits, ROUNDS + 1, sleeps, preempts, reloads,
		       busy_checks);
	TEST_ASSERT(sleeps >= ROUNDS / 2,
		    "the vCPU thread slept in only %lu of %d HLTs", sleeps,
		    ROUNDS);
	TEST_ASSERT(exits >= ROUNDS * BATCH, "only %lu exits", exits);
	TEST_ASSERT(busy_checks > 0, "the busy thread never ran");
	/*
	 * KVM counts each vcpu_put; kvisor only the puts with VMX's lazily
	 * switched state to put back, so none on SVM.  On VMX: one at each
	 * KVM_RUN's end and each sleep, but for a sleep that came after a
	 * preemption had put it back already, and one at most for each
	 * preemption.
	 */
	if (kmod_loaded("kvisor") && !host_cpu_is_amd())
		TEST_ASSERT(reloads + preempts >= ROUNDS + 1 + sleeps &&
			    reloads <= ROUNDS + 1 + sleeps + preempts,
			    "host_state_reload %lu for %d KVM_RUNs, %lu sleeps, %lu preemptions",
			    reloads, ROUNDS + 1, sleeps, preempts);
	else if (kmod_loaded("kvisor"))
		TEST_ASSERT(reloads == 0, "host_state_reload %lu on SVM",
			    reloads);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
