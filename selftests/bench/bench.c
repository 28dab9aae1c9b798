// SPDX-License-Identifier: GPL-2.0
/*
 * bench: what one exit costs under the hypervisor behind /dev/kvm (or
 * $KVM_DEV), and what guest memory costs it, measured from userspace of
 * the test host, so that selftests/hosts/bench.sh can run it against
 * kvisor and against in-tree KVM, turn about, on the same emulated host
 * and compare.  It is a measurement, not a test: it fails only when the
 * hypervisor does something wrong, never for being slow.
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
 *   hlt    HLT wake-up latency: the guest arms its LAPIC timer one-shot
 *          HLT_WAIT_NS ahead and halts until it fires; the hypervisor polls
 *          (halt_poll_ns, both at their defaults) or sleeps, then wakes and
 *          injects.  Reported per iteration less the HLT_WAIT_NS the
 *          timer waits by design: the wake-up's cost and the arm's.
 *          The LAPIC is in x2APIC mode where the CPUID offers it: MSR
 *          writes, where xAPIC MMIO would measure the emulator
 *   touch  first touch: the guest writes once to every 4K page of a fresh
 *          slot the host backs with 4K pages; one iteration is a page,
 *          which the hypervisor faults in (nested fault, the host's page
 *          fault, the new nested entry)
 *   thp    the guest writes to every 4K page of a working set the host
 *          backs with transparent huge pages, faulted in beforehand; one
 *          iteration is a pass over all of it
 *   compute  a CPU-bound guest: one iteration is a unit of arithmetic and
 *          stores over a 64 KiB buffer (compute_unit()), which makes no
 *          exit; what the hypervisor costs it is the host's interrupts it
 *          exits for, and the TLB and cache it shares.  The same units run
 *          natively in this program too, for the guest/host ratio printed
 *          as a diagnostic
 *   io-N, cpuid-N, ipi-N  the same row with N vCPUs (2 or 4; ipi-4,
 *          ipi itself having two): every vCPU, each on a thread of its
 *          own, makes the row's exits, and an iteration is an exit of
 *          any of them (io, cpuid); or vCPU 0 pings all the others and
 *          waits for all their answers (ipi).  The benchmark runs on one
 *          CPU, so this is what an exit costs when vCPUs share it: the
 *          switches between their threads count, and how the scheduler
 *          shares the CPU among them does not
 *   kmem-vm    kernel memory per VM: N VMs, each with the in-kernel
 *              irqchip, a PIT and one vCPU that wrote to a small slot
 *   kmem-vcpu  kernel memory per vCPU: N more vCPUs in one such VM, each
 *              run once
 *
 * Each timed loop runs for a time, not a count: the emulated hosts differ
 * by an order of magnitude, and nothing should be tuned per host.  Sizes
 * come from the environment: BENCH_TOUCH_MB (default 128), BENCH_THP_MB
 * (1024), BENCH_KMEM_VMS and BENCH_KMEM_VCPUS (32 each); and
 * BENCH_THP_SECONDS, the thp loop's own time (default: as the others).
 *
 * Usage: bench [seconds per loop, default 2] [test ...]
 * Output, one line per test after "# " diagnostics:
 *   bench <test> <ns per iteration> <iterations per s> <iterations> <s>
 *   kmem <test> <N> <bytes per VM or vCPU> <part>=<bytes> ...
 * (see kmem_report() for the parts).
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
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
 * The timer row's: in the SVM test host an expiry takes milliseconds
 * (under either hypervisor), and 256 of them took 40 s of real time.
 */
#define FIRST_TIMER_BATCH	16
/*
 * The hlt row's timer: long enough that the vCPU is halted well before it
 * fires (the way in, an MMIO exit for TMICT and a HLT exit, is far
 * shorter under either hypervisor), short enough to be inside KVM's
 * default halt_poll_ns (200 us), as a guest's short waits are.
 */
#define HLT_WAIT_NS		50000

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

/*
 * The answers vCPU 0's pings got, the timer interrupts taken, and how
 * many of the others are listening; the ipi rows' other vCPUs, set by
 * the host (1 for ipi).
 */
static volatile uint64_t pongs, ticks, ap_ready;
static uint64_t ipi_aps = 1;

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

/* The compute row's unit: 4096 multiply-adds, each stored in @buf. */
#define COMPUTE_WORDS	8192	/* 64 KiB */
static uint64_t compute_buf[COMPUTE_WORDS];

