// SPDX-License-Identifier: GPL-2.0
/*
 * tracepoints: the kvm:* events kvisor emits under KVM's names, read
 * through tracefs as perf, trace-cmd and kvm_stat read them.  A guest on
 * vCPU 3 makes a known number of OUTs, INs, MMIO writes and reads,
 * CPUIDs, RDMSRs, WRMSRs, HLTs and hypercalls, and takes an interrupt
 * (KVM_INTERRUPT); with the events enabled, the trace buffer must hold
 * exactly those, with the ports, addresses, values, MSR indexes, CPUID
 * function, hypercall arguments and interrupt vector the guest used, a
 * kvm_exit of the vendor's exit reason (VMX or SVM, printed by name) for
 * each, one kvm_entry per kvm_exit, one kvm_userspace_exit per KVM_RUN,
 * and the same counts as perf counters opened by the events' ids and as
 * kvisor's own statistics (the binary stats fd).  The format files must
 * carry KVM's field names and types, which the tools read.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "kmod.h"
#include "kvm_util.h"
#include "tracefs.h"

#define VCPU_ID		3
#define MMIO_GPA	0xc0000000ULL	/* mapped by the guest, no memslot */
#define PORT_OUT	0x99
#define PORT_IN		0x9a
#define NR_OUT		10
#define NR_IN		7
#define NR_MMIO_W	6
#define NR_MMIO_R	5
#define NR_CPUID	9
#define CPUID_FN	0x80000000u
#define NR_RDMSR	4
#define RDMSR_IDX	0x1a0		/* IA32_MISC_ENABLE */
#define NR_WRMSR	3
#define WRMSR_IDX	0x3b		/* IA32_TSC_ADJUST, written with 0 */
#define NR_HLT		3
#define NR_HC		2		/* KVM_HC_VAPIC_POLL_IRQ (1) */
#define PORT_IRQ	0x9b		/* the host queues IRQ_VEC here */
#define IRQ_VEC		0x30

static volatile int irq_hits;

static void irq_handler(struct ex_regs *regs __attribute__((unused)))
{
	irq_hits++;
}

static void guest_code(uint64_t amd)
{
	volatile uint32_t *m = (uint32_t *)MMIO_GPA;
	uint32_t a, b, c, d, v;
	int i;

	for (i = 0; i < NR_OUT; i++)
		asm volatile("outb %%al, %%dx" : : "a"(0x50 + i), "d"(PORT_OUT));
	for (i = 0; i < NR_IN; i++) {
		asm volatile("inb %%dx, %%al" : "=a"(v) : "d"(PORT_IN));
		GUEST_ASSERT_EQ(v & 0xff, 0x60 + i);
	}
	for (i = 0; i < NR_MMIO_W; i++)
		m[i] = 0x1000 + i;
	for (i = 0; i < NR_MMIO_R; i++)
		GUEST_ASSERT_EQ(m[8 + i], 0x2000 + i);
	for (i = 0; i < NR_CPUID; i++)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(CPUID_FN), "c"(0));
	for (i = 0; i < NR_RDMSR; i++)
		asm volatile("rdmsr" : "=a"(a), "=d"(d) : "c"(RDMSR_IDX));
	for (i = 0; i < NR_WRMSR; i++)
		asm volatile("wrmsr" : : "a"(0), "d"(0), "c"(WRMSR_IDX));
	for (i = 0; i < NR_HLT; i++)
		asm volatile("cli; hlt");
	for (i = 0; i < NR_HC; i++) {
		uint64_t ret;

		if (amd)
			asm volatile("vmmcall" : "=a"(ret)
				     : "a"(1), "b"(0x55 + i), "c"(0x111),
				       "d"(0x222), "S"(0x333) : "memory");
		else
			asm volatile("vmcall" : "=a"(ret)
				     : "a"(1), "b"(0x55 + i), "c"(0x111),
				       "d"(0x222), "S"(0x333) : "memory");
		GUEST_ASSERT_EQ(ret, 0);
	}
	/* KVM_INTERRUPT at this OUT; delivered once IF=1 */
	asm volatile("outb %%al, %%dx" : : "a"(0), "d"(PORT_IRQ));
	asm volatile("sti; nop; nop; cli");
	GUEST_ASSERT_EQ(irq_hits, 1);
	GUEST_DONE();
}

