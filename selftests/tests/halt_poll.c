// SPDX-License-Identifier: GPL-2.0
/*
 * halt_poll: HLT with adaptive halt polling, KVM's module parameters
 * (halt_poll_ns and friends) and KVM_CAP_HALT_POLL, seen through the
 * vCPU's binary stats fd under KVM's names.
 *  - LAPIC timer wake-ups, halt_poll_ns = 0: no poll is attempted, the
 *    vCPU sleeps and is woken (halt_wakeup, halt_wait_ns);
 *  - the same with a 2 ms maximum: the window grows from
 *    halt_poll_ns_grow_start until a 1 ms timer ends the halt while
 *    polling (halt_successful_poll), and the histograms add up to the
 *    counters;
 *  - KVM_CAP_HALT_POLL overrides the parameter both ways: 2 ms with the
 *    parameter at 0 polls, 0 with the parameter at 2 ms does not;
 *    a value beyond 32 bits, or flags, are -EINVAL;
 *  - an IPI from another vCPU ends the halt (halt_wakeup); with more
 *    than one host CPU, polling catches it too;
 *  - irq_injections equals the interrupts the guest's handlers counted,
 *    nmi_injections the NMIs (KVM_NMI);
 *  - the guest's MSR_KVM_POLL_CONTROL at 0 stops the polling (a bit other
 *    than bit 0 is #GP), as KVM_FEATURE_POLL_CONTROL says.
 * Runs under in-tree KVM too (KVHOST_HYPERVISOR=intree), with kvm.ko's
 * parameters; there irq_injections may exceed the count, since KVM also
 * counts re-injections.  (In the SVM test host, QEMU's emulated SVM at
 * times delivers an interrupt KVM injected twice, which kvisor works
 * around: see irq_once.)
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "apic.h"
#include "kvm_util.h"

#define KVISOR_PARAMS	"/sys/module/kvisor/parameters/"
#define KVM_PARAMS	"/sys/module/kvm/parameters/"
#define TIMER_VEC	0xe0
/*
 * The timer of the polling phases.  Long enough that the guest is in HLT
 * before it expires, on a debug kernel too (there a 100 us timer beat 38
 * of 40 HLTs, which then had nothing to poll for), and within the 2 ms
 * maximum, so that the window grows to cover it.
 */
#define POLL_TIMER_NS	1000000
#define IPI_VEC		0x40
#define WAKE_VEC	0x41
#define NMI_VEC		2
#define GP_VEC		13
#define MSR_KVM_POLL_CONTROL	0x4b564d05
#define POLL_MAX_NS	2000000
#define NR_HALTS	40
#define NR_IPIS		50
#define TIMEOUT_TSC	30000000000ULL	/* ~10 s and more */

static const char *param_dir = KVISOR_PARAMS;
static char saved_poll_ns[32];
static bool kvisor = true;

/* Guest state: written by the host between phases, counted by handlers. */
static uint32_t timer_ns, nr_halts;
static uint64_t poll_control = 1;	/* MSR_KVM_POLL_CONTROL */
static volatile uint32_t irqs0, nmis0;
static volatile uint32_t irqs1, ipis1, ready1, done1;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

/* The guest's copy of a counter its handlers bump. */
static uint32_t guest_u32(struct kvm_vm *vm, volatile uint32_t *p)
{
	return *(volatile uint32_t *)addr_gva2hva(vm, (uint64_t)p);
}

static void timer_handler(struct ex_regs *regs)
{
	(void)regs;
	irqs0++;
	xapic_write(APIC_EOI, 0);
}

static void nmi_handler(struct ex_regs *regs)
{
	(void)regs;
	nmis0++;
}

/*
 * Each phase: MSR_KVM_POLL_CONTROL set to poll_control (bit 1, which does
 * not exist, must #GP), then each round a one-shot timer of timer_ns and
 * HLT until it fired.
 */