static uint64_t compute_unit(uint64_t *buf, uint64_t x)
{
	unsigned int i;

	for (i = 0; i < 4096; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[(x >> 33) % COMPUTE_WORDS] += x;
	}
	return x;
}

static void guest_compute(void)
{
	uint64_t i, n, x = 1;

	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++)
			x = compute_unit(compute_buf, x);
		GUEST_SYNC(n);
	}
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

/*
 * The other vCPUs answer every ping; each counts its answer in pongs
 * before it sends it, for vCPU 0 to see.  Its IPIs all have one vector,
 * and answers that arrive together merge into one pending interrupt (an
 * IRR bit), as on hardware: vCPU 0 counts the count, not the interrupts.
 */
static void ipi_handler(struct ex_regs *regs)
{
	(void)regs;
	xapic_write(APIC_EOI, 0);
	if (xapic_read(APIC_ID) >> 24) {
		__atomic_fetch_add(&pongs, 1, __ATOMIC_RELEASE);
		xapic_send_ipi(0, IPI_VECTOR);
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

/* A fixed IPI to each of the other vCPUs (APIC IDs 1..ipi_aps). */
static void ping_aps(uint64_t aps)
{
	uint64_t id;

	for (id = 1; id <= aps; id++)
		xapic_send_ipi(id, IPI_VECTOR);
}

static void guest_ipi_bsp(void)
{
	uint64_t i, n, aps = ipi_aps;

	xapic_enable();
	nudge_every_10ms();
	while (ap_ready < aps)
		cpu_relax();
	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++) {
			uint64_t want = pongs + aps;

			ping_aps(aps);
			halt_until(&pongs, want);
		}
		GUEST_SYNC(n);
	}
	/* The host set stop: one more ping wakes the others to see it. */
	ping_aps(aps);
	GUEST_DONE();
}

static void guest_ipi_ap(void)
{
	xapic_enable();
	nudge_every_10ms();
	__atomic_fetch_add(&ap_ready, 1, __ATOMIC_RELAXED);
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
 * The hlt row's LAPIC is in x2APIC mode, where the timer and EOI are MSR
 * writes: in xAPIC mode each would be an emulated MMIO access, and the
 * row would measure the emulator (the mmio row's business) more than
 * the halt.  Set by the host when the vCPU's CPUID offers x2APIC.
 */
static uint64_t hlt_x2apic;

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_X2APIC	(1ULL << 10)
#define X2APIC_MSR(reg)		(0x800 + ((reg) >> 4))

static void hlt_apic_write(uint32_t reg, uint32_t val)
{
	if (hlt_x2apic)
		wrmsr(X2APIC_MSR(reg), val);
	else
		xapic_write(reg, val);
}

static void hlt_timer_handler(struct ex_regs *regs)
{
	(void)regs;
	ticks++;
	hlt_apic_write(APIC_EOI, 0);
}

/* The same timer, HLT_WAIT_NS ahead, waited for halted. */
static void guest_hlt(void)
{
	uint64_t i, n;

	if (hlt_x2apic)
		wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	hlt_apic_write(APIC_SPIV, APIC_SPIV_ENABLE | 0xff);
	hlt_apic_write(APIC_TDCR, 0xb);		/* divide by 1: ns */
	hlt_apic_write(APIC_LVTT, TIMER_VECTOR);	/* one-shot */
	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++) {
			hlt_apic_write(APIC_TMICT, HLT_WAIT_NS);
			halt_until(&ticks, ticks + 1);
		}
		GUEST_SYNC(n);
	}
	GUEST_DONE();
}

/*
 * With $BENCH_MARKS set (to the test host's results port), "@@KV mark
 * <test> start|lap|end <iterations>" goes there right where the clock
 * starts, at the end of each slice of the loop (with the iterations of
 * the slice) and at its end (with all of them), so that the machine
 * outside can time the loop and its slices by its own clock: Bochs'
 * clock is virtual, and leaves out most of the cost of VM entries and
 * exits, and QEMU's is real time, which other load bends.  tcdrain(): a
 * mark must be out of the UART before the loop goes on, or its time in
 * the UART counts.
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

/*
 * A timed loop in slices of about an eighth of it (SLICES), each ended by
 * a lap mark: the machine outside times the slices, and a burst of other
 * load there spoils one slice, not the loop.  By this host's clock,
 * result.seconds counts the slices only, not the time the marks take.
 */