static const char *const events[] = {
	"kvm_entry", "kvm_exit", "kvm_pio", "kvm_mmio", "kvm_msr",
	"kvm_cpuid", "kvm_userspace_exit", "kvm_hypercall", "kvm_inj_virq",
};

static char tracing[64];

/* tracefs (tracefs.h), which must have kvisor's events. */
static void find_tracefs(void)
{
	struct stat st;

	snprintf(tracing, sizeof(tracing), "%s/events/kvm/kvm_exit",
		 tracefs_dir());
	if (stat(tracing, &st))
		ksft_exit_skip("tracefs has no kvm:kvm_exit: no CONFIG_TRACEPOINTS?\n");
	snprintf(tracing, sizeof(tracing), "%s", tracefs_dir());
	ksft_print_msg("tracefs at %s\n", tracing);
}

/*
 * The format file must declare @decl (e.g. "unsigned int exit_reason;"),
 * or @alt, the same type spelt otherwise.
 */
static void check_field2(const char *event, const char *decl, const char *alt)
{
	char path[256], text[4096], want[128], want2[128];

	snprintf(path, sizeof(path), "%s/events/kvm/%s/format", tracing, event);
	read_text_file(path, text, sizeof(text));
	snprintf(want, sizeof(want), "field:%s\t", decl);
	snprintf(want2, sizeof(want2), "field:%s\t", alt);
	TEST_ASSERT(strstr(text, want) || strstr(text, want2),
		    "%s has no field \"%s\":\n%s", event, decl, text);
}

static void check_field(const char *event, const char *decl)
{
	check_field2(event, decl, decl);
}

static void check_formats(void)
{
	check_field("kvm_entry", "unsigned int vcpu_id;");
	check_field("kvm_entry", "unsigned long rip;");
	check_field("kvm_exit", "unsigned int exit_reason;");
	check_field("kvm_exit", "unsigned long guest_rip;");
	check_field("kvm_exit", "u32 isa;");
	check_field("kvm_exit", "u64 info1;");
	check_field("kvm_exit", "u64 info2;");
	check_field("kvm_exit", "u32 intr_info;");
	check_field("kvm_exit", "u32 error_code;");
	check_field("kvm_exit", "unsigned int vcpu_id;");
	check_field("kvm_pio", "unsigned int rw;");
	check_field("kvm_pio", "unsigned int port;");
	check_field("kvm_pio", "unsigned int val;");
	check_field("kvm_mmio", "u32 type;");
	check_field("kvm_mmio", "u64 gpa;");
	check_field("kvm_mmio", "u64 val;");
	/* KVM spells it "unsigned", kvisor "unsigned int" (checkpatch) */
	check_field2("kvm_msr", "unsigned int write;", "unsigned write;");
	check_field("kvm_msr", "u32 ecx;");
	check_field("kvm_msr", "u64 data;");
	check_field("kvm_cpuid", "unsigned int function;");
	check_field("kvm_userspace_exit", "__u32 reason;");
	check_field("kvm_userspace_exit", "int errno;");
}

/*
 * A perf counter on kvm:@event of this thread, opened by the id in its
 * tracefs directory, as "perf kvm stat" and kvm_stat open it.
 */
static int perf_open(const char *event)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
	};
	char path[256], text[32];
	int fd;

	snprintf(path, sizeof(path), "%s/events/kvm/%s/id", tracing, event);
	read_text_file(path, text, sizeof(text));
	attr.config = strtoull(text, NULL, 10);
	fd = syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);
	TEST_ASSERT(fd >= 0, "perf_event_open(kvm:%s, id %llu)", event,
		    (unsigned long long)attr.config);
	return fd;
}

static uint64_t perf_read(int fd)
{
	uint64_t n;

	TEST_ASSERT(read(fd, &n, 8) == 8, "read a perf counter");
	close(fd);
	return n;
}

static void trace_start(void)
{
	char file[64];
	unsigned int i;

	tracefs_write("tracing_on", "0");
	tracefs_write("set_event", "");
	tracefs_write("trace", "");
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		snprintf(file, sizeof(file), "events/kvm/%s/enable", events[i]);
		tracefs_write(file, "1");
	}
	tracefs_write("tracing_on", "1");
}

static void trace_stop(void)
{
	tracefs_write("tracing_on", "0");
	tracefs_write("set_event", "");
}