static void guest_timer(void)
{
	uint32_t i, want;
	uint64_t start;

	xapic_enable();
	xapic_write(APIC_TDCR, 0xb);		/* divide by 1: 1 GHz bus */
	for (;;) {
		want = guest_gp_count + 1;
		wrmsr(MSR_KVM_POLL_CONTROL, 3);
		GUEST_ASSERT_EQ(guest_gp_count, want);
		wrmsr(MSR_KVM_POLL_CONTROL, poll_control);
		GUEST_ASSERT_EQ(rdmsr(MSR_KVM_POLL_CONTROL), poll_control);
		for (i = 0; i < nr_halts; i++) {
			want = irqs0 + 1;
			xapic_write(APIC_LVTT, TIMER_VEC);	/* one-shot */
			xapic_write(APIC_TMICT, timer_ns);
			start = rdtsc();
			while (irqs0 < want) {
				GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
				asm volatile("sti; hlt; cli" ::: "memory");
			}
		}
		GUEST_SYNC(i);
	}
}

static void ipi_handler(struct ex_regs *regs)
{
	(void)regs;
	irqs1++;
	ipis1++;
	xapic_write(APIC_EOI, 0);
}

static void wake_handler(struct ex_regs *regs)
{
	(void)regs;
	irqs1++;
	xapic_write(APIC_EOI, 0);
}

/* vCPU 1 halts until vCPU 0's IPIs arrive. */
static void guest_ipi(uint64_t id)
{
	uint64_t start = rdtsc();
	uint32_t i;

	xapic_enable();
	if (id) {
		/* an IPI to a software-disabled APIC would be lost */
		ready1 = 1;
		while (!done1) {
			GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
			asm volatile("sti; hlt; cli" ::: "memory");
		}
		GUEST_DONE();
	}
	while (!ready1) {
		GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
		cpu_relax();
	}
	for (i = 0; i < NR_IPIS; i++) {
		xapic_send_ipi(1, IPI_VEC);
		while (ipis1 < i + 1) {
			GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
			cpu_relax();
		}
	}
	done1 = 1;
	xapic_send_ipi(1, WAKE_VEC);
	GUEST_DONE();
}

static int vcpu_stats_fd(struct kvm_vcpu *vcpu)
{
	int fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);

	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD: %s", strerror(errno));
	return fd;
}

static const char *const halt_stats[] = {
	"halt_exits", "halt_attempted_poll", "halt_successful_poll",
	"halt_poll_invalid", "halt_wakeup", "halt_poll_success_ns",
	"halt_poll_fail_ns", "halt_wait_ns", "halt_poll_success_hist",
	"halt_poll_fail_hist", "halt_wait_hist", "irq_injections",
	"nmi_injections",
};
#define NR_HALT_STATS	ARRAY_SIZE(halt_stats)
enum { EXITS, ATTEMPTED, SUCCESS, INVALID, WAKEUP, SUCCESS_NS, FAIL_NS,
       WAIT_NS, SUCCESS_HIST, FAIL_HIST, WAIT_HIST, IRQS, NMIS };

static void snapshot(int fd, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < NR_HALT_STATS; i++)
		v[i] = stats_fd_value(fd, halt_stats[i]);
}

/* What every halt phase must show, whatever the window. */
static void check_common(const char *what, const uint64_t *d)
{
	ksft_print_msg("%s: halt_exits %lu attempted %lu successful %lu wakeup %lu success_ns %lu fail_ns %lu wait_ns %lu waits %lu\n",
		       what, d[EXITS], d[ATTEMPTED], d[SUCCESS], d[WAKEUP],
		       d[SUCCESS_NS], d[FAIL_NS], d[WAIT_NS], d[WAIT_HIST]);
	TEST_ASSERT(d[SUCCESS] <= d[ATTEMPTED] && d[INVALID] == 0,
		    "%s: successful %lu attempted %lu invalid %lu", what,
		    d[SUCCESS], d[ATTEMPTED], d[INVALID]);
	TEST_ASSERT(d[SUCCESS_HIST] == d[SUCCESS] &&
		    d[FAIL_HIST] == d[ATTEMPTED] - d[SUCCESS],
		    "%s: histograms %lu + %lu for %lu of %lu polls", what,
		    d[SUCCESS_HIST], d[FAIL_HIST], d[SUCCESS], d[ATTEMPTED]);
	/* every halt that slept was timed, and its waker counted */
	TEST_ASSERT(d[WAIT_HIST] <= d[EXITS] && (!d[WAIT_HIST]) == (!d[WAIT_NS]),
		    "%s: %lu waits (%lu ns) in %lu halts", what, d[WAIT_HIST],
		    d[WAIT_NS], d[EXITS]);
}