#define SLICES		8

/*
 * The scaling rows' other vCPUs count their iterations here (run_other()),
 * and each slice adds what they did in it, so that a row measures what an
 * exit costs with N vCPUs on the CPU, not the share of it vCPU 0 got.
 */
static uint64_t others_done;

static uint64_t others_take(void)
{
	return __atomic_exchange_n(&others_done, 0, __ATOMIC_RELAXED);
}

struct laps {
	const char *test;
	double slice;		/* seconds per slice, by this host's clock */
	double t0;		/* when the current slice started */
	uint64_t n;		/* iterations in it so far */
	struct result r;	/* the slices before it */
};

static void laps_start(struct laps *l, const char *test, double secs)
{
	memset(l, 0, sizeof(*l));
	l->test = test;
	l->slice = secs / SLICES;
	send_mark(test, "start", 0);
	l->t0 = now();
	others_take();
}

/*
 * @n more iterations are done: a lap mark when the slice is over; false
 * when the loop is, after @secs of slices.
 */
static bool laps_add(struct laps *l, uint64_t n, double secs)
{
	double t = now();

	l->n += n + others_take();
	if (t - l->t0 < l->slice)
		return true;
	l->r.iterations += l->n;
	l->r.seconds += t - l->t0;
	send_mark(l->test, "lap", l->n);
	l->n = 0;
	l->t0 = now();
	/* what the others did while the mark went out is in no slice */
	others_take();
	return l->r.seconds < secs;
}

static struct result laps_end(struct laps *l)
{
	send_mark(l->test, "end", l->r.iterations);
	return l->r;
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

/*
 * One of the scaling rows' other vCPUs: runs until its guest says it is
 * done, each exit before that being the row's (GUEST_SYNC of a cpuid
 * batch; the io row's OUT to BENCH_PORT).
 */
static void *run_other(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	uint64_t cmd;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_IO &&
		    run->io.port == BENCH_PORT) {
			__atomic_fetch_add(&others_done, 1, __ATOMIC_RELAXED);
			continue;
		}
		cmd = get_ucall(vcpu, &uc);
		if (cmd == UCALL_SYNC) {
			/* a batch of CPUIDs: its size */
			__atomic_fetch_add(&others_done, uc.args[0],
					   __ATOMIC_RELAXED);
			continue;
		}
		if (cmd != UCALL_DONE)
			ucall_check_fatal(vcpu);
		TEST_ASSERT(cmd == UCALL_DONE, "vCPU %u: %s, exit reason %u",
			    vcpu->id, ucall_name(cmd), run->exit_reason);
		return NULL;
	}
}

#define MAX_BENCH_VCPUS	4

struct others {
	int n;
	struct kvm_vcpu *vcpu[MAX_BENCH_VCPUS];
	pthread_t thread[MAX_BENCH_VCPUS];
};

/* vCPUs 1..@nr - 1 of @vm, running @guest_code, each on its thread. */
static void others_start(struct others *o, struct kvm_vm *vm, int nr,
			 void *guest_code)
{
	int i;

	o->n = nr - 1;
	for (i = 0; i < o->n; i++) {
		o->vcpu[i] = vm_vcpu_add(vm, i + 1, guest_code);
		TEST_ASSERT(!pthread_create(&o->thread[i], NULL, run_other,
					    o->vcpu[i]), "pthread_create");
	}
}

static void others_join(struct others *o)
{
	int i;

	for (i = 0; i < o->n; i++)
		pthread_join(o->thread[i], NULL);
}

/* "cpuid-4" is the cpuid row with 4 vCPUs: its base name and count. */
static int row_vcpus(const char *test, char *base, size_t len)
{
	const char *dash = strchr(test, '-');
	int n = 1;

	snprintf(base, len, "%s", test);
	if (dash && dash[1] >= '2' && dash[1] <= '0' + MAX_BENCH_VCPUS &&
	    !dash[2]) {
		n = dash[1] - '0';
		base[dash - test] = 0;
	}
	return n;
}

