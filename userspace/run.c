// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM_RUN loop, the devices behind the exits, the summary.
 *
 * KVM_RUN runs the guest until something needs userspace: a port access,
 * an access to guest physical memory that no memslot backs (MMIO), a HLT
 * (without an in-kernel irqchip nothing else could wake the vCPU), or a
 * failure.  The reason and its details are in the struct kvm_run shared
 * with the kernel.  For a port or MMIO read, userspace puts the data there
 * and the next KVM_RUN completes the guest's instruction with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kvisor-run.h"

#define DEBUG_EXIT_PORT	0xf4	/* like QEMU's isa-debug-exit, minus the *2+1 */
#define COM1		0x3f8	/* 16550 UART: eight registers from here */
#define UART_THR	0	/* transmit holding register (DLL if DLAB) */
#define UART_LCR	3	/* line control; bit 7 (DLAB) banks THR/IER */
#define UART_LSR	5	/* line status */
#define UART_LCR_DLAB	0x80
#define UART_LSR_IDLE	0x60	/* THR empty, transmitter empty */

#define NR_REASONS	64	/* exit reasons counted one by one */
#define TOP_PORTS	4	/* ports named in the summary */

enum stop {
	STOP_NONE, STOP_HALT, STOP_DEBUG_EXIT, STOP_SHUTDOWN, STOP_FAIL_ENTRY,
	STOP_INTERNAL_ERROR, STOP_UNEXPECTED, STOP_RUN_ERROR, STOP_MAX_EXITS,
	STOP_SIGNAL,
};

struct runner {
	struct vm *vm;
	enum stop stop;
	int status;
	int run_errno;			/* STOP_RUN_ERROR */
	uint32_t exit_value;		/* STOP_DEBUG_EXIT */
	uint8_t uart_lcr;
	int uart_last;			/* last byte written, -1: none */
	uint64_t exits;
	uint64_t reason[NR_REASONS + 1];	/* the last: all others */
	uint64_t port[0x10000];
	uint64_t mmio_reads, mmio_writes;
};

static struct runner runner;

/* The exit reasons an x86 KVM can give, by name. */
#define EXIT_NAME(r)	{ r, #r }
static const struct {
	uint32_t reason;
	const char *name;
} exit_names[] = {
	EXIT_NAME(KVM_EXIT_UNKNOWN), EXIT_NAME(KVM_EXIT_EXCEPTION),
	EXIT_NAME(KVM_EXIT_IO), EXIT_NAME(KVM_EXIT_HYPERCALL),
	EXIT_NAME(KVM_EXIT_DEBUG), EXIT_NAME(KVM_EXIT_HLT),
	EXIT_NAME(KVM_EXIT_MMIO), EXIT_NAME(KVM_EXIT_IRQ_WINDOW_OPEN),
	EXIT_NAME(KVM_EXIT_SHUTDOWN), EXIT_NAME(KVM_EXIT_FAIL_ENTRY),
	EXIT_NAME(KVM_EXIT_INTR), EXIT_NAME(KVM_EXIT_SET_TPR),
	EXIT_NAME(KVM_EXIT_TPR_ACCESS), EXIT_NAME(KVM_EXIT_NMI),
	EXIT_NAME(KVM_EXIT_INTERNAL_ERROR), EXIT_NAME(KVM_EXIT_SYSTEM_EVENT),
	EXIT_NAME(KVM_EXIT_IOAPIC_EOI), EXIT_NAME(KVM_EXIT_HYPERV),
	EXIT_NAME(KVM_EXIT_X86_RDMSR), EXIT_NAME(KVM_EXIT_X86_WRMSR),
	EXIT_NAME(KVM_EXIT_DIRTY_RING_FULL), EXIT_NAME(KVM_EXIT_X86_BUS_LOCK),
};

static const char *reason_name(uint32_t reason)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(exit_names); i++)
		if (exit_names[i].reason == reason)
			return exit_names[i].name;
	return "KVM_EXIT_?";
}