static void param_write(const char *name, const char *val)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s%s", param_dir, name);
	fd = open(path, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		    "write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

static void param_restore(void)
{
	if (saved_poll_ns[0])
		param_write("halt_poll_ns", saved_poll_ns);
}

static void param_read(const char *name, char *buf, size_t len)
{
	char path[128], *nl;

	snprintf(path, sizeof(path), "%s%s", param_dir, name);
	read_text_file(path, buf, len);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
}

/* Run @halts timer halts of @ns each; the stats' deltas in @d. */
static void timer_phase(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			int fd, uint32_t ns, uint32_t halts,
			uint64_t *d)
{
	uint64_t before[NR_HALT_STATS], after[NR_HALT_STATS];
	uint32_t irqs_before = guest_u32(vm, &irqs0);
	uint32_t nmis_before = guest_u32(vm, &nmis0);
	uint32_t irqs, nmis;
	unsigned int i;

	timer_ns = ns;
	nr_halts = halts;
	sync_global_to_guest(vm, timer_ns);
	sync_global_to_guest(vm, nr_halts);
	snapshot(fd, before);
	vcpu_run_ucall(vcpu, UCALL_SYNC, NULL);
	snapshot(fd, after);
	irqs = guest_u32(vm, &irqs0) - irqs_before;
	nmis = guest_u32(vm, &nmis0) - nmis_before;
	for (i = 0; i < NR_HALT_STATS; i++)
		d[i] = after[i] - before[i];
	TEST_ASSERT(d[EXITS] >= halts, "%lu halt exits for %u halts",
		    d[EXITS], halts);
	TEST_ASSERT(kvisor ? d[IRQS] == irqs : d[IRQS] >= irqs,
		    "irq_injections %lu, the guest took %u interrupts",
		    d[IRQS], irqs);
	TEST_ASSERT(d[NMIS] == nmis,
		    "nmi_injections %lu, the guest took %u NMIs", d[NMIS], nmis);
}

static void enable_halt_poll(struct kvm_vm *vm, uint64_t ns, uint32_t flags,
			     int want_errno)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_HALT_POLL, .flags = flags, .args = { ns },
	};
	int r = __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);

	TEST_ASSERT(want_errno ? r == -1 && errno == want_errno : r == 0,
		    "KVM_CAP_HALT_POLL %#lx flags %#x: %d (%s), expected %s",
		    (unsigned long)ns, flags, r, strerror(errno),
		    want_errno ? strerror(want_errno) : "0");
}