/* The io and mmio loops: every iteration is one exit to us. */
static struct result bench_exits(const char *test, void *guest_code,
				 uint32_t reason, double secs, int nr)
{
	struct kvm_vcpu *vcpu;
	struct others o;
	struct kvm_vm *vm;
	struct result r;
	struct laps l;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	if (reason == KVM_EXIT_MMIO)
		virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);
	others_start(&o, vm, nr, guest_code);

	for (i = 0; i < WARMUP_EXITS; i++)
		run_one_exit(vcpu, reason);

	laps_start(&l, test, secs);
	do {
		for (i = 0; i < CLOCK_EVERY; i++)
			run_one_exit(vcpu, reason);
	} while (laps_add(&l, CLOCK_EVERY, secs));
	r = laps_end(&l);

	/* the guest sees it after the exit it is in, and says it is done */
	guest_set(vm, &stop, 1);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	others_join(&o);
	guest_set(vm, &stop, 0);
	kvm_vm_free(vm);
	return r;
}

/*
 * Run the guest's batches for @secs: the guest code reads how many
 * iterations a batch has from batch (0: stop) and reports each batch with
 * GUEST_SYNC(n).  A first batch of @first iterations, untimed, sizes the
 * others (at least @first) to take an eighth of the loop's time.
 */
static struct result run_batches(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
				 const char *test, uint64_t first, double secs)
{
	uint64_t n = first;
	struct laps l;
	double t;

	/* warm-up, and how long a batch takes */
	guest_set(vm, &batch, n);
	t = now();
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), n);
	t = now() - t;
	if (t > 0)
		n = n * fmin(secs / 8, BATCH_SECONDS) / t;
	if (n < first)
		n = first;

	guest_set(vm, &batch, n);
	laps_start(&l, test, secs);
	do {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), n);
	} while (laps_add(&l, n, secs));
	return laps_end(&l);
}

/* x2APIC for the hlt row where the hypervisor's CPUID offers it. */
static void hlt_use_x2apic(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	bool x2apic = false;
	uint32_t i;

	for (i = 0; cpuid && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			x2apic = cpuid->entries[i].ecx & (1U << 21);
	if (x2apic) {
		vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
		guest_set(vm, &hlt_x2apic, 1);
	}
	ksft_print_msg("hlt: LAPIC in %s mode\n",
		       x2apic ? "x2APIC" : "xAPIC (no x2APIC in CPUID)");
	free(cpuid);
}

/*
 * How the halts ended, from the vCPU's stats fd (KVM's names, which both
 * hypervisors have): by a poll, or asleep and woken.
 */
static void halt_report(struct kvm_vcpu *vcpu)
{
	int fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);

	if (fd < 0)
		return;
	ksft_print_msg("halts %lu: polls %lu, successful %lu (%lu ns), failed (%lu ns), woken %lu (%lu ns asleep)\n",
		       stats_fd_value(fd, "halt_exits"),
		       stats_fd_value(fd, "halt_attempted_poll"),
		       stats_fd_value(fd, "halt_successful_poll"),
		       stats_fd_value(fd, "halt_poll_success_ns"),
		       stats_fd_value(fd, "halt_poll_fail_ns"),
		       stats_fd_value(fd, "halt_wakeup"),
		       stats_fd_value(fd, "halt_wait_ns"));
	close(fd);
}

/*
 * The batched loops: cpuid, ipi and timer run whole batches in the kernel
 * with a ucall after each.
 */
/*
 * The compute row's units natively, as many as the guest ran, by the
 * same clock: the guest/host ratio, a diagnostic beside the row.
 */
static void compute_native(const struct result *guest)
{
	uint64_t i, x = 1;
	double t = now();

	for (i = 0; i < guest->iterations; i++)
		x = compute_unit(compute_buf, x);
	t = now() - t;
	ksft_print_msg("compute: %.0f ns a unit in the guest, %.0f natively: guest/host %.3f (%llx)\n",
		       guest->seconds * 1e9 / guest->iterations,
		       t * 1e9 / guest->iterations, guest->seconds / t,
		       (unsigned long long)(x & 0xfff));
}

static struct result bench_batches(const char *row, double secs)
{
	struct kvm_vcpu *vcpu;
	struct others o = { 0 };
	struct kvm_vm *vm;
	struct result r;
	uint64_t first;
	char test[16];
	int nr = row_vcpus(row, test, sizeof(test));

