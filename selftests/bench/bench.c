// SPDX-License-Identifier: GPL-2.0
/*
 * bench: what one exit costs under the hypervisor behind /dev/kvm, timed
 * from userspace of the test host, so that selftests/hosts/bench.sh can
 * run it against kvisor and then against in-tree KVM on the same emulated
 * host and compare.  It is a measurement, not a test: it fails only when
 * the hypervisor does something wrong, never for being slow.
 *
 *   io     the guest loops on OUT to a port; each is a KVM_EXIT_IO that
 *          this program takes and re-enters the guest from
 *   cpuid  the guest loops on CPUID, which the hypervisor handles without
 *          coming back to userspace
 *   mmio   the guest loops on a store to a GPA outside every memslot; each
 *          is a KVM_EXIT_MMIO, after the hypervisor decoded the instruction
 *   ipi    with the in-kernel irqchip, two vCPUs play ping-pong with fixed
 *          IPIs, each halted until the other's arrives: one iteration is a
 *          round trip (two ICR writes, two wake-ups, two injections)
 *   timer  the guest arms its LAPIC timer one-shot with the shortest count
 *          and waits, interrupts open, for it: arm, expiry, injection
 *
 * Each loop runs for a time, not a count: the emulated hosts differ by
 * an order of magnitude, and nothing should be tuned per host.
 *
 * Usage: bench [seconds per loop, default 2] [test ...]
 * Output, one line per test after "# " diagnostics:
 *   bench <test> <ns per iteration> <iterations per s> <iterations> <s>
 */
#include <fcntl.h>
#include <math.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "apic.h"
#include "kvm_util.h"

#define BENCH_PORT	0x80		/* no device here, in any hypervisor */
#define MMIO_GPA	0xc0000000ULL	/* mapped by the guest, no memslot */

/*
 * Exits before the clock starts: the first ones fault in the guest's code,
 * stack and page tables, which is not what is measured.
 */
#define WARMUP_EXITS	64
/* Exits between two reads of the clock: bounds the overshoot, costs nil. */
#define CLOCK_EVERY	16

/*
 * In-kernel exits: the guest runs CPUIDs in batches and reports each with a
 * ucall, so userspace can watch the clock.  The first batch sizes the
 * others to take an eighth of the loop's time (at most BATCH_SECONDS), so
 * that the last one overshoots little; the one ucall per batch adds about
 * 1/10000 of the time measured.
 */
#define FIRST_BATCH	256
#define BATCH_SECONDS	0.25

/*
 * Set by the host in the guest's copy of the program while the vCPU is
 * out: when the io and mmio loops stop, how many CPUIDs the next batch has
 * (0: stop).  The guest reads them with __atomic_load_n() so that the
 * compiler reads them again after every exit.
 */
static uint64_t stop;
static uint64_t batch;

#define IPI_VECTOR	0x50
#define TIMER_VECTOR	0x51
#define NUDGE_VECTOR	0x52
#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TDCR	0x3e0

/* Interrupts each vCPU took, and whether the second one is listening. */
static volatile uint64_t pings, pongs, ticks, ap_ready;

static void guest_io(void)
{
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		asm volatile("outb %%al, %0" : : "i"(BENCH_PORT), "a"(0));
	GUEST_DONE();
}

static void guest_mmio(void)
{
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		asm volatile("movl %%eax, (%0)"
			     : : "r"(MMIO_GPA), "a"(0) : "memory");
	GUEST_DONE();
}

static void guest_cpuid(void)
{
	uint64_t i, n;

	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++) {
			uint32_t a = 0, b, c = 0, d;

			asm volatile("cpuid"
				     : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		}
		GUEST_SYNC(n);
	}
	GUEST_DONE();
}

/* vCPU 1 answers every ping; vCPU 0 counts the answers. */
static void ipi_handler(struct ex_regs *regs)
{
	(void)regs;
	xapic_write(APIC_EOI, 0);
	if (xapic_read(APIC_ID) >> 24) {
		pings++;
		xapic_send_ipi(0, IPI_VECTOR);
	} else {
		pongs++;
	}
}

/* Sleep until @count passes @want: STI's shadow covers the HLT. */
static void halt_until(volatile uint64_t *count, uint64_t want)
{
	while (*count < want)
		asm volatile("sti; hlt; cli" ::: "memory");
}

/* Wait for @count to pass @want with interrupts open, without HLT. */
static void spin_until(volatile uint64_t *count, uint64_t want)
{
	while (*count < want)
		asm volatile("sti; pause; cli" ::: "memory");
}