/* Counts from the trace, by what the events said. */
struct seen {
	unsigned int entry, exit, exit_io, exit_npf, exit_cpuid, exit_rdmsr;
	unsigned int exit_wrmsr, exit_hlt, user_exit, user_restart;
	unsigned int user_io, user_mmio, user_hlt, exit_hc, hc, inj, reinj;
	unsigned int exit_in_irq;	/* taken while delivering IRQ_VEC */
	unsigned int pio_out, pio_in, pio_other, mmio_w, mmio_r, mmio_unsat;
	unsigned int cpuid, msr_r, msr_w, bad_vcpu;
};

/* The kvm_exit reason names of <asm/vmx.h> and <asm/svm.h>, per vendor. */
struct reasons {
	const char *io, *npf, *cpuid, *rdmsr, *wrmsr, *hlt, *hc;
};

static const struct reasons vmx_reasons = {
	"IO_INSTRUCTION", "EPT_VIOLATION", "CPUID", "MSR_READ", "MSR_WRITE",
	"HLT", "VMCALL",
};

static const struct reasons svm_reasons = {
	"io", "npf", "cpuid", "msr", "msr", "hlt", "hypercall",
};

static bool word_is(const char *p, const char *w)
{
	size_t n = strlen(w);

	return !strncmp(p, w, n) && (p[n] == ' ' || p[n] == '\n' || !p[n]);
}

static void parse_exit(struct seen *s, const char *t, const struct reasons *r)
{
	const char *reason = strstr(t, "reason ");
	const char *info1 = strstr(t, "info1 ");
	const char *info2 = strstr(t, "info2 ");
	const char *intr = strstr(t, "intr_info ");
	unsigned long long ev;
	unsigned int vcpu;

	TEST_ASSERT(reason && info1 && info2 && intr &&
		    sscanf(t, "vcpu %u", &vcpu) == 1,
		    "kvm_exit: cannot parse \"%s\"", t);
	reason += 7;
	s->exit++;
	/*
	 * The event being delivered at the exit: VMX's IDT-vectoring
	 * information (info2), SVM's EXITINTINFO (intr_info).
	 */
	ev = strtoull(r == &svm_reasons ? intr + 10 : info2 + 6, NULL, 16);
	/*
	 * An external interrupt (type 0), or on QEMU's SVM, where kvisor
	 * injects it as a virtual interrupt, an "exception" (type 3) with
	 * its vector, which no exception has (svm.rst, "QEMU's emulated
	 * SVM").
	 */
	if ((ev & 0x800000ff) == (0x80000000 | IRQ_VEC) &&
	    ((ev & 0x700) == 0 || (ev & 0x700) == 0x300))
		s->exit_in_irq++;
	s->bad_vcpu += vcpu != VCPU_ID;
	if (word_is(reason, r->io)) {
		s->exit_io++;
	} else if (word_is(reason, r->npf)) {
		s->exit_npf++;
	} else if (word_is(reason, r->cpuid)) {
		s->exit_cpuid++;
	} else if (word_is(reason, r->hlt)) {
		s->exit_hlt++;
	} else if (word_is(reason, r->hc)) {
		s->exit_hc++;
	} else if (r->rdmsr == r->wrmsr && word_is(reason, r->rdmsr)) {
		/* SVM: EXITINFO1 is 0 for RDMSR, 1 for WRMSR */
		if (strtoull(info1 + 6, NULL, 16))
			s->exit_wrmsr++;
		else
			s->exit_rdmsr++;
	} else if (word_is(reason, r->rdmsr)) {
		s->exit_rdmsr++;
	} else if (word_is(reason, r->wrmsr)) {
		s->exit_wrmsr++;
	}
}

static void parse_pio(struct seen *s, const char *t)
{
	unsigned int port, size, count, val;
	char dir[8];

	TEST_ASSERT(sscanf(t, "pio_%5s at 0x%x size %u count %u val 0x%x",
			   dir, &port, &size, &count, &val) == 5,
		    "kvm_pio: cannot parse \"%s\"", t);
	if (!strcmp(dir, "write") && port == PORT_OUT) {
		TEST_ASSERT(size == 1 && count == 1 && val == 0x50 + s->pio_out,
			    "OUT %u: \"%s\"", s->pio_out, t);
		s->pio_out++;
	} else if (!strcmp(dir, "read") && port == PORT_IN) {
		TEST_ASSERT(size == 1 && count == 1 && val == 0x60 + s->pio_in,
			    "IN %u: \"%s\"", s->pio_in, t);
		s->pio_in++;
	} else {
		s->pio_other++;	/* the ucalls */
	}
}