	first = strcmp(test, "timer") && strcmp(test, "hlt") ?
		FIRST_BATCH : FIRST_TIMER_BATCH;
	if (!strcmp(test, "cpuid") || !strcmp(test, "compute")) {
		vm = vm_create_with_one_vcpu(&vcpu, strcmp(test, "cpuid") ?
					     guest_compute : guest_cpuid,
					     VM_MODE_LONG_4K);
		/* the others start on the first batch, as vCPU 0 does */
		guest_set(vm, &batch, first);
		others_start(&o, vm, nr, guest_cpuid);
	} else {
		vm = vm_create(VM_MODE_LONG_4K);
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
		vcpu = vm_vcpu_add(vm, 0, !strcmp(test, "ipi") ? guest_ipi_bsp :
					  !strcmp(test, "hlt") ? guest_hlt :
								 guest_timer);
		apic_map(vm);
		vm_install_exception_handler(vm, IPI_VECTOR, ipi_handler);
		vm_install_exception_handler(vm, TIMER_VECTOR,
					     strcmp(test, "hlt") ? timer_handler :
							       hlt_timer_handler);
		vm_install_exception_handler(vm, NUDGE_VECTOR, nudge_handler);
		if (!strcmp(test, "hlt"))
			hlt_use_x2apic(vm, vcpu);
		if (!strcmp(test, "ipi")) {
			/* the ipi row has two vCPUs, ipi-4 four */
			nr = nr > 1 ? nr : 2;
			guest_set(vm, &ipi_aps, nr - 1);
			others_start(&o, vm, nr, guest_ipi_ap);
		}
	}

	r = run_batches(vm, vcpu, row, first, secs);
	if (!strcmp(test, "hlt"))
		halt_report(vcpu);
	if (!strcmp(test, "compute"))
		compute_native(&r);

	guest_set(vm, &stop, 1);
	guest_set(vm, &batch, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	others_join(&o);
	guest_set(vm, &stop, 0);
	kvm_vm_free(vm);
	return r;
}

/* ------------------------------------------------------------------ */
/* Guest memory                                                         */

/*
 * The slot the memory rows measure, at 1 GiB: aligned for 2M and 1G
 * nested mappings, and far above slot 0.
 */
#define MEM_SLOT	1
#define MEM_GPA		0x40000000ULL

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static double env_double(const char *name, double def)
{
	const char *v = getenv(name);

	return v && *v ? atof(v) : def;
}

/*
 * @size bytes of fresh anonymous memory at a 2M boundary (so THP can back
 * all of it), with madvise() @advice: MADV_HUGEPAGE or MADV_NOHUGEPAGE.
 * The test host's kernel (Debian's) has THP "always", which would back
 * the touch row's slot with 2M pages too.
 */
static uint8_t *map_fresh(uint64_t size, int advice)
{
	uint8_t *p = mmap(NULL, size + PAGE_SIZE_2M, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap of %llu MiB",
		    (unsigned long long)(size >> 20));
	p = (uint8_t *)ALIGN_UP((uintptr_t)p, PAGE_SIZE_2M);
	TEST_ASSERT(!madvise(p, size, advice), "madvise(%d)", advice);
	return p;
}

/* The slot at MEM_GPA, mapped by the guest with GVA == GPA. */
static void add_mem_slot(struct kvm_vm *vm, void *mem, uint64_t size)
{
	vm_userspace_mem_region_add_mem(vm, MEM_SLOT, MEM_GPA, mem, size, 0);
	virt_map(vm, MEM_GPA, MEM_GPA, size);
}

/* Each slice of the touch row writes an eighth of the slot. */
static void guest_touch(uint64_t base, uint64_t size)
{
	uint64_t p, slice = size / SLICES;

	GUEST_SYNC(0);
	for (p = base; p < base + size; p += PAGE_SIZE_4K) {
		*(volatile uint8_t *)p = 1;
		if (!((p + PAGE_SIZE_4K - base) % slice))
			GUEST_SYNC(slice / PAGE_SIZE_4K);
	}
	GUEST_DONE();
}

/*
 * First touch: one KVM_RUN in which the guest writes once to each 4K page
 * of a slot nothing has touched yet; with MADV_NOHUGEPAGE each page is a
 * nested fault that faults the page into the host as well.
 */
static struct result bench_touch(double secs)
{
	uint64_t size = env_u64("BENCH_TOUCH_MB", 128) << 20;
	uint64_t pages = size / PAGE_SIZE_4K, i;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct result r;
	struct laps l;
	uint8_t *mem;