static void timer_tests(void)
{
	uint64_t d[NR_HALT_STATS];
	struct kvm_vcpu *vcpu;
	int fd;
	struct kvm_vm *vm;
	char buf[32];

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_timer);
	apic_map(vm);
	vm_install_exception_handler(vm, TIMER_VEC, timer_handler);
	vm_install_exception_handler(vm, NMI_VEC, nmi_handler);
	vm_install_exception_handler(vm, GP_VEC, guest_skip_gp);
	fd = vcpu_stats_fd(vcpu);

	param_write("halt_poll_ns", "0");
	timer_phase(vm, vcpu, fd, 1000000, NR_HALTS / 2, d);
	check_common("timer 1 ms, halt_poll_ns 0", d);
	TEST_ASSERT(!d[ATTEMPTED] && !d[SUCCESS] && !d[SUCCESS_NS] &&
		    !d[FAIL_NS], "halt_poll_ns 0: %lu polls attempted",
		    d[ATTEMPTED]);
	TEST_ASSERT(d[WAKEUP] >= 1 && d[WAIT_HIST] >= 1,
		    "halt_poll_ns 0: woken %lu times, slept %lu times",
		    d[WAKEUP], d[WAIT_HIST]);

	snprintf(buf, sizeof(buf), "%u", POLL_MAX_NS);
	param_write("halt_poll_ns", buf);
	timer_phase(vm, vcpu, fd, POLL_TIMER_NS, NR_HALTS, d);
	check_common("timer 1 ms, halt_poll_ns 2 ms", d);
	TEST_ASSERT(d[ATTEMPTED] >= 1 && d[SUCCESS] >= 1 && d[SUCCESS_NS],
		    "halt_poll_ns 2 ms: %lu of %lu polls successful",
		    d[SUCCESS], d[ATTEMPTED]);

	/* The guest says no (KVM_FEATURE_POLL_CONTROL): its halts sleep. */
	poll_control = 0;
	sync_global_to_guest(vm, poll_control);
	timer_phase(vm, vcpu, fd, POLL_TIMER_NS, NR_HALTS / 2, d);
	check_common("timer 1 ms, halt_poll_ns 2 ms, MSR_KVM_POLL_CONTROL 0", d);
	TEST_ASSERT(!d[ATTEMPTED] && d[WAKEUP] >= 1,
		    "MSR_KVM_POLL_CONTROL 0: %lu polls attempted, %lu wake-ups",
		    d[ATTEMPTED], d[WAKEUP]);
	poll_control = 1;
	sync_global_to_guest(vm, poll_control);

	/* KVM_NMI: one NMI, counted by the guest and by nmi_injections */
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	timer_phase(vm, vcpu, fd, 100000, 1, d);
	TEST_ASSERT(d[NMIS] == 1 && guest_u32(vm, &nmis0) == 1,
		    "KVM_NMI: %lu injected, %u taken", d[NMIS],
		    guest_u32(vm, &nmis0));

	if (!kvm_check_cap(KVM_CAP_HALT_POLL)) {
		ksft_print_msg("no KVM_CAP_HALT_POLL: not tested\n");
		goto out;
	}
	enable_halt_poll(vm, 1ULL << 32, 0, EINVAL);
	enable_halt_poll(vm, POLL_MAX_NS, 1, EINVAL);
	param_write("halt_poll_ns", "0");
	enable_halt_poll(vm, POLL_MAX_NS, 0, 0);
	timer_phase(vm, vcpu, fd, POLL_TIMER_NS, NR_HALTS, d);
	check_common("KVM_CAP_HALT_POLL 2 ms, halt_poll_ns 0", d);
	TEST_ASSERT(d[ATTEMPTED] >= 1 && d[SUCCESS] >= 1,
		    "KVM_CAP_HALT_POLL 2 ms: %lu of %lu polls successful",
		    d[SUCCESS], d[ATTEMPTED]);

	param_write("halt_poll_ns", buf);
	enable_halt_poll(vm, 0, 0, 0);
	timer_phase(vm, vcpu, fd, POLL_TIMER_NS, NR_HALTS / 2, d);
	check_common("KVM_CAP_HALT_POLL 0, halt_poll_ns 2 ms", d);
	TEST_ASSERT(!d[ATTEMPTED], "KVM_CAP_HALT_POLL 0: %lu polls attempted",
		    d[ATTEMPTED]);
out:
	close(fd);
	kvm_vm_free(vm);
}

static void *ipi_thread(void *arg)
{
	vcpu_run_ucall(arg, UCALL_DONE, NULL);
	return NULL;
}