static void parse_mmio(struct seen *s, const char *t)
{
	unsigned long long gpa, val;
	unsigned int len;
	char type[20];

	TEST_ASSERT(sscanf(t, "mmio %19s len %u gpa 0x%llx val 0x%llx",
			   type, &len, &gpa, &val) == 4,
		    "kvm_mmio: cannot parse \"%s\"", t);
	TEST_ASSERT(len == 4, "kvm_mmio: len %u in \"%s\"", len, t);
	if (!strcmp(type, "write")) {
		TEST_ASSERT(gpa == MMIO_GPA + 4 * s->mmio_w &&
			    val == 0x1000 + s->mmio_w,
			    "MMIO write %u: \"%s\"", s->mmio_w, t);
		s->mmio_w++;
	} else if (!strcmp(type, "unsatisfied-read")) {
		TEST_ASSERT(gpa == MMIO_GPA + 4 * (8 + s->mmio_unsat) && !val,
			    "MMIO read %u: \"%s\"", s->mmio_unsat, t);
		s->mmio_unsat++;
	} else {
		TEST_ASSERT(!strcmp(type, "read") &&
			    gpa == MMIO_GPA + 4 * (8 + s->mmio_r) &&
			    val == 0x2000 + s->mmio_r,
			    "MMIO read %u done: \"%s\"", s->mmio_r, t);
		s->mmio_r++;
	}
}

static void parse_line(struct seen *s, const char *line,
		       const struct reasons *r)
{
	const char *ev = strstr(line, ": kvm_"), *t;
	unsigned int fn, idx;
	char dir[8];

	if (!ev)
		return;
	ev += 2;
	t = strchr(ev, ':');
	TEST_ASSERT(t, "no text after the event name: %s", line);
	t += 2;
	if (word_is(ev, "kvm_entry:")) {
		unsigned int vcpu;

		TEST_ASSERT(sscanf(t, "vcpu %u", &vcpu) == 1,
			    "kvm_entry: \"%s\"", t);
		s->bad_vcpu += vcpu != VCPU_ID;
		s->entry++;
	} else if (word_is(ev, "kvm_exit:")) {
		parse_exit(s, t, r);
	} else if (word_is(ev, "kvm_userspace_exit:")) {
		s->user_exit++;
		if (!strncmp(t, "reason restart (4)", 18))
			s->user_restart++;
		else if (!strncmp(t, "reason KVM_EXIT_IO (2)", 22))
			s->user_io++;
		else if (!strncmp(t, "reason KVM_EXIT_MMIO (6)", 24))
			s->user_mmio++;
		else if (!strncmp(t, "reason KVM_EXIT_HLT (5)", 23))
			s->user_hlt++;
	} else if (word_is(ev, "kvm_pio:")) {
		parse_pio(s, t);
	} else if (word_is(ev, "kvm_mmio:")) {
		parse_mmio(s, t);
	} else if (word_is(ev, "kvm_cpuid:")) {
		TEST_ASSERT(sscanf(t, "func %x idx %x", &fn, &idx) == 2 &&
			    fn == CPUID_FN && idx == 0,
			    "kvm_cpuid: \"%s\"", t);
		s->cpuid++;
	} else if (word_is(ev, "kvm_inj_virq:")) {
		TEST_ASSERT(sscanf(t, "IRQ 0x%x", &idx) == 1 && idx == IRQ_VEC,
			    "kvm_inj_virq: \"%s\"", t);
		if (strstr(t, "[reinjected]"))
			s->reinj++;
		else
			s->inj++;
	} else if (word_is(ev, "kvm_hypercall:")) {
		char want[80];

		snprintf(want, sizeof(want),
			 "nr 0x1 a0 0x%x a1 0x111 a2 0x222 a3 0x333", 0x55 + s->hc);
		TEST_ASSERT(!strncmp(t, want, strlen(want)),
			    "kvm_hypercall %u: \"%s\"", s->hc, t);
		s->hc++;
	} else if (word_is(ev, "kvm_msr:")) {
		TEST_ASSERT(sscanf(t, "msr_%5s %x", dir, &idx) == 2,
			    "kvm_msr: \"%s\"", t);
		if (!strcmp(dir, "read")) {
			TEST_ASSERT(idx == RDMSR_IDX, "kvm_msr: \"%s\"", t);
			s->msr_r++;
		} else {
			TEST_ASSERT(idx == WRMSR_IDX && strstr(t, "= 0x0") &&
				    !strstr(t, "#GP"), "kvm_msr: \"%s\"", t);
			s->msr_w++;
		}
	}
}