	(void)secs;
	TEST_ASSERT(size && !(size % (SLICES * PAGE_SIZE_2M)),
		    "BENCH_TOUCH_MB must be a multiple of %llu",
		    (unsigned long long)(SLICES * PAGE_SIZE_2M) >> 20);
	vm = vm_create_with_one_vcpu(&vcpu, guest_touch, VM_MODE_LONG_2M);
	mem = map_fresh(size, MADV_NOHUGEPAGE);
	add_mem_slot(vm, mem, size);
	vcpu_args_set(vcpu, 2, MEM_GPA, size);
	/* the guest's code, stack and page tables are in before the clock */
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);

	/* a lap mark after each slice, whatever its length */
	laps_start(&l, "touch", 0);
	for (i = 0; i < SLICES; i++) {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL),
			       pages / SLICES);
		laps_add(&l, pages / SLICES, 0);
	}
	r = laps_end(&l);

	for (i = 0; i < pages; i++)
		TEST_ASSERT(mem[i * PAGE_SIZE_4K] == 1,
			    "the guest's write to page %llu is not in the host",
			    (unsigned long long)i);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	return r;
}

static void guest_passes(uint64_t base, uint64_t size)
{
	uint64_t i, n, p;

	/*
	 * Fault all of it in, then one pass per iteration.  A store, not an
	 * add: under QEMU an add's read faults first, the host maps its huge
	 * zero page for it, and the write that follows splits that into 4K
	 * pages (under either hypervisor).
	 */
	for (p = base; p < base + size; p += PAGE_SIZE_4K)
		*(volatile uint64_t *)p = 1;
	GUEST_SYNC(0);
	while ((n = __atomic_load_n(&batch, __ATOMIC_RELAXED))) {
		for (i = 0; i < n; i++)
			for (p = base; p < base + size; p += PAGE_SIZE_4K)
				*(volatile uint64_t *)p += 1;
		GUEST_SYNC(n);
	}
	GUEST_DONE();
}

/* The number after @name in a /proc file, or -1. */
static long long proc_value(const char *path, const char *name)
{
	char text[16384], *p;

	read_text_file(path, text, sizeof(text));
	p = strstr(text, name);
	return p ? strtoll(p + strlen(name), NULL, 10) : -1;
}

/*
 * The VM's 2M nested mappings: kvisor's debugfs (vm-PID-N/memory) or
 * in-tree KVM's (PID-FD/pages_2m); -1 where neither is there.
 */
static long nested_2m(struct kvm_vm *vm)
{
	char path[320], text[512], prefix[32];
	struct dirent *e;
	long n = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/pages_2m",
		 getpid(), vm->fd);
	if (!access(path, R_OK)) {
		read_text_file(path, text, sizeof(text));
		return strtol(text, NULL, 10);
	}
	d = opendir(KVISOR_DEBUGFS);
	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "vm-%d-", getpid());
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s/memory", KVISOR_DEBUGFS,
			 e->d_name);
		read_text_file(path, text, sizeof(text));
		n = text_counter(text, "mapped 2M ");
	}
	closedir(d);
	return n;
}

/*
 * A working set over transparent huge pages: the guest faults it in (not
 * timed; said on a "# " line with what backs it, on the host and in the
 * nested tables), then the passes over it are timed, for
 * $BENCH_THP_SECONDS if set (under Bochs a pass costs several times more
 * real time per second of its clock than an exit does).
 */
static struct result bench_thp(double secs)
{
	uint64_t size = env_u64("BENCH_THP_MB", 1024) << 20;
	long long thp_before, thp_after, fb;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct result r;
	uint8_t *mem;
	double t;

	vm = vm_create_with_one_vcpu(&vcpu, guest_passes, VM_MODE_LONG_2M);
	mem = map_fresh(size, MADV_HUGEPAGE);
	add_mem_slot(vm, mem, size);
	vcpu_args_set(vcpu, 2, MEM_GPA, size);
	thp_before = proc_value("/proc/self/smaps_rollup", "AnonHugePages:");
	fb = proc_value("/proc/vmstat", "thp_fault_fallback ");
	t = now();
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);
	t = now() - t;
	thp_after = proc_value("/proc/self/smaps_rollup", "AnonHugePages:");
	ksft_print_msg("thp: %llu MiB faulted in by the guest in %.3f s; ",
		       (unsigned long long)(size >> 20), t);
	printf("the host backs %lld MiB of it with THP (%lld fallbacks to 4K), ",
	       (thp_after - thp_before) >> 10,
	       proc_value("/proc/vmstat", "thp_fault_fallback ") - fb);
	printf("the nested tables map %ld 2M pages\n", nested_2m(vm));

	secs = env_double("BENCH_THP_SECONDS", secs);
	TEST_ASSERT(secs > 0, "BENCH_THP_SECONDS must be positive");
	r = run_batches(vm, vcpu, "thp", 1, secs);
	guest_set(vm, &batch, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	return r;
}