static void nudge_handler(struct ex_regs *regs)
{
	(void)regs;
	xapic_write(APIC_EOI, 0);
}

/*
 * A periodic LAPIC timer every 10 ms that does nothing but end a HLT.
 * QEMU's emulated SVM now and then loses the interrupt that should end an
 * "sti; hlt" (in-tree KVM hangs there as well as kvisor); this bounds the
 * damage to one slow round trip instead of a hung benchmark.
 */
static void nudge_every_10ms(void)
{
	xapic_write(APIC_TDCR, 0xb);			/* divide by 1 */
	xapic_write(APIC_LVTT, 0x20000 | NUDGE_VECTOR);	/* periodic */
	xapic_write(APIC_TMICT, 10000000);		/* 10 ms at 1 GHz */
}

static void guest_ipi_bsp(void)
{
	uint64_t i, n;

	xapic_enable();
	nudge_every_10ms();
	while (!ap_ready)
		cpu_relax();
	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++) {
			xapic_send_ipi(1, IPI_VECTOR);
			halt_until(&pongs, pongs + 1);
		}
		GUEST_SYNC(n);
	}
	/* The host set stop: one more ping wakes vCPU 1 to see it. */
	xapic_send_ipi(1, IPI_VECTOR);
	GUEST_DONE();
}

static void guest_ipi_ap(void)
{
	xapic_enable();
	nudge_every_10ms();
	ap_ready = 1;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		asm volatile("sti; hlt; cli" ::: "memory");
	GUEST_DONE();
}

static void timer_handler(struct ex_regs *regs)
{
	(void)regs;
	ticks++;
	xapic_write(APIC_EOI, 0);
}

static void guest_timer(void)
{
	uint64_t i, n;

	xapic_enable();
	xapic_write(APIC_TDCR, 0xb);		/* divide by 1 */
	xapic_write(APIC_LVTT, TIMER_VECTOR);	/* one-shot */
	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++) {
			xapic_write(APIC_TMICT, 1);
			spin_until(&ticks, ticks + 1);
		}
		GUEST_SYNC(n);
	}
	GUEST_DONE();
}

/*
 * With $BENCH_MARKS set (to the test host's results port), "@@KV mark
 * <test> start|end <iterations>" goes there right where the clock starts
 * and stops, so that the machine outside can time the loop by its own
 * clock: Bochs' clock is virtual, and leaves out most of the cost of VM
 * entries and exits.  tcdrain(): the start mark must be out of the UART
 * before the loop runs, or its time in the UART counts.
 */
static int marks_fd = -1;

static void send_mark(const char *test, const char *what,
		      uint64_t iterations)
{
	char buf[128];
	int len;

	if (marks_fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "@@KV mark %s %s %llu\n", test, what,
		       (unsigned long long)iterations);
	TEST_ASSERT(write(marks_fd, buf, len) == len, "writing a mark");
	tcdrain(marks_fd);
}

struct result {
	uint64_t iterations;
	double seconds;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write @val to the guest's copy of the variable at @var. */
static void guest_set(struct kvm_vm *vm, uint64_t *var, uint64_t val)
{
	__atomic_store_n((uint64_t *)addr_gva2hva(vm, (uint64_t)var), val,
			 __ATOMIC_RELAXED);
}

/*
 * One KVM_RUN that must end in the exit the loop makes: KVM_EXIT_IO on
 * BENCH_PORT or a KVM_EXIT_MMIO write to MMIO_GPA.  Nothing to do before
 * entering again: neither an OUT nor a store returns data to the guest.
 */
static void run_one_exit(struct kvm_vcpu *vcpu, uint32_t reason)
{
	struct kvm_run *run = vcpu->run;
	int ret;

	do {
		ret = __vcpu_run(vcpu);
	} while (ret == -1 && errno == EINTR);
	if (!ret && run->exit_reason == reason &&
	    (reason == KVM_EXIT_IO ?
	     run->io.port == BENCH_PORT &&
	     run->io.direction == KVM_EXIT_IO_OUT :
	     run->mmio.phys_addr == MMIO_GPA && run->mmio.is_write))
		return;

	TEST_ASSERT(ret == 0, "KVM_RUN failed, rc: %d errno: %d (%s)",
		    ret, errno, strerror(errno));
	/* a failed guest assertion or an exception says more than we do */
	ucall_check_fatal(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, reason);
	TEST_FAIL("unexpected %s exit (port %#x, GPA %#llx)",
		  exit_reason_str(reason), run->io.port,
		  (unsigned long long)run->mmio.phys_addr);
}

/* The io and mmio loops: every iteration is one exit to us. */
static struct result bench_exits(const char *test, void *guest_code,
				 uint32_t reason, double secs)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct result r = { 0 };
	double t0;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	if (reason == KVM_EXIT_MMIO)
		virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);

	for (i = 0; i < WARMUP_EXITS; i++)
		run_one_exit(vcpu, reason);

	send_mark(test, "start", 0);
	t0 = now();
	do {
		for (i = 0; i < CLOCK_EVERY; i++)
			run_one_exit(vcpu, reason);
		r.iterations += CLOCK_EVERY;
		r.seconds = now() - t0;
	} while (r.seconds < secs);
	send_mark(test, "end", r.iterations);

	/* the guest sees it after the exit it is in, and says it is done */
	guest_set(vm, &stop, 1);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	return r;
}