static void read_trace(struct seen *s, const struct reasons *r)
{
	char path[256], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", tracing);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned int before = s->exit;

		/* a full buffer would have dropped events */
		TEST_ASSERT(!strstr(line, "LOST"), "events lost: %s", line);
		parse_line(s, line, r);
		/* a sample for the log: the first exits, as tools print them */
		if (s->exit != before && s->exit <= 3)
			ksft_print_msg("%s", line);
	}
	fclose(f);
}

/* Run the guest to GUEST_DONE, answering its INs and MMIO reads. */
static unsigned int restarts;

static unsigned int run_guest(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int runs = 0, in = 0, rd = 0;
	struct ucall uc;

	for (;;) {
		int ret = __vcpu_run(vcpu);

		/* every KVM_RUN counts: each is one kvm_userspace_exit */
		runs++;
		if (ret == -1 && errno == EINTR) {
			restarts++;
			continue;
		}
		TEST_ASSERT(!ret, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_IN) {
			*((uint8_t *)run + run->io.data_offset) = 0x60 + in++;
		} else if (run->exit_reason == KVM_EXIT_IO &&
			   run->io.port == PORT_IRQ) {
			struct kvm_interrupt irq = { .irq = IRQ_VEC };

			vcpu_ioctl(vcpu, KVM_INTERRUPT, &irq);
		} else if (run->exit_reason == KVM_EXIT_MMIO &&
			   !run->mmio.is_write) {
			uint32_t v = 0x2000 + rd++;

			memcpy(run->mmio.data, &v, 4);
		} else if (run->exit_reason == KVM_EXIT_IO &&
			   run->io.port == UCALL_PORT) {
			if (get_ucall(vcpu, &uc) == UCALL_DONE)
				return runs;
			ucall_check_fatal(vcpu);
			TEST_FAIL("unexpected ucall %s", ucall_name(uc.cmd));
		} else {
			TEST_ASSERT(run->exit_reason == KVM_EXIT_IO ||
				    run->exit_reason == KVM_EXIT_MMIO ||
				    run->exit_reason == KVM_EXIT_HLT,
				    "unexpected exit %s%s",
				    exit_reason_str(run->exit_reason),
				    vcpu_exit_details(vcpu));
		}
	}
}

/*
 * A statistic in-tree KVM does not keep (vcpu_get_stat() ~0) is left out
 * there (KVHOST_HYPERVISOR=intree); kvisor must have them all.
 */
static void check_stat(const char *what, unsigned long long got,
		       unsigned long long want)
{
	TEST_ASSERT(want != ~0ULL || !kmod_loaded("kvisor"),
		    "kvisor has no statistic %s", what);
	if (want == ~0ULL)
		ksft_print_msg("no statistic %s to compare with\n", what);
	else
		TEST_ASSERT(got == want, "%s: %llu traced, %llu counted", what,
			    got, want);
}

static void check_eq(const char *what, unsigned long long got,
		     unsigned long long want)
{
	TEST_ASSERT(got == want, "%s: %llu traced, %llu expected", what, got,
		    want);
}