/*
 * Kernel memory, from the host's counters: what left the free pages and
 * is not the VMM's own memory (its anonymous and file pages, its page
 * tables, the same under either hypervisor), before and after N VMs or
 * vCPUs.  The parts named besides are as /proc/meminfo counts them.
 */
enum {
	M_FREE, M_ANON, M_CACHED, M_BUFFERS, M_PAGETABLES, M_SECPT,
	M_SUNRECLAIM, M_SRECLAIM, M_STACK, M_VMALLOC, M_PERCPU, NR_M
};

static const char * const meminfo_names[NR_M] = {
	"MemFree:", "AnonPages:", "Cached:", "Buffers:", "PageTables:",
	"SecPageTables:", "SUnreclaim:", "SReclaimable:", "KernelStack:",
	"VmallocUsed:", "Percpu:",
};

struct kmem {
	long long kb[NR_M];
};

static void kmem_snapshot(struct kmem *k)
{
	char line[256];
	long long v;
	FILE *f;
	int fd, i;

	/*
	 * RCU-deferred frees of what came before, then the CPUs' pending
	 * counter deltas folded into the global counts.
	 */
	sleep(1);
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	TEST_ASSERT(fd >= 0 && write(fd, "1\n", 2) == 2,
		    "writing /proc/sys/vm/stat_refresh");
	close(fd);

	memset(k, 0, sizeof(*k));
	f = fopen("/proc/meminfo", "r");
	TEST_ASSERT(f, "open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		for (i = 0; i < NR_M; i++)
			if (!strncmp(line, meminfo_names[i],
				     strlen(meminfo_names[i])))
				k->kb[i] = strtoll(line +
						   strlen(meminfo_names[i]),
						   NULL, 10);
	fclose(f);
	/* free pages on the CPUs' lists are free too, MemFree leaves them out */
	f = fopen("/proc/zoneinfo", "r");
	TEST_ASSERT(f, "open /proc/zoneinfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %lld", &v) == 1)
			k->kb[M_FREE] += v * (PAGE_SIZE_4K / 1024);
	fclose(f);
}

/*
 * "kmem <test> <n> <bytes each> slab=... sunreclaim=... stack=... secpt=...
 * vmalloc=... percpu=... other=...", all in bytes per VM or vCPU: slab
 * (reclaimable or not) and of it the unreclaimable part, kernel stacks,
 * secondary (nested) page tables where the hypervisor counts them as
 * such, vmalloc besides the stacks, per-CPU memory, and the rest: pages
 * straight from the page allocator (VMCS/VMCB, nested tables uncounted
 * as such, bitmaps).
 */
static void kmem_report(const char *test, int n, const struct kmem *a,
			const struct kmem *b)
{
	long long d[NR_M], total, slab, vmalloc, other;
	int i;

	for (i = 0; i < NR_M; i++)
		d[i] = (b->kb[i] - a->kb[i]) * 1024;
	total = -d[M_FREE] - d[M_ANON] - d[M_CACHED] - d[M_BUFFERS] -
		d[M_PAGETABLES];
	slab = d[M_SUNRECLAIM] + d[M_SRECLAIM];
	vmalloc = d[M_VMALLOC] - d[M_STACK];
	other = total - slab - d[M_STACK] - d[M_SECPT] - vmalloc - d[M_PERCPU];
	printf("kmem %s %d %lld slab=%lld sunreclaim=%lld stack=%lld", test, n,
	       total / n, slab / n, d[M_SUNRECLAIM] / n, d[M_STACK] / n);
	printf(" secpt=%lld vmalloc=%lld percpu=%lld other=%lld\n",
	       d[M_SECPT] / n, vmalloc / n, d[M_PERCPU] / n, other / n);
}

#define SMALL_SIZE	0x100000ULL	/* what each kmem VM's guest writes */