/* Signals ------------------------------------------------------------- */

static volatile sig_atomic_t got_signal;
static struct kvm_run *signal_run;

static void on_signal(int sig)
{
	got_signal = sig;
	/*
	 * A signal that arrives between the loop's check and the KVM_RUN
	 * ioctl would be missed; immediate_exit makes that KVM_RUN return
	 * at once with EINTR instead.
	 */
	if (signal_run)
		signal_run->immediate_exit = 1;
}

static void catch_signals(struct kvm_run *run, unsigned int timeout)
{
	/* No SA_RESTART: KVM_RUN must return, not be restarted. */
	struct sigaction sa = { .sa_handler = on_signal };

	signal_run = run;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (timeout)
		alarm(timeout);
}

/* Devices ------------------------------------------------------------- */

static void uart_write(struct runner *r, unsigned int reg, uint8_t val)
{
	if (reg == UART_THR && !(r->uart_lcr & UART_LCR_DLAB)) {
		/* stdout is line-buffered and flushed before any message. */
		putchar(val);
		r->uart_last = val;
	} else if (reg == UART_LCR) {
		/* Kept: with DLAB set, THR is the baud divisor, not output. */
		r->uart_lcr = val;
	}
	/* IER, FCR, MCR, scratch, divisor: accepted and forgotten. */
}

static uint8_t uart_read(struct runner *r, unsigned int reg)
{
	if (reg == UART_LSR)
		return UART_LSR_IDLE;	/* always ready: output never waits */
	if (reg == UART_LCR)
		return r->uart_lcr;
	return 0;
}

/* One byte of a port access; a wider access covers consecutive ports. */
static void port_write(struct runner *r, uint16_t port, uint8_t val)
{
	if (port >= COM1 && port < COM1 + 8)
		uart_write(r, port - COM1, val);
}

static uint8_t port_read(struct runner *r, uint16_t port)
{
	if (port >= COM1 && port < COM1 + 8)
		return uart_read(r, port - COM1);
	return 0xff;	/* what an ISA bus gives where no device answers */
}

/*
 * The data of a port exit sits in the vCPU's mapping at io.data_offset:
 * io.count items of io.size bytes each.  count is above 1 for string
 * instructions (INS/OUTS, with REP), which move many items per exit.
 */
static void handle_io(struct runner *r)
{
	struct kvm_run *run = r->vm->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i, len = (uint32_t)run->io.size * run->io.count;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	r->port[run->io.port]++;
	if (out && run->io.port == DEBUG_EXIT_PORT) {
		r->exit_value = 0;
		memcpy(&r->exit_value, data, run->io.size);
		r->stop = STOP_DEBUG_EXIT;
		r->status = r->exit_value;
		return;
	}
	for (i = 0; i < len; i++) {
		uint16_t port = run->io.port + i % run->io.size;

		if (out)
			port_write(r, port, data[i]);
		else
			data[i] = port_read(r, port);
	}
}