int main(void)
{
	const struct reasons *r;
	struct kvm_vcpu *vcpu;
	struct seen s = { 0 };
	struct kvm_vm *vm;
	int perf_entry, perf_exit;
	uint64_t n_entry, n_exit;
	unsigned int runs;

	find_tracefs();
	check_formats();
	r = host_cpu_is_amd() ? &svm_reasons : &vmx_reasons;

	vm = vm_create(VM_MODE_LONG_4K);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);
	vcpu = vm_vcpu_add(vm, VCPU_ID, guest_code);
	vcpu_args_set(vcpu, 1, (uint64_t)host_cpu_is_amd());
	vm_install_exception_handler(vm, IRQ_VEC, irq_handler);
	perf_entry = perf_open("kvm_entry");
	perf_exit = perf_open("kvm_exit");
	trace_start();
	runs = run_guest(vcpu);
	trace_stop();
	n_entry = perf_read(perf_entry);
	n_exit = perf_read(perf_exit);
	read_trace(&s, r);
	ksft_print_msg("%u KVM_RUNs (%u EINTR), %u exits traced: %u I/O, %u NPF/EPT, %u CPUID, %u RDMSR, %u WRMSR, %u HLT; IRQ reinjected %u times\n",
		       runs, restarts, s.exit, s.exit_io, s.exit_npf, s.exit_cpuid,
		       s.exit_rdmsr, s.exit_wrmsr, s.exit_hlt, s.reinj);

	/* what the guest did */
	check_eq("OUTs", s.pio_out, NR_OUT);
	check_eq("INs", s.pio_in, NR_IN);
	check_eq("other OUTs (IRQ, ucall)", s.pio_other, 2);
	check_eq("MMIO writes", s.mmio_w, NR_MMIO_W);
	check_eq("MMIO reads to userspace", s.mmio_unsat, NR_MMIO_R);
	check_eq("MMIO reads completed", s.mmio_r, NR_MMIO_R);
	check_eq("CPUIDs", s.cpuid, NR_CPUID);
	check_eq("RDMSRs", s.msr_r, NR_RDMSR);
	check_eq("WRMSRs", s.msr_w, NR_WRMSR);
	check_eq("I/O exits", s.exit_io, NR_OUT + NR_IN + 2);
	check_eq("CPUID exits", s.exit_cpuid, NR_CPUID);
	check_eq("RDMSR exits", s.exit_rdmsr, NR_RDMSR);
	check_eq("WRMSR exits", s.exit_wrmsr, NR_WRMSR);
	check_eq("HLT exits", s.exit_hlt, NR_HLT);
	check_eq("hypercalls", s.hc, NR_HC);
	check_eq("hypercall exits", s.exit_hc, NR_HC);
	/*
	 * KVM_INTERRUPT's vector, and again after each exit its delivery
	 * took; KVM queues it as already injected, so it traces every one
	 * "reinjected".
	 */
	check_eq("interrupts injected", s.inj, 0);
	check_eq("interrupts reinjected", s.reinj, 1 + s.exit_in_irq);
	TEST_ASSERT(s.exit_npf >= NR_MMIO_W + NR_MMIO_R,
		    "%u NPF/EPT exits, at least %u MMIO", s.exit_npf,
		    NR_MMIO_W + NR_MMIO_R);
	check_eq("events of another vCPU", s.bad_vcpu, 0);
	check_eq("kvm_entry", s.entry, s.exit);
	/*
	 * One kvm_userspace_exit per KVM_RUN, by its exit reason; get_ucall()
	 * adds a KVM_RUN with immediate_exit (EINTR) to complete the OUT.
	 */
	check_eq("KVM_EXIT_IO", s.user_io, NR_OUT + NR_IN + 2);
	check_eq("KVM_EXIT_MMIO", s.user_mmio, NR_MMIO_W + NR_MMIO_R);
	check_eq("KVM_EXIT_HLT", s.user_hlt, NR_HLT);
	check_eq("kvm_userspace_exit", s.user_exit - s.user_restart,
	      runs - restarts);
	check_eq("kvm_userspace_exit with EINTR", s.user_restart, restarts + 1);

	/* what perf counted, by the events' ids */
	check_eq("kvm_exit (perf)", s.exit, n_exit);
	check_eq("kvm_entry (perf)", s.entry, n_entry);

	/* what kvisor counted */
	check_stat("exits", s.exit, vcpu_get_stat(vcpu, "exits"));
	check_stat("io_exits", s.exit_io, vcpu_get_stat(vcpu, "io_exits"));
	check_stat("mmio_exits", s.mmio_w + s.mmio_unsat,
	      vcpu_get_stat(vcpu, "mmio_exits"));
	check_stat("cpuid_exits", s.exit_cpuid,
	      vcpu_get_stat(vcpu, "cpuid_exits"));
	check_stat("msr_exits", s.exit_rdmsr + s.exit_wrmsr,
	      vcpu_get_stat(vcpu, "msr_exits"));
	check_stat("halt_exits", s.exit_hlt, vcpu_get_stat(vcpu, "halt_exits"));
	check_stat("nested_page_fault_exits", s.exit_npf,
	      vcpu_get_stat(vcpu, "nested_page_fault_exits"));
	ksft_print_msg("trace agrees with the guest and with the stats fd\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