/* vCPU 1 halts for vCPU 0's IPIs, with halt_poll_ns @poll_ns. */
static void ipi_test(const char *poll_ns)
{
	struct kvm_mp_state runnable = { KVM_MP_STATE_RUNNABLE };
	uint64_t d[NR_HALT_STATS];
	struct kvm_vcpu *vcpus[2];
	pthread_t threads[2];
	struct kvm_vm *vm;
	uint32_t irqs, ipis;
	uint64_t mean;
	int fd;
	char what[64];
	int i;

	param_write("halt_poll_ns", poll_ns);
	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	for (i = 0; i < 2; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, guest_ipi);
		vcpu_ioctl(vcpus[i], KVM_SET_MP_STATE, &runnable);
		vcpu_args_set(vcpus[i], 1, (uint64_t)i);
	}
	apic_map(vm);
	vm_install_exception_handler(vm, IPI_VEC, ipi_handler);
	vm_install_exception_handler(vm, WAKE_VEC, wake_handler);
	fd = vcpu_stats_fd(vcpus[1]);
	for (i = 0; i < 2; i++)
		TEST_ASSERT(!pthread_create(&threads[i], NULL, ipi_thread,
					    vcpus[i]), "pthread_create");
	for (i = 0; i < 2; i++)
		TEST_ASSERT(!pthread_join(threads[i], NULL), "pthread_join");
	snapshot(fd, d);
	irqs = guest_u32(vm, &irqs1);
	ipis = guest_u32(vm, &ipis1);
	snprintf(what, sizeof(what), "IPIs, halt_poll_ns %s", poll_ns);
	check_common(what, d);
	ksft_print_msg("%ld host CPUs\n", sysconf(_SC_NPROCESSORS_ONLN));
	TEST_ASSERT(ipis == NR_IPIS, "%u IPIs taken", ipis);
	TEST_ASSERT(kvisor ? d[IRQS] == irqs : d[IRQS] >= irqs,
		    "irq_injections %lu, vCPU 1 took %u interrupts", d[IRQS],
		    irqs);
	TEST_ASSERT(d[WAKEUP] + d[SUCCESS] >= 1,
		    "%s: the halts ended neither by a wake-up nor a poll", what);
	/*
	 * KVM's rule grows the window only after a halt shorter than the
	 * maximum (2 ms here): where an IPI round trip takes longer on
	 * average (the debug kernel's 4 ms), no poll is ever attempted.
	 */
	mean = d[WAIT_HIST] ? d[WAIT_NS] / d[WAIT_HIST] : 0;
	if (!strcmp(poll_ns, "0"))
		TEST_ASSERT(!d[ATTEMPTED], "%s: %lu polls", what, d[ATTEMPTED]);
	else if (sysconf(_SC_NPROCESSORS_ONLN) > 1 && mean < 2000000)
		TEST_ASSERT(d[SUCCESS] >= 1, "%s, %ld CPUs: no successful poll",
			    what, sysconf(_SC_NPROCESSORS_ONLN));
	else if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		ksft_print_msg("halts of %lu ns on average, above the 2 ms maximum: KVM's rule grows no window, no poll expected\n",
			       mean);
	else
		ksft_print_msg("1 host CPU: the sender runs while vCPU 1 polls, so its polls give way\n");
	close(fd);
	kvm_vm_free(vm);
}

int main(void)
{
	static const char *const params[] = {
		"halt_poll_ns", "halt_poll_ns_grow", "halt_poll_ns_grow_start",
		"halt_poll_ns_shrink",
	};
	static const char *const defaults[] = { "200000", "2", "10000", "0" };
	char buf[32];
	unsigned int i;

	if (!kvm_check_cap(KVM_CAP_BINARY_STATS_FD))
		ksft_exit_skip("no KVM_CAP_BINARY_STATS_FD\n");
	if (access(KVISOR_PARAMS "halt_poll_ns", F_OK)) {
		param_dir = KVM_PARAMS;
		kvisor = false;
		if (access(KVM_PARAMS "halt_poll_ns", F_OK))
			ksft_exit_skip("no halt_poll_ns parameter\n");
	}
	/* KVM's defaults, unless the host was booted with others */
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		param_read(params[i], buf, sizeof(buf));
		ksft_print_msg("%s = %s (KVM's default %s)\n", params[i], buf,
			       defaults[i]);
		if (kvisor)
			TEST_ASSERT(!strcmp(buf, defaults[i]),
				    "%s is %s, not KVM's %s", params[i], buf,
				    defaults[i]);
	}
	param_read("halt_poll_ns", saved_poll_ns, sizeof(saved_poll_ns));
	atexit(param_restore);

	timer_tests();
	ipi_test("0");
	snprintf(buf, sizeof(buf), "%u", POLL_MAX_NS);
	ipi_test(buf);
	ksft_exit_pass();
}