/* No MMIO devices: reads see zeroes, writes vanish; both are counted. */
static void handle_mmio(struct runner *r)
{
	struct kvm_run *run = r->vm->run;

	if (run->mmio.is_write) {
		r->mmio_writes++;
	} else {
		r->mmio_reads++;
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
}

/* Decide what an exit means; sets r->stop when the run is over. */
static void handle_exit(struct runner *r)
{
	uint32_t reason = r->vm->run->exit_reason;

	switch (reason) {
	case KVM_EXIT_IO:
		handle_io(r);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(r);
		break;
	case KVM_EXIT_INTR:
		break;		/* a signal we do not care about: go on */
	case KVM_EXIT_HLT:
		r->stop = STOP_HALT;
		r->status = STATUS_HALT;
		break;
	case KVM_EXIT_SHUTDOWN:
		r->stop = STOP_SHUTDOWN;
		r->status = STATUS_SHUTDOWN;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		r->stop = STOP_FAIL_ENTRY;
		r->status = STATUS_FAILED;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		r->stop = STOP_INTERNAL_ERROR;
		r->status = STATUS_FAILED;
		break;
	default:
		r->stop = STOP_UNEXPECTED;
		r->status = STATUS_FAILED;
		break;
	}
}

static void count_exit(struct runner *r, uint32_t reason)
{
	r->exits++;
	r->reason[reason < NR_REASONS ? reason : NR_REASONS]++;
}

static void run_loop(struct runner *r, const struct options *o)
{
	struct kvm_run *run = r->vm->run;

	while (!r->stop) {
		if (got_signal) {
			r->stop = STOP_SIGNAL;
			r->status = STATUS_STOPPED;
			break;
		}
		if (ioctl(r->vm->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR) {
				/* A signal took the vCPU out of the guest. */
				count_exit(r, KVM_EXIT_INTR);
				continue;
			}
			r->run_errno = errno;
			r->stop = STOP_RUN_ERROR;
			r->status = STATUS_FAILED;
			break;
		}
		count_exit(r, run->exit_reason);
		handle_exit(r);
		if (!r->stop && o->max_exits && r->exits >= o->max_exits) {
			r->stop = STOP_MAX_EXITS;
			r->status = STATUS_STOPPED;
		}
	}
}

/* Reporting ----------------------------------------------------------- */

static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit reason";
	}
	return "unknown suberror";
}