static void guest_small(uint64_t base, uint64_t size)
{
	uint64_t p;

	for (p = base; p < base + size; p += PAGE_SIZE_4K)
		*(volatile uint8_t *)p = 1;
	GUEST_DONE();
}

static void guest_done(void)
{
	GUEST_DONE();
}

/*
 * A VM as QEMU makes one by default (in-kernel irqchip and PIT) with one
 * vCPU that has run and written SMALL_SIZE bytes of a slot of its own.
 */
static struct kvm_vm *small_vm(void)
{
	struct kvm_pit_config pit = { 0 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	vm_userspace_mem_region_add(vm, MEM_SLOT, MEM_GPA,
				    SMALL_SIZE / PAGE_SIZE_4K, 0);
	virt_map(vm, MEM_GPA, MEM_GPA, SMALL_SIZE);
	vcpu = vm_vcpu_add(vm, 0, guest_small);
	vcpu_args_set(vcpu, 2, MEM_GPA, SMALL_SIZE);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	return vm;
}

/*
 * One VM stays up throughout (the hardware is switched on for the first
 * VM, and what that costs is not per VM), and one is made and freed
 * before the first count, so that caches made on first use are there.
 */
static void bench_kmem_vm(void)
{
	int n = env_u64("BENCH_KMEM_VMS", 32), i;
	struct kvm_vm *anchor, **vms;
	struct kmem a, b;

	TEST_ASSERT(n > 0, "BENCH_KMEM_VMS must be positive");
	vms = calloc(n, sizeof(*vms));
	TEST_ASSERT(vms, "out of memory");
	anchor = small_vm();
	kvm_vm_free(small_vm());
	kmem_snapshot(&a);
	for (i = 0; i < n; i++)
		vms[i] = small_vm();
	kmem_snapshot(&b);
	kmem_report("kmem-vm", n, &a, &b);
	for (i = 0; i < n; i++)
		kvm_vm_free(vms[i]);
	kvm_vm_free(anchor);
	free(vms);
}

static void bench_kmem_vcpu(void)
{
	int n = env_u64("BENCH_KMEM_VCPUS", 32), i;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kmem a, b;

	TEST_ASSERT(n > 0 && n < MAX_TEST_VCPUS,
		    "BENCH_KMEM_VCPUS must be 1 to %d", MAX_TEST_VCPUS - 1);
	vm = small_vm();
	kmem_snapshot(&a);
	for (i = 1; i <= n; i++) {
		vcpu = vm_vcpu_add(vm, i, guest_done);
		vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	}
	kmem_snapshot(&b);
	kmem_report("kmem-vcpu", n, &a, &b);
	kvm_vm_free(vm);
}

static const char * const tests[] = {
	"io", "cpuid", "mmio", "ipi", "timer", "hlt", "compute", "touch",
	"thp", "kmem-vm", "kmem-vcpu", "io-2", "io-4", "cpuid-2", "cpuid-4",
	"ipi-4",
};

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
	char base[16];
	unsigned int i;
	double ns;

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
		if (!strcmp(tests[i], "kmem-vm")) {
			bench_kmem_vm();
			continue;
		} else if (!strcmp(tests[i], "kmem-vcpu")) {
			bench_kmem_vcpu();
			continue;
		} else if (!strncmp(tests[i], "io", 2)) {
			r = bench_exits(tests[i], guest_io, KVM_EXIT_IO, secs,
					row_vcpus(tests[i], base, sizeof(base)));
		} else if (!strcmp(tests[i], "mmio")) {
			r = bench_exits("mmio", guest_mmio, KVM_EXIT_MMIO,
					secs, 1);
		} else if (!strcmp(tests[i], "touch")) {
			r = bench_touch(secs);
		} else if (!strcmp(tests[i], "thp")) {
			r = bench_thp(secs);
		} else {
			r = bench_batches(tests[i], secs);
		}
		ksft_print_msg("%s: %llu iterations in %.3f s\n", tests[i],
			       (unsigned long long)r.iterations, r.seconds);
		ns = r.seconds * 1e9 / r.iterations;
		/* the hlt row: what is left once the timer's own wait is out */
		if (!strcmp(tests[i], "hlt"))
			ns -= HLT_WAIT_NS;
		printf("bench %s %.0f %.0f %llu %.3f\n", tests[i], ns,
		       r.iterations / r.seconds,
		       (unsigned long long)r.iterations, r.seconds);
	}
	return 0;
}