static void *run_ap(void *arg)
{
	vcpu_run_ucall(arg, UCALL_DONE, NULL);
	return NULL;
}

/*
 * The batched loops: cpuid, ipi and timer run whole batches in the kernel
 * with a ucall after each.
 */
static struct result bench_batches(const char *test, double secs)
{
	struct kvm_vcpu *vcpu, *ap = NULL;
	struct kvm_vm *vm;
	struct result r = { 0 };
	uint64_t n = FIRST_BATCH;
	pthread_t thread;
	double t0, t;

	if (!strcmp(test, "cpuid")) {
		vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid,
					     VM_MODE_LONG_4K);
	} else {
		vm = vm_create(VM_MODE_LONG_4K);
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
		vcpu = vm_vcpu_add(vm, 0, !strcmp(test, "ipi") ? guest_ipi_bsp :
							      guest_timer);
		apic_map(vm);
		vm_install_exception_handler(vm, IPI_VECTOR, ipi_handler);
		vm_install_exception_handler(vm, TIMER_VECTOR, timer_handler);
		vm_install_exception_handler(vm, NUDGE_VECTOR, nudge_handler);
		if (!strcmp(test, "ipi")) {
			ap = vm_vcpu_add(vm, 1, guest_ipi_ap);
			pthread_create(&thread, NULL, run_ap, ap);
		}
	}

	/* warm-up, and how long a batch takes */
	guest_set(vm, &batch, n);
	t = now();
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), n);
	t = now() - t;
	if (t > 0)
		n = n * fmin(secs / 8, BATCH_SECONDS) / t;
	if (n < FIRST_BATCH)
		n = FIRST_BATCH;

	guest_set(vm, &batch, n);
	send_mark(test, "start", 0);
	t0 = now();
	do {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), n);
		r.iterations += n;
		r.seconds = now() - t0;
	} while (r.seconds < secs);
	send_mark(test, "end", r.iterations);

	guest_set(vm, &stop, 1);
	guest_set(vm, &batch, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	if (ap)
		pthread_join(thread, NULL);
	guest_set(vm, &stop, 0);
	kvm_vm_free(vm);
	return r;
}

static const char * const tests[] = { "io", "cpuid", "mmio", "ipi", "timer" };

static bool wanted(int argc, char **argv, const char *test)
{
	int i;

	if (argc <= 2)
		return true;
	for (i = 2; i < argc; i++)
		if (!strcmp(argv[i], test))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *marks = getenv("BENCH_MARKS");
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	unsigned int i;

	TEST_ASSERT(secs > 0 && secs < 3600, "bad seconds per loop: %s",
		    argv[1]);
	/* a line at a time, so a host that dies still shows how far it got */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (marks && *marks) {
		marks_fd = open(marks, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		TEST_ASSERT(marks_fd >= 0, "cannot open %s", marks);
	}

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		struct result r;

		if (!wanted(argc, argv, tests[i]))
			continue;
		if (!strcmp(tests[i], "io"))
			r = bench_exits("io", guest_io, KVM_EXIT_IO, secs);
		else if (!strcmp(tests[i], "mmio"))
			r = bench_exits("mmio", guest_mmio, KVM_EXIT_MMIO,
					secs);
		else
			r = bench_batches(tests[i], secs);
		ksft_print_msg("%s: %llu iterations in %.3f s\n", tests[i],
			       (unsigned long long)r.iterations, r.seconds);
		printf("bench %s %.0f %.0f %llu %.3f\n", tests[i],
		       r.seconds * 1e9 / r.iterations,
		       r.iterations / r.seconds,
		       (unsigned long long)r.iterations, r.seconds);
	}
	return 0;
}