/* The first line of the summary: how the run ended. */
static void describe_stop(const struct runner *r, char *buf, size_t size)
{
	const struct kvm_run *run = r->vm->run;

	switch (r->stop) {
	case STOP_HALT:
		snprintf(buf, size, "guest halted");
		break;
	case STOP_DEBUG_EXIT:
		snprintf(buf, size, "guest exited through port %#x with %u",
			 DEBUG_EXIT_PORT, r->exit_value);
		break;
	case STOP_SHUTDOWN:
		snprintf(buf, size, "triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case STOP_FAIL_ENTRY:
		snprintf(buf, size,
			 "VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason %#llx, cpu %u)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		break;
	case STOP_INTERNAL_ERROR:
		snprintf(buf, size, "KVM_EXIT_INTERNAL_ERROR: %s (suberror %u)",
			 internal_error_name(run->internal.suberror),
			 run->internal.suberror);
		break;
	case STOP_UNEXPECTED:
		snprintf(buf, size, "unexpected exit %s (%u)",
			 reason_name(run->exit_reason), run->exit_reason);
		break;
	case STOP_RUN_ERROR:
		snprintf(buf, size, "KVM_RUN failed: %s",
			 strerror(r->run_errno));
		break;
	case STOP_MAX_EXITS:
		snprintf(buf, size, "stopped at the --max-exits limit");
		break;
	case STOP_SIGNAL:
		snprintf(buf, size, got_signal == SIGALRM ?
			 "stopped by --timeout" : "stopped by signal %d (%s)",
			 got_signal, strsignal(got_signal));
		break;
	default:
		snprintf(buf, size, "stopped");
	}
}

static void dump_segment(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr,
		"  %-3s %04x base %016llx limit %08x type %2u s %u dpl %u p %u l %u db %u g %u\n",
		name, s->selector, (unsigned long long)s->base, s->limit,
		s->type, s->s, s->dpl, s->present, s->l, s->db, s->g);
}

/* Where the guest was, for a run that ended in a failure. */
static void dump_registers(const struct vm *vm)
{
	struct kvm_regs g;
	struct kvm_sregs s;

	if (ioctl(vm->vcpu, KVM_GET_REGS, &g) ||
	    ioctl(vm->vcpu, KVM_GET_SREGS, &s)) {
		fail("cannot read the registers: %s", strerror(errno));
		return;
	}
	fprintf(stderr, "  vCPU state after the last exit:\n");
	fprintf(stderr,
		"  rip %016llx rsp %016llx rflags %08llx\n"
		"  rax %016llx rbx %016llx rcx %016llx\n"
		"  rdx %016llx rsi %016llx rdi %016llx\n"
		"  rbp %016llx r8  %016llx r9  %016llx\n"
		"  r10 %016llx r11 %016llx r12 %016llx\n"
		"  r13 %016llx r14 %016llx r15 %016llx\n",
		g.rip, g.rsp, g.rflags, g.rax, g.rbx, g.rcx, g.rdx, g.rsi,
		g.rdi, g.rbp, g.r8, g.r9, g.r10, g.r11, g.r12, g.r13, g.r14,
		g.r15);
	fprintf(stderr,
		"  cr0 %016llx cr2 %016llx cr3 %016llx\n"
		"  cr4 %016llx efer %016llx\n"
		"  gdt %016llx/%04x idt %016llx/%04x\n",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit);
	dump_segment("cs", &s.cs);
	dump_segment("ss", &s.ss);
	dump_segment("ds", &s.ds);
	dump_segment("tr", &s.tr);
}

/* "(port 0x3f8: 1190, port 0xf4: 1, ...)": the busiest ports first. */
static void print_top_ports(const struct runner *r)
{
	bool shown[0x10000] = { false };
	unsigned int i, p, best, used = 0;

	for (p = 0; p < 0x10000; p++)
		used += r->port[p] != 0;
	fprintf(stderr, "   (");
	for (i = 0; i < TOP_PORTS && i < used; i++) {
		best = 0x10000;
		for (p = 0; p < 0x10000; p++)
			if (!shown[p] && r->port[p] &&
			    (best == 0x10000 || r->port[p] > r->port[best]))
				best = p;
		shown[best] = true;
		fprintf(stderr, "%sport %#x: %llu", i ? ", " : "", best,
			(unsigned long long)r->port[best]);
	}
	fprintf(stderr, "%s)", used > TOP_PORTS ? ", ..." : "");
}

static void print_summary(const struct runner *r, bool quiet, double secs)
{
	bool failed = r->stop != STOP_HALT && r->stop != STOP_DEBUG_EXIT;
	char what[160];
	uint32_t i, n;

	if (quiet && !failed)
		return;
	/* Guest output first, and the summary on a line of its own. */
	fflush(stdout);
	if (r->uart_last >= 0 && r->uart_last != '\n')
		fputc('\n', stderr);
	describe_stop(r, what, sizeof(what));
	fprintf(stderr, PROG ": %s after %llu exits in %.3f s\n", what,
		(unsigned long long)r->exits, secs);

	if (r->stop == STOP_INTERNAL_ERROR) {
		n = r->vm->run->internal.ndata;
		fprintf(stderr, "  data:");
		for (i = 0; i < n && i < 16; i++)
			fprintf(stderr, " %#llx",
				(unsigned long long)r->vm->run->internal.data[i]);
		fputc('\n', stderr);
	}
	if (failed)
		dump_registers(r->vm);
	if (quiet)
		return;

	for (i = 0; i <= NR_REASONS; i++) {
		if (!r->reason[i])
			continue;
		fprintf(stderr, "  %-24s %8llu",
			i < NR_REASONS ? reason_name(i) : "others",
			(unsigned long long)r->reason[i]);
		if (i == KVM_EXIT_IO)
			print_top_ports(r);
		if (i == KVM_EXIT_MMIO)
			fprintf(stderr, "   (%llu reads, %llu writes)",
				(unsigned long long)r->mmio_reads,
				(unsigned long long)r->mmio_writes);
		fputc('\n', stderr);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int run_guest(struct vm *vm, const struct options *o)
{
	struct runner *r = &runner;
	double start;

	r->vm = vm;
	r->uart_last = -1;
	/* Guest output appears line by line, even into a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_signals(vm->run, o->timeout);

	start = now();
	run_loop(r, o);
	print_summary(r, o->quiet, now() - start);
	fflush(stdout);
	return r->status;
}
